"""Building blocks of ``mod_adhoc`` (XEP-0050): multi-stage command flows and their sessions.

A module offers a multi-stage ad-hoc command by returning an
:class:`~mongoose.modules.adhoc.flow.AdhocFlow` from its
``adhoc_local_commands`` fold hook handler; ``mod_adhoc`` runs the stages,
the ``next``/``prev``/``complete``/``cancel`` actions and the sessions.
"""

from mongoose.modules.adhoc.flow import (
    AdhocFlow,
    AdhocInputError,
    AdhocOutcome,
    FormField,
    Stage,
)
from mongoose.modules.adhoc.sessions import FlowSession, SessionTable

__all__ = [
    "AdhocFlow",
    "AdhocInputError",
    "AdhocOutcome",
    "FlowSession",
    "FormField",
    "SessionTable",
    "Stage",
]
