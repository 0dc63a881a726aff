"""Multi-stage ad-hoc commands (XEP-0050): stages of XEP-0004 forms, validated one by one.

An :class:`AdhocFlow` is a command node with a list of :class:`Stage` values
and a ``finish`` function.  Each stage is a form (its fields given as a list
or built from the values entered so far) with an optional validator; the
requester moves with ``next`` and ``prev`` and ends with ``complete`` on
the last stage, or ``cancel`` at any time.  Values are kept as the raw form
values (``var -> [text, ...]``) of every stage, so ``prev`` shows a stage
again with what was entered.

A validator or ``finish`` raises :class:`AdhocInputError` to show the stage
again with an error note; ``finish`` returns a note text or an
:class:`AdhocOutcome`.  Example (a module's ``adhoc_local_commands``
handler adds it)::

    AdhocFlow(
        node="example/greet", name="Greet someone",
        stages=(
            Stage("Who", [FormField("jid", "jid-single", "Whom", required=True)]),
            Stage("What", lambda values, _: [FormField("text", label=f"Text for {first(values, 'jid')}")]),
        ),
        finish=lambda jid, values: f"Greeted {first(values, 'jid')}",
    )
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.xmpp.errors import StanzaError

__all__ = [
    "AdhocFlow",
    "AdhocInputError",
    "AdhocOutcome",
    "FIELD_TYPES",
    "FormField",
    "Stage",
    "Values",
    "first",
    "form_element",
    "submitted_values",
]

NS_DATA = "jabber:x:data"

#: XEP-0004 field types.
FIELD_TYPES = (
    "boolean", "fixed", "hidden", "jid-multi", "jid-single", "list-multi", "list-single",
    "text-multi", "text-private", "text-single",
)

#: Raw submitted values: field var -> its ``<value/>`` texts.
Values = dict[str, list[str]]


class AdhocInputError(Exception):
    """The values entered are not acceptable: the stage is shown again with ``message``.

    Attributes:
        message: shown to the requester in an error note.
        field: the var of the field at fault, if one.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class FormField:
    """One XEP-0004 form field of a stage.

    Attributes:
        var: the field name.
        type: one of :data:`FIELD_TYPES`.
        label: the human label.
        required: marked ``<required/>``; an empty value keeps the stage open.
        values: shown when nothing was entered for the field yet.
        options: ``value`` or ``(value, label)`` choices for list fields.
        desc: a longer description.
    """

    var: str
    type: str = "text-single"
    label: str | None = None
    required: bool = False
    values: tuple[str, ...] = ()
    options: tuple[str | tuple[str, str], ...] = ()
    desc: str | None = None

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown data form field type {self.type!r}")
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "options", tuple(self.options))

    def element(self, entered: Sequence[str] | None = None) -> Element:
        """The ``<field/>``, holding ``entered`` values or else the defaults."""
        fld = Element((NS_DATA, "field"))
        fld["var"] = self.var
        fld["type"] = self.type
        if self.label:
            fld["label"] = self.label
        if self.desc:
            fld.addElement("desc", content=self.desc)
        if self.required:
            fld.addElement("required")
        for value in (self.values if entered is None else entered):
            fld.addElement("value", content=value)
        for option in self.options:
            value, label = option if isinstance(option, tuple) else (option, None)
            opt = fld.addElement("option")
            if label:
                opt["label"] = label
            opt.addElement("value", content=value)
        return fld


#: ``fields(values, from_jid)``: the fields of a stage from the values entered so far.
FieldsBuilder = Callable[[Values, Any], Sequence[FormField] | Awaitable[Sequence[FormField]]]
#: ``validate(values, from_jid)``: raise :class:`AdhocInputError` to refuse.
Validator = Callable[[Values, Any], Any]


@dataclass(frozen=True)
class Stage:
    """One form of a flow.

    Attributes:
        title: the form title.
        fields: the fields, or a :data:`FieldsBuilder` run each time the stage is shown.
        instructions: text shown above the fields.
        validate: checks the values (all stages so far) when the stage is
            left with ``next`` or ``complete``; raises AdhocInputError.
    """

    title: str
    fields: Sequence[FormField] | FieldsBuilder = ()
    instructions: str | None = None
    validate: Validator | None = field(default=None, compare=False)

    async def build(self, values: Values, from_jid: Any) -> list[FormField]:
        """The stage's fields for the values entered so far."""
        if callable(self.fields):
            return list(await _maybe_await(self.fields(values, from_jid)))
        return list(self.fields)

    async def check(self, fields: Sequence[FormField], values: Values, from_jid: Any) -> None:
        """Refuse missing required fields, then run the stage's validator."""
        for fld in fields:
            if fld.required and not any(v.strip() for v in values.get(fld.var, ())):
                raise AdhocInputError(f"{fld.label or fld.var} is required", fld.var)
        if self.validate is not None:
            await _maybe_await(self.validate(values, from_jid))


@dataclass(frozen=True)
class AdhocOutcome:
    """How a completed flow answers.

    Attributes:
        note: the note text.
        note_type: ``info``, ``warn`` or ``error``.
        form: a result form (``<x type='result'/>``) to include, or None.
    """

    note: str = "Done."
    note_type: str = "info"
    form: Element | None = field(default=None, compare=False)


#: ``finish(from_jid, values)``: a note text or an :class:`AdhocOutcome` (or an awaitable).
Finisher = Callable[[Any, Values], str | AdhocOutcome | Awaitable[str | AdhocOutcome]]


@dataclass(frozen=True)
class AdhocFlow:
    """A command node with stages, offered through the ``adhoc_local_commands`` hook.

    Attributes:
        node: the command node.
        name: the human name shown in disco.
        stages: the forms in order; none means the command runs at once.
        finish: runs the command with the values of every stage.
    """

    node: str
    name: str
    stages: tuple[Stage, ...]
    finish: Finisher = field(compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))

    async def run(self, from_jid: Any, values: Values) -> AdhocOutcome:
        """Call ``finish`` and normalise its answer."""
        result = await _maybe_await(self.finish(from_jid, values))
        if isinstance(result, AdhocOutcome):
            return result
        return AdhocOutcome(str(result) if result is not None else "Done.")


def first(values: Mapping[str, Sequence[str]], var: str, default: str | None = None) -> str | None:
    """The first value entered for ``var``, or ``default``."""
    found = values.get(var)
    return found[0] if found else default


def form_element(stage: Stage, fields: Sequence[FormField], entered: Values) -> Element:
    """The ``<x type='form'/>`` of a stage with the values already entered."""
    form = Element((NS_DATA, "x"))
    form["type"] = "form"
    form.addElement("title", content=stage.title)
    if stage.instructions:
        form.addElement("instructions", content=stage.instructions)
    for fld in fields:
        form.addChild(fld.element(entered.get(fld.var)))
    return form


def submitted_values(request: Element) -> Values:
    """Field values of the submitted form (a field with only empty values counts as not given).

    Raises:
        StanzaError: ``bad-request`` when the form is not of type ``submit``.
    """
    form = next((c for c in request.elements() if c.uri == NS_DATA and c.name == "x"), None)
    if form is None:
        return {}
    if form.getAttribute("type") not in (None, "submit"):
        raise StanzaError("bad-request", "modify", text="expected a submitted form")
    values: Values = {}
    for fld in form.elements(NS_DATA, "field"):
        var = fld.getAttribute("var")
        if not var or var == "FORM_TYPE":
            continue
        given = [str(v) for v in fld.elements(NS_DATA, "value")]
        if any(v != "" for v in given):
            values[var] = given
    return values


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
