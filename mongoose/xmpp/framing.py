"""Incremental XML stream parsing for RFC 6120 streams, on ``xml.parsers.expat``.

:class:`XMLStreamParser` turns the bytes of one direction of an XML stream
(RFC 6120 section 4) into events: the stream header, one
``twisted.words.xish.domish.Element`` per first-level child (a stanza or a
negotiation element) and the end of the stream.  It is transport-independent:
TCP, and later BOSH and WebSocket adapters, only feed it bytes.

What it refuses, as RFC 6120 section 11 asks:

* DTDs, entity declarations, references to undeclared entities, processing
  instructions and comments -> ``restricted-xml`` (so no entity expansion, no
  "billion laughs");
* malformed XML -> ``not-well-formed``; an encoding other than UTF-8 ->
  ``unsupported-encoding``; a root element that is not ``stream`` in the
  streams namespace, or a content namespace the stream does not accept ->
  ``invalid-namespace`` / ``invalid-xml``;
* a first-level element larger than ``max_stanza_size`` bytes, elements nested
  deeper than ``max_depth`` or carrying more than ``max_attributes`` attributes
  and namespace declarations -> ``policy-violation``.  The size is counted on
  the raw input since the element started and checked *before* bytes reach
  expat, so a huge stanza is refused before it is complete and the parser
  never holds more than the limit plus one read.

Whole chunks are handed to expat (character data is buffered by expat too),
so there is no per-byte Python work.

Events are delivered after expat has consumed a chunk, in order.  A callback
may call :meth:`XMLStreamParser.pause` (stop delivering until ``resume``, for
example while a SASL step waits for the database), :meth:`~XMLStreamParser.reset`
(the next bytes after the current element start a new stream, after SASL
success; or, with ``discard_pending=True``, drop what was read after it, after
STARTTLS) or :meth:`~XMLStreamParser.close`.  Bytes a client pipelined after
the element that caused the reset are replayed into the fresh parser.

:func:`parse_element` applies the same rules to one standalone element (a
WebSocket frame, a BOSH body, an admin-supplied stanza).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from twisted.words.xish.domish import Element

from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.namespaces import NS_CLIENT, NS_STREAMS, NS_XML
from mongoose.xmpp.serialize import (
    STREAM_FOOTER,
    element_to_bytes,
    element_to_str,
    stream_header,
)

__all__ = [
    "DEFAULT_MAX_ATTRIBUTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_STANZA_SIZE",
    "STREAM_FOOTER",
    "XMLStreamParser",
    "element_to_bytes",
    "element_to_str",
    "parse_element",
    "stream_header",
]

#: Default limit on the size of one first-level element, in bytes.
DEFAULT_MAX_STANZA_SIZE = 1024 * 1024
#: Default limit on element nesting, counting the stream element.
DEFAULT_MAX_DEPTH = 64
#: Default limit on attributes plus namespace declarations of one element.
DEFAULT_MAX_ATTRIBUTES = 64

# Separates namespace and local name in expat's names; no XML 1.0 document
# can contain it, so it cannot be confused with real input.
_SEP = "\x01"
_WHITESPACE = frozenset(b" \t\r\n")


def _codes(*names: str) -> frozenset[int]:
    """Numeric expat error codes for the named ``XML_ERROR_*`` constants."""
    found = set()
    for name in names:
        message = getattr(expat.errors, name, None)
        if message is not None and message in expat.errors.codes:
            found.add(expat.errors.codes[message])
    return frozenset(found)


_RESTRICTED_CODES = _codes(
    "XML_ERROR_UNDEFINED_ENTITY",
    "XML_ERROR_RECURSIVE_ENTITY_REF",
    "XML_ERROR_EXTERNAL_ENTITY_HANDLING",
    "XML_ERROR_AMPLIFICATION_LIMIT_BREACH",
)
_ENCODING_CODES = _codes("XML_ERROR_UNKNOWN_ENCODING", "XML_ERROR_INCORRECT_ENCODING")


#: The qualified name at the start of a start tag (after its "<").
_QNAME = re.compile(rb"[^\s/>]+")

#: expat's character-data buffer per parser (it allocates this much up front).
_TEXT_BUFFER = 4096

#: Element and attribute names interned once for every parser instead of once
#: per connection.  Names come from clients, so the table is emptied when it
#: grows past _MAX_SHARED_NAMES (interning is only an optimisation).
_SHARED_NAMES: dict[str, str] = {}
_MAX_SHARED_NAMES = 4096


def _shared_names() -> dict[str, str]:
    if len(_SHARED_NAMES) > _MAX_SHARED_NAMES:
        _SHARED_NAMES.clear()
    return _SHARED_NAMES


class _Refused(Exception):
    """Raised inside expat callbacks to stop parsing with a stream error."""

    def __init__(self, error: StreamError):
        super().__init__(error.condition)
        self.error = error


def _start_tag_length(data: bytes) -> int:
    """Length of the start tag at the beginning of ``data`` (quotes respected)."""
    quote = 0
    for index, char in enumerate(data):
        if quote:
            if char == quote:
                quote = 0
        elif char in (0x22, 0x27):
            quote = char
        elif char == 0x3E:
            return index + 1
    return len(data)


def _restricted(what: str) -> _Refused:
    return _Refused(StreamError("restricted-xml", f"{what} are not allowed in XMPP"))


def _expat_error(error: expat.ExpatError) -> StreamError:
    message = expat.errors.messages.get(error.code, "not well-formed")
    if error.code in _RESTRICTED_CODES:
        return StreamError("restricted-xml", message)
    if error.code in _ENCODING_CODES:
        return StreamError("unsupported-encoding", message)
    return StreamError("not-well-formed", message)


class _ExpatSession:
    """One expat parser and the element tree it builds.

    Args:
        emit: called as ``emit(kind, payload, position)`` for "start" (the
            stream header attributes), "stanza" (an Element) and "end".
        base: absolute input position of this parser's first byte.
        stanza_depth: 1 for streams (children of the root are emitted), 0 to
            emit the root element itself.
        max_depth: deepest nesting allowed (root = 1).
        max_attributes: attributes plus namespace declarations per element.
        stream_namespace / stream_name: the required root element (streams).
        content_namespaces: accepted default namespaces of the stream, or
            None for any.
        default_namespace: default namespace in force before the root.
    """

    def __init__(
        self,
        emit: Callable[[str, Any, int], None],
        base: int,
        *,
        stanza_depth: int,
        max_depth: int,
        max_attributes: int,
        stream_namespace: str = NS_STREAMS,
        stream_name: str = "stream",
        content_namespaces: frozenset[str] | None = None,
        default_namespace: str = "",
        resumed: bool = False,
    ):
        self.emit = emit
        self.base = base
        self.fed_to = base
        self.mark = base
        self.dead = False
        self._stanza_depth = stanza_depth
        self._max_depth = max_depth
        self._max_attributes = max_attributes
        self._stream_namespace = stream_namespace
        self._stream_name = stream_name
        self._content_namespaces = content_namespaces
        self._depth = 0
        self._current: Element | None = None
        self._defaults: list[str] = [default_namespace]
        self._prefixes: dict[str, str] = {}
        self._declared = 0
        #: True for a parser rebuilt after hibernation: its root is a
        #: synthetic copy of a header already checked and reported.
        self._resumed = resumed
        #: The stream element's qualified name as written (``stream:stream``).
        self.root_qname = ""

        p = expat.ParserCreate("UTF-8", _SEP, intern=_shared_names())
        p.buffer_text = True
        # Text is joined in _text anyway; a small buffer keeps idle sessions small.
        p.buffer_size = _TEXT_BUFFER
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        p.StartNamespaceDeclHandler = self._start_ns
        p.EndNamespaceDeclHandler = self._end_ns
        p.XmlDeclHandler = self._xml_decl
        p.StartDoctypeDeclHandler = self._doctype
        p.EntityDeclHandler = self._entity
        p.UnparsedEntityDeclHandler = self._entity
        p.NotationDeclHandler = self._notation
        p.ElementDeclHandler = self._dtd_decl
        p.AttlistDeclHandler = self._dtd_decl
        p.ProcessingInstructionHandler = self._pi
        p.CommentHandler = self._comment
        p.SkippedEntityHandler = self._skipped
        p.ExternalEntityRefHandler = self._external
        self.parser = p

    # -- refused constructs -------------------------------------------------

    def _doctype(self, *args: object) -> None:
        raise _restricted("DTDs")

    def _entity(self, *args: object) -> None:
        raise _restricted("entity declarations")

    def _notation(self, *args: object) -> None:
        raise _restricted("notation declarations")

    def _dtd_decl(self, *args: object) -> None:
        raise _restricted("DTD declarations")

    def _pi(self, *args: object) -> None:
        raise _restricted("processing instructions")

    def _comment(self, *args: object) -> None:
        raise _restricted("comments")

    def _skipped(self, *args: object) -> None:
        raise _restricted("entity references")

    def _external(self, *args: object) -> int:
        raise _restricted("external entities")

    def _xml_decl(self, version: str | None, encoding: str | None, standalone: int) -> None:
        if encoding and encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise _Refused(
                StreamError("unsupported-encoding", f"encoding {encoding!r} is not UTF-8")
            )

    # -- namespaces -----------------------------------------------------------

    def _start_ns(self, prefix: str | None, uri: str | None) -> None:
        self._declared += 1
        if prefix is None:
            self._defaults.append(uri or "")
        else:
            self._prefixes[prefix] = uri or ""

    def _end_ns(self, prefix: str | None) -> None:
        if prefix is None:
            self._defaults.pop()

    # -- elements -------------------------------------------------------------

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        depth = self._depth + 1
        if depth > self._max_depth:
            raise _Refused(
                StreamError("policy-violation", f"elements nested deeper than {self._max_depth}")
            )
        if len(attrs) + self._declared > self._max_attributes:
            raise _Refused(
                StreamError(
                    "policy-violation",
                    f"more than {self._max_attributes} attributes on one element",
                )
            )
        self._declared = 0
        uri, sep, local = name.rpartition(_SEP)
        if not sep:
            # Unqualified and no default declared in the input: the default
            # namespace given by the caller (or none).
            uri = self._defaults[-1]
        for key in attrs:
            if _SEP in key:
                attrs = {
                    (tuple(k.rsplit(_SEP, 1)) if _SEP in k else k): v for k, v in attrs.items()
                }
                break
        prefixes = self._prefixes
        self._prefixes = {}
        self._depth = depth

        if depth <= self._stanza_depth:
            if self._resumed:
                return
            self._open_stream(uri, local, attrs, prefixes)
            return
        el = Element((uri, local), self._defaults[-1], attrs, prefixes)
        parent = self._current
        if parent is not None:
            el.parent = parent
            parent.children.append(el)
        else:
            self.mark = self.base + self.parser.CurrentByteIndex
        self._current = el

    def _open_stream(
        self, uri: str, local: str, attrs: dict[Any, str], prefixes: dict[str, str]
    ) -> None:
        start = self.base + self.parser.CurrentByteIndex
        # Once per stream: find where the header's start tag ends, so that
        # the size budget of the first stanza starts after it.
        context = self.parser.GetInputContext() or b""
        self.mark = start + _start_tag_length(context)
        name = _QNAME.match(context, 1)
        self.root_qname = name.group().decode("utf-8") if name else ""
        if uri != self._stream_namespace:
            raise _Refused(
                StreamError(
                    "invalid-namespace",
                    f"the stream element must be in the {self._stream_namespace} namespace",
                )
            )
        if local != self._stream_name:
            raise _Refused(
                StreamError("invalid-xml", f"the root element must be <{self._stream_name}>")
            )
        content = self._defaults[-1]
        if self._content_namespaces is not None and content not in self._content_namespaces:
            expected = " or ".join(sorted(self._content_namespaces))
            raise _Refused(
                StreamError(
                    "invalid-namespace", f"the stream's default namespace must be {expected}"
                )
            )
        header: dict[str, str] = {}
        for key, value in attrs.items():
            if isinstance(key, tuple):
                ns, name = key
                header["xml:" + name if ns == NS_XML else f"{{{ns}}}{name}"] = value
            else:
                header[key] = value
        if content:
            header["xmlns"] = content
        for prefix, ns in prefixes.items():
            header["xmlns:" + prefix] = ns
        self.emit("start", header, self.mark)

    def _end(self, name: str) -> None:
        self._depth -= 1
        el = self._current
        if el is None:
            # The end of the root: the stream, or (fragments) impossible.
            self.emit("end", None, self.base + self.parser.CurrentByteIndex)
            return
        parent = el.parent
        if parent is None:
            position = self.base + self.parser.CurrentByteIndex
            self.mark = position
            self._current = None
            self.emit("stanza", el, position)
        else:
            self._current = parent

    def _text(self, data: str) -> None:
        el = self._current
        if el is not None:
            children = el.children
            if children and isinstance(children[-1], str):
                children[-1] += data
            else:
                children.append(data)
        else:
            # Whitespace between first-level elements (keepalives); other
            # character data at this level carries no meaning and is dropped.
            self.mark = self.base + self.parser.CurrentByteIndex

    def held(self) -> int:
        """Bytes fed since the last point where nothing was pending."""
        return self.fed_to - self.mark

    def release(self) -> None:
        """Free the expat parser now (its handlers refer back to this object).

        Without this the parser and this session form a reference cycle that
        only the cyclic garbage collector would free, later.  Never called
        while expat is parsing: events are delivered after ``Parse`` returns.
        """
        self.dead = True
        self._current = None
        parser, self.parser = self.parser, None
        if parser is not None:
            for name in _HANDLERS:
                setattr(parser, name, None)


_Callback = Callable[..., Any]

#: The expat handler attributes _ExpatSession sets (cleared by release()).
_HANDLERS = (
    "StartElementHandler", "EndElementHandler", "CharacterDataHandler",
    "StartNamespaceDeclHandler", "EndNamespaceDeclHandler", "XmlDeclHandler",
    "StartDoctypeDeclHandler", "EntityDeclHandler", "UnparsedEntityDeclHandler",
    "NotationDeclHandler", "ElementDeclHandler", "AttlistDeclHandler",
    "ProcessingInstructionHandler", "CommentHandler", "SkippedEntityHandler",
    "ExternalEntityRefHandler",
)

#: Synthetic headers are the same for most streams: share the bytes.
_RESUME_HEADERS: dict[tuple[str, tuple[tuple[str, str], ...]], bytes] = {}
_MAX_RESUME_HEADERS = 256


def _resume_header(root_qname: str, header: dict[str, str]) -> bytes | None:
    """A start tag declaring the namespaces of a stream header, to rebuild a parser.

    Args:
        root_qname: the stream element's name as the peer wrote it.
        header: the header as reported by the "start" event (``xmlns`` and
            ``xmlns:<prefix>`` entries carry the declarations).

    Returns:
        UTF-8 bytes of the start tag, or None when the name is unknown.
    """
    if not root_qname:
        return None
    declarations = tuple(
        sorted((key, value) for key, value in header.items() if key == "xmlns" or key.startswith("xmlns:"))
    )
    key = (root_qname, declarations)
    found = _RESUME_HEADERS.get(key)
    if found is None:
        attributes = "".join(f" {name}={quoteattr(value)}" for name, value in declarations)
        found = f"<{root_qname}{attributes}>".encode()
        if len(_RESUME_HEADERS) >= _MAX_RESUME_HEADERS:
            _RESUME_HEADERS.clear()
        _RESUME_HEADERS[key] = found
    return found


class XMLStreamParser:
    """Parses one direction of an XML stream into stream events.

    Args:
        stream_start: called with the stream header's attributes as a dict:
            plain names, ``xml:lang``, ``xmlns`` (the content namespace),
            ``xmlns:<prefix>`` for declared prefixes and ``{uri}name`` for
            other namespaced attributes.
        stanza: called with each first-level element (a domish Element).
        stream_end: called when ``</stream:stream>`` arrives.
        stream_error: called with a :class:`StreamError` when the input is
            refused; the parser is closed afterwards.  A callback raising
            ``StreamError`` is reported here too.
        max_stanza_size: limit on one first-level element, in bytes.
        max_depth: limit on nesting, the stream element counting as 1.
        max_attributes: limit on attributes plus namespace declarations of
            any one element.
        content_namespaces: default namespaces accepted on the stream
            header (e.g. ``{"jabber:client"}``); None accepts any.
        stream_namespace: namespace of the root element.
        max_pending: limit on bytes held while paused (the transport should
            also stop reading while the parser is paused); default twice
            ``max_stanza_size``.
    """

    def __init__(
        self,
        stream_start: _Callback,
        stanza: _Callback,
        stream_end: _Callback,
        stream_error: _Callback,
        *,
        max_stanza_size: int = DEFAULT_MAX_STANZA_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_attributes: int = DEFAULT_MAX_ATTRIBUTES,
        content_namespaces: frozenset[str] | set[str] | tuple[str, ...] | None = (NS_CLIENT,),
        stream_namespace: str = NS_STREAMS,
        max_pending: int | None = None,
    ):
        if max_stanza_size < 1:
            raise ValueError("max_stanza_size must be positive")
        self._on_start = stream_start
        self._on_stanza = stanza
        self._on_end = stream_end
        self._on_error = stream_error
        self.max_stanza_size = max_stanza_size
        self._max_depth = max_depth
        self._max_attributes = max_attributes
        self._content = None if content_namespaces is None else frozenset(content_namespaces)
        self._stream_namespace = stream_namespace
        self._max_pending = max_pending if max_pending is not None else 2 * max_stanza_size
        self._queue: deque[tuple[str, Any, int]] = deque()
        self._received = 0
        self._raw: bytes | bytearray = b""
        self._raw_start = 0
        self._paused = False
        self._draining = False
        self._dispatching: tuple[str, int] | None = None
        self._reset_request: bool | None = None
        self._closed = False
        self._fatal: StreamError | None = None
        # Hibernation (see hibernate()): the synthetic header that rebuilds
        # the parser, whether the input read so far ends between first-level
        # elements, the last first-level event of the current read, and the
        # header kept while the expat parser is freed.
        self._resume_header: bytes | None = None
        self._at_boundary = False
        self._last_top: tuple[str, int] | None = None
        self._sleeping: bytes | None = None
        #: Set by every :meth:`feed`; an idle sweep clears it (see hibernate()).
        self.active = True
        #: Sweeps in a row that found no input (kept by the sweeping listener).
        self.idle_sweeps = 0
        self._session: _ExpatSession | None = self._new_session(0)

    # -- public API -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the stream failed, ended badly or :meth:`close` was called."""
        return self._closed

    @property
    def paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume`."""
        return self._paused

    @property
    def buffered(self) -> int:
        """Bytes of input the parser currently holds on to.

        That is the part of the current first-level element read so far (held
        by expat and the element being built) plus, while paused, the raw
        input kept for replay.  It never exceeds ``max_stanza_size`` plus one
        read, plus ``max_pending`` while paused.
        """
        held = self._session.held() if self._session is not None else 0
        if self._paused or self._draining:
            held += len(self._raw)
        return held

    def feed(self, data: bytes) -> None:
        """Parse more input and deliver the resulting events.

        Args:
            data: the next bytes of the stream, as read from the transport.
        """
        if self._closed or self._fatal is not None or not data:
            return
        if not isinstance(data, bytes):
            data = bytes(data)
        self.active = True
        if self._sleeping is not None:
            self._wake()
        self._received += len(data)
        if self._paused or self._draining:
            self._at_boundary = False
            if self._paused and len(self._raw) + len(data) > self._max_pending:
                # Fatal, but only after the events read before it.
                self._fatal = StreamError(
                    "policy-violation", "too much input while the stream is busy"
                )
                self._raw = b""
                if self._session is not None:
                    self._session.dead = True
                return
            if not isinstance(self._raw, bytearray):
                self._raw = bytearray(self._raw)
            self._raw += data
            self._parse(data)
            return
        self._raw = data
        self._raw_start = self._received - len(data)
        session = self._session
        was_at_boundary = self._at_boundary
        self._at_boundary = False
        self._last_top = None
        self._parse(data)
        self._drain()
        if session is self._session:
            self._at_boundary = self._ends_between_elements(data, was_at_boundary)

    def pause(self) -> None:
        """Stop delivering events until :meth:`resume`.

        Called from a callback, the events after the current element wait;
        input that arrives meanwhile is parsed and kept.
        """
        if self._closed or self._paused:
            return
        self._paused = True
        if self._dispatching is not None:
            restart = self._restart_point(*self._dispatching)
        else:
            restart = self._raw_start + len(self._raw) if self._draining else self._received
        self._keep_from(restart)

    def resume(self) -> None:
        """Deliver the events held since :meth:`pause` and go on normally."""
        if self._closed or not self._paused:
            return
        self._paused = False
        if not self._draining:
            self._drain()

    def reset(self, *, discard_pending: bool = False) -> None:
        """Start a new stream: the next bytes must open it with a header.

        Called from the ``stanza`` callback (or while paused after it), the
        new stream starts right after the element being handled; input
        already read after that element is replayed into the new parser,
        unless ``discard_pending`` is true (after STARTTLS, where it must be
        dropped; RFC 6120 section 5.3.3).

        Args:
            discard_pending: drop input read after the current element.
        """
        if self._closed:
            return
        if self._dispatching is not None:
            self._reset_request = bool(discard_pending) or bool(self._reset_request)
            return
        if self._paused:
            self._restart(self._raw_start, discard_pending)
        else:
            self._queue.clear()
            self._session = self._new_session(self._received)
            self._raw = b""
            self._raw_start = self._received

    def close(self) -> None:
        """Stop parsing for good; later input and held events are dropped."""
        self._closed = True
        self._queue.clear()
        self._raw = b""
        if self._session is not None:
            self._session.release()
        self._session = None
        self._sleeping = None

    @property
    def hibernating(self) -> bool:
        """True while the expat parser is freed (see :meth:`hibernate`)."""
        return self._sleeping is not None

    def hibernate(self) -> bool:
        """Free the expat parser while the stream is idle between stanzas.

        An expat parser holds about 13 KB (its buffers, tag and namespace
        tables) for as long as the stream lasts, which is most of an idle
        client connection's memory.  Between first-level elements it holds
        nothing the stream still needs but the namespace declarations of the
        stream header, so it can be dropped and rebuilt by the next
        :meth:`feed` from a short synthetic copy of that header (about 60
        microseconds of CPU: callers do it for idle streams, not per stanza).

        Returns:
            True when the parser was freed; False when the input read so far
            does not end between first-level elements (part of an element,
            or of a tag, is still held), or events are still being delivered.
        """
        session = self._session
        if (
            not self._at_boundary
            or session is None
            or session.dead
            or self._closed
            or self._paused
            or self._draining
            or self._queue
            or self._fatal is not None
            or self._resume_header is None
            or session._depth != 1
            or session._current is not None
        ):
            return False
        self._sleeping = self._resume_header
        self._session = None
        session.release()
        return True

    # -- internals ----------------------------------------------------------

    def _new_session(self, base: int, resumed: bool = False) -> _ExpatSession:
        self._sleeping = None
        self._resume_header = None
        self._at_boundary = False
        return _ExpatSession(
            self._emit,
            base,
            stanza_depth=1,
            max_depth=self._max_depth,
            max_attributes=self._max_attributes,
            stream_namespace=self._stream_namespace,
            content_namespaces=self._content,
            resumed=resumed,
        )

    def _wake(self) -> None:
        """Rebuild the parser freed by :meth:`hibernate` at the current position."""
        header = self._sleeping
        assert header is not None
        session = self._new_session(self._received - len(header), resumed=True)
        session.parser.Parse(header, False)
        session.fed_to = session.mark = self._received
        self._session = session
        self._resume_header = header
        self._at_boundary = True

    def _emit(self, kind: str, payload: Any, position: int) -> None:
        if kind != "end":
            self._last_top = (kind, position)
            if kind == "start" and self._session is not None:
                self._resume_header = _resume_header(self._session.root_qname, payload)
        self._queue.append((kind, payload, position))

    def _ends_between_elements(self, data: bytes, was_at_boundary: bool) -> bool:
        """True when the read ``data`` (just parsed) leaves nothing partial in expat."""
        session = self._session
        if (
            session is None
            or session.dead
            or self._paused
            or self._closed
            or session._depth != 1
            or session._current is not None
        ):
            return False
        last = self._last_top
        if last is None:
            # No first-level event completed in this read: only whitespace
            # between elements keeps an earlier boundary.
            return was_at_boundary and not data.strip()
        kind, position = last
        offset = position - (self._received - len(data))
        if offset < 0:
            return False  # the last tag began in an earlier read
        tail = data[offset:]
        if kind == "start" or not tail.startswith(b"</"):
            # The header's position is already past its start tag, and so is
            # the position of a stanza written as one empty-element tag.
            return not tail.strip()
        # Otherwise a stanza's position is the start of its end tag: that
        # tag is complete, and only whitespace may follow it.
        if b"'" in tail or b'"' in tail:
            length = _start_tag_length(tail)
        else:
            length = tail.find(b">") + 1
        return length > 0 and tail[length - 1] == 0x3E and not tail[length:].strip()

    def _queue_error(self, error: StreamError) -> None:
        if self._session is not None:
            self._session.dead = True
        self._queue.append(("error", error, self._received))

    def _parse(self, data: bytes | bytearray | memoryview) -> None:
        session = self._session
        if session is None or session.dead:
            return
        view = memoryview(data)
        limit = self.max_stanza_size
        pos = 0
        size = len(view)
        if session.fed_to == session.base:
            # Whitespace before a stream header (e.g. after a restart) is
            # skipped: an XML declaration must be the very first thing.
            while pos < size and view[pos] in _WHITESPACE:
                pos += 1
            session.base = session.fed_to = session.mark = session.base + pos
        while pos < size:
            budget = session.mark + limit - session.fed_to
            if budget <= 0:
                self._queue_error(
                    StreamError(
                        "policy-violation",
                        f"stanza larger than the limit of {limit} bytes",
                    )
                )
                return
            piece = view[pos : pos + budget] if budget < size - pos else view[pos:]
            try:
                session.parser.Parse(piece, False)
            except _Refused as refused:
                self._queue_error(refused.error)
                return
            except expat.ExpatError as error:
                self._queue_error(_expat_error(error))
                return
            session.fed_to += len(piece)
            pos += len(piece)

    def _drain(self) -> None:
        self._draining = True
        try:
            while not self._paused and not self._closed:
                if not self._queue:
                    if self._fatal is not None:
                        self._fail(self._fatal)
                    break
                kind, payload, position = self._queue.popleft()
                if kind == "error":
                    self._fail(payload)
                    return
                self._dispatching = (kind, position)
                try:
                    if kind == "stanza":
                        self._on_stanza(payload)
                    elif kind == "start":
                        self._on_start(payload)
                    else:
                        self._on_end()
                except StreamError as error:
                    self._dispatching = None
                    self._fail(error)
                    return
                except BaseException:
                    self._dispatching = None
                    self.close()
                    raise
                self._dispatching = None
                if self._reset_request is not None and not self._closed:
                    discard = self._reset_request
                    self._reset_request = None
                    restart = self._restart_point(kind, position)
                    if self._paused:
                        # pause() already kept the input from the same point.
                        self._restart(self._raw_start, discard)
                    else:
                        self._restart(restart, discard)
        finally:
            self._draining = False
            self._dispatching = None
        if not self._paused and not self._closed:
            self._raw = b""
            self._raw_start = self._received

    def _fail(self, error: StreamError) -> None:
        self.close()
        self._on_error(error)

    def _keep_from(self, restart: int) -> None:
        offset = max(0, restart - self._raw_start)
        self._raw = bytearray(self._raw[offset:])
        self._raw_start = max(restart, self._raw_start)

    def _restart(self, restart: int, discard: bool) -> None:
        """Replace the expat parser; replay input from ``restart`` unless discarded."""
        self._queue.clear()
        if self._fatal is not None:
            return
        if discard:
            self._raw = bytearray() if self._paused else b""
            self._raw_start = self._received
            self._session = self._new_session(self._received)
            return
        self._keep_from(restart)
        self._session = self._new_session(self._raw_start)
        if self._raw:
            self._parse(bytes(self._raw))

    def _restart_point(self, kind: str, position: int) -> int:
        """Absolute position of the first byte after the event's element."""
        raw = self._raw
        start = self._raw_start
        end = start + len(raw)
        if kind == "end":
            return end
        if kind == "start":
            return position
        rel = position - start
        if rel >= 0:
            if raw[rel : rel + 2] == b"</":
                close = raw.find(b">", rel)
                return start + close + 1 if close >= 0 else end
            # An empty-element tag: expat reports its end right after it.
            return position
        # The end tag started in an earlier read; its rest holds one '>'.
        close = raw.find(b">")
        return start + close + 1 if close >= 0 else end


def parse_element(
    data: bytes | str,
    *,
    max_size: int = DEFAULT_MAX_STANZA_SIZE,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_attributes: int = DEFAULT_MAX_ATTRIBUTES,
    default_namespace: str = "",
) -> Element:
    """Parse one standalone XML element with the stream's restrictions.

    Args:
        data: the element, as UTF-8 bytes or text.
        max_size: refuse input longer than this many bytes.
        max_depth: deepest nesting allowed (the element itself is 1).
        max_attributes: attributes plus namespace declarations per element.
        default_namespace: the namespace of unqualified elements, e.g.
            ``"jabber:client"`` for a stanza typed in by an administrator.

    Returns:
        The element.

    Raises:
        StreamError: with ``not-well-formed``, ``restricted-xml``,
            ``policy-violation`` or ``unsupported-encoding``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_size:
        raise StreamError("policy-violation", f"element larger than the limit of {max_size} bytes")
    found: list[Element] = []

    def emit(kind: str, payload: Any, position: int) -> None:
        if kind == "stanza":
            found.append(payload)

    session = _ExpatSession(
        emit,
        0,
        stanza_depth=0,
        max_depth=max_depth,
        max_attributes=max_attributes,
        default_namespace=default_namespace,
    )
    try:
        session.parser.Parse(data, True)
    except _Refused as refused:
        raise refused.error from None
    except expat.ExpatError as error:
        raise _expat_error(error) from None
    if len(found) != 1:
        raise StreamError("not-well-formed", "expected exactly one element")
    return found[0]
