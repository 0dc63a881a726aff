"""Authentication: password secrets and the internal (database) backend.

``password`` derives and checks SCRAM keys (RFC 5802, RFC 7677) and plain
passwords, ``names`` normalises usernames and domains (RFC 7622) and
``internal`` is MongooseIM's ``[auth.internal]`` method over an
:class:`~mongoose.storage.interfaces.IAuthStore`.
"""

__all__ = ["internal", "names", "password"]
