"""Option specs shared by several modules (MongooseIM's common module options)."""

from __future__ import annotations

from mongoose.config.schema import Enum, Field, Int, OneOf, Section

__all__ = ["iqdisc_field"]

_QUEUES = Section({"type": Field(Enum("queues"), required=True), "workers": Field(Int(min=1))})


def iqdisc_field() -> Field:
    """``iqdisc``: how MongooseIM dispatches a module's IQs to Erlang processes.

    Accepted for compatibility; on Twisted every IQ is handled on the reactor
    (database work on threads), so it has no effect.
    """
    return Field(
        OneOf(Enum("one_queue", "no_queue", "parallel"), _QUEUES),
        default="one_queue",
        doc="IQ dispatch strategy of MongooseIM.",
        compat="accepted; IQs are always handled on the reactor here",
    )
