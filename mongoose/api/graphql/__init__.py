"""The GraphQL API (MongooseIM ``mongoose_graphql_handler``), generated from the command registry.

``scalars`` holds MongooseIM's scalar types, ``schema`` builds the admin
and user schemas from the registry, ``executor`` runs a request for a
caller, ``auth`` turns HTTP credentials into a caller, ``subscriptions``
streams ``stanza.subscribeForMessages`` over Server-Sent Events,
``graphiql`` is the browser page and ``handler`` the HTTP handler kind.
"""

__all__ = ["auth", "executor", "graphiql", "handler", "scalars", "schema", "subscriptions"]
