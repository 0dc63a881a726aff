"""Tests for mongoose.xmpp.framing: incremental XML stream parsing (RFC 6120)."""

from __future__ import annotations

import tracemalloc

from twisted.trial.unittest import SynchronousTestCase

from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import XMLStreamParser, element_to_str, parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_STREAMS, NS_XML

HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' to='localhost' "
    b"version='1.0' xml:lang='en'>"
)


class Recorder:
    """Collects what a parser reports, in order."""

    def __init__(self, **kwargs):
        self.events: list[tuple] = []
        self.on_stanza = None
        self.parser = XMLStreamParser(self.start, self.stanza, self.end, self.error, **kwargs)

    def start(self, attrs):
        self.events.append(("start", attrs))

    def stanza(self, el):
        self.events.append(("stanza", element_to_str(el)))
        if self.on_stanza is not None:
            self.on_stanza(el)

    def end(self):
        self.events.append(("end",))

    def error(self, err):
        self.events.append(("error", err.condition))

    def kinds(self):
        return [e[0] for e in self.events]

    def stanzas(self):
        return [e[1] for e in self.events if e[0] == "stanza"]

    def errors(self):
        return [e[1] for e in self.events if e[0] == "error"]


SAMPLE = HEADER + (
    b"<message to='juliet@example.com' id='m1' xml:lang='fr'><body>caf\xc3\xa9 &amp; "
    b"&#x263A; &lt;3</body></message> \n <iq type='get' id='r1'>"
    b"<query xmlns='jabber:iq:roster'/></iq><presence/>"
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
    b"</stream:stream>"
)


class StreamEventsTests(SynchronousTestCase):
    """The parser reports the header, each first-level element and the end."""

    def test_header_attributes(self):
        """The header's attributes, xml:lang and namespace declarations are reported."""
        rec = Recorder()
        rec.parser.feed(HEADER)
        self.assertEqual(
            rec.events,
            [
                (
                    "start",
                    {
                        "to": "localhost",
                        "version": "1.0",
                        "xml:lang": "en",
                        "xmlns": "jabber:client",
                        "xmlns:stream": NS_STREAMS,
                    },
                )
            ],
        )

    def test_stanzas_and_end(self):
        """Each first-level child becomes one element; the stream end is reported."""
        rec = Recorder()
        rec.parser.feed(SAMPLE)
        self.assertEqual(rec.kinds(), ["start", "stanza", "stanza", "stanza", "stanza", "end"])
        self.assertEqual(
            rec.stanzas(),
            [
                "<message to='juliet@example.com' id='m1' xml:lang='fr'>"
                "<body>caf\u00e9 &amp; \u263a &lt;3</body></message>",
                "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
                "<presence/>",
                "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
                "</stream:features>",
            ],
        )

    def test_element_model(self):
        """Stanzas are domish Elements with namespaces, parents and xml:lang as a tuple key."""
        got = []
        parser = XMLStreamParser(lambda a: None, got.append, lambda: None, self.fail)
        parser.feed(SAMPLE)
        message, iq = got[0], got[1]
        self.assertEqual((message.uri, message.name), (NS_CLIENT, "message"))
        self.assertEqual(message.getAttribute((NS_XML, "lang")), "fr")
        self.assertEqual(str(message.body), "caf\u00e9 & \u263a <3")
        query = iq.firstChildElement()
        self.assertEqual((query.uri, query.name), ("jabber:iq:roster", "query"))
        self.assertIs(query.parent, iq)
        self.assertIsNone(iq.parent)
        self.assertEqual((got[3].uri, got[3].name), (NS_STREAMS, "features"))

    def test_byte_by_byte(self):
        """Feeding one byte at a time (splitting UTF-8 sequences) gives the same events."""
        whole = Recorder()
        whole.parser.feed(SAMPLE)
        split = Recorder()
        for i in range(len(SAMPLE)):
            split.parser.feed(SAMPLE[i : i + 1])
        self.assertEqual(split.events, whole.events)

    def test_chunk_boundaries(self):
        """Every two-chunk split of the stream gives the same events."""
        whole = Recorder()
        whole.parser.feed(SAMPLE)
        for cut in range(1, len(SAMPLE)):
            rec = Recorder()
            rec.parser.feed(SAMPLE[:cut])
            rec.parser.feed(SAMPLE[cut:])
            self.assertEqual(rec.events, whole.events, f"cut at {cut}")

    def test_whitespace_keepalives(self):
        """Whitespace between stanzas is ignored."""
        rec = Recorder()
        rec.parser.feed(HEADER + b" \n\t " * 1000 + b"<presence/>   ")
        self.assertEqual(rec.kinds(), ["start", "stanza"])

    def test_content_namespace_any(self):
        """With content_namespaces=None any default namespace is accepted."""
        rec = Recorder(content_namespaces=None)
        rec.parser.feed(
            HEADER.replace(b"jabber:client", b"jabber:server")
            + b"<db:result xmlns:db='jabber:server:dialback'/>"
        )
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        self.assertEqual(rec.events[0][1]["xmlns"], "jabber:server")

    def test_memoryview_input(self):
        """A bytearray or memoryview is accepted as input."""
        rec = Recorder()
        rec.parser.feed(bytearray(HEADER))
        rec.parser.feed(memoryview(b"<presence/>"))
        self.assertEqual(rec.kinds(), ["start", "stanza"])


class RefusedInputTests(SynchronousTestCase):
    """Constructs RFC 6120 section 11.1 forbids are refused with restricted-xml."""

    def assertRefused(self, data, condition, header=True):
        rec = Recorder()
        rec.parser.feed((HEADER if header else b"") + data)
        self.assertEqual(rec.errors(), [condition])
        self.assertTrue(rec.parser.closed)
        self.assertNotIn("stanza", rec.kinds())
        rec.parser.feed(b"<presence/>")
        self.assertEqual(rec.errors(), [condition], "nothing after the error")
        return rec

    def test_doctype(self):
        """A DOCTYPE is refused before the stream starts."""
        rec = self.assertRefused(
            b"<?xml version='1.0'?><!DOCTYPE stream><stream:stream/>", "restricted-xml", False
        )
        self.assertEqual(rec.kinds(), ["error"])

    def test_billion_laughs(self):
        """The billion laughs document is refused without expanding anything."""
        entities = b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10)
        )
        data = (
            b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol0 'lol'>"
            + entities
            + b"]><stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams'><message>&lol9;</message>"
        )
        tracemalloc.start()
        try:
            self.assertRefused(data, "restricted-xml", header=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 5 * 1024 * 1024)

    def test_undeclared_entity(self):
        """A reference to an entity that is not predefined is refused."""
        self.assertRefused(b"<message><body>&nbsp;</body></message>", "restricted-xml")

    def test_processing_instruction(self):
        """A processing instruction inside the stream is refused."""
        self.assertRefused(b"<?php echo 1; ?>", "restricted-xml")

    def test_processing_instruction_in_stanza(self):
        """A processing instruction inside a stanza is refused."""
        self.assertRefused(b"<message><?pi x?></message>", "restricted-xml")

    def test_comment(self):
        """A comment between stanzas is refused."""
        self.assertRefused(b"<!-- hello -->", "restricted-xml")

    def test_comment_in_stanza(self):
        """A comment inside a stanza is refused."""
        self.assertRefused(b"<message><body>a<!-- x -->b</body></message>", "restricted-xml")

    def test_predefined_entities_and_character_references(self):
        """Predefined entities, character references and CDATA are allowed."""
        rec = Recorder()
        rec.parser.feed(
            HEADER
            + b"<message><body>&lt;&gt;&amp;&apos;&quot;&#65;<![CDATA[<x>]]></body></message>"
        )
        self.assertEqual(
            rec.stanzas(), ["<message><body>&lt;&gt;&amp;'\"A&lt;x&gt;</body></message>"]
        )

    def test_not_well_formed(self):
        """Mismatched tags are not-well-formed."""
        self.assertRefused(b"<message><body></message>", "not-well-formed")

    def test_garbage(self):
        """Input that is not XML at all is not-well-formed."""
        self.assertRefused(b"GET / HTTP/1.1\r\n\r\n", "not-well-formed", header=False)

    def test_invalid_utf8(self):
        """Bytes that are not UTF-8 are refused."""
        rec = Recorder()
        rec.parser.feed(HEADER + b"<message><body>\xff\xfe</body></message>")
        self.assertEqual(len(rec.errors()), 1)
        self.assertIn(rec.errors()[0], ("not-well-formed", "unsupported-encoding"))

    def test_other_encoding(self):
        """An XML declaration naming another encoding is unsupported-encoding."""
        self.assertRefused(
            b"<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream/>",
            "unsupported-encoding",
            header=False,
        )

    def test_wrong_stream_namespace(self):
        """A root element outside the streams namespace is invalid-namespace."""
        self.assertRefused(
            b"<stream:stream xmlns='jabber:client' xmlns:stream='http://wrong'>",
            "invalid-namespace",
            header=False,
        )

    def test_wrong_root_name(self):
        """A root element other than stream is invalid-xml."""
        self.assertRefused(
            b"<stream:flow xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            "invalid-xml",
            header=False,
        )

    def test_wrong_content_namespace(self):
        """A client stream declaring jabber:server is invalid-namespace."""
        rec = Recorder()
        rec.parser.feed(HEADER.replace(b"jabber:client", b"jabber:server"))
        self.assertEqual(rec.errors(), ["invalid-namespace"])

    def test_missing_content_namespace(self):
        """A stream without a default namespace is invalid-namespace."""
        rec = Recorder()
        rec.parser.feed(HEADER.replace(b"xmlns='jabber:client' ", b""))
        self.assertEqual(rec.errors(), ["invalid-namespace"])

    def test_second_xml_declaration(self):
        """A second XML declaration without a reset is not-well-formed."""
        rec = Recorder()
        rec.parser.feed(HEADER + b"<presence/><?xml version='1.0'?><presence/>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "error"])
        self.assertEqual(rec.errors(), ["not-well-formed"])

    def test_depth_limit(self):
        """Elements nested deeper than max_depth are refused."""
        rec = Recorder(max_depth=10)
        rec.parser.feed(HEADER + b"<a>" * 9 + b"</a>" * 9)
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        rec.parser.feed(b"<a>" * 10)
        self.assertEqual(rec.errors(), ["policy-violation"])

    def test_attribute_limit(self):
        """An element with more attributes and declarations than allowed is refused."""
        rec = Recorder(max_attributes=5)
        rec.parser.feed(HEADER + b"<a x1='' x2='' x3='' xmlns:p='u' xmlns='v'/>")
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        rec.parser.feed(b"<a x1='' x2='' x3='' x4='' xmlns:p='u' xmlns='v'/>")
        self.assertEqual(rec.errors(), ["policy-violation"])

    def test_callback_raising_stream_error(self):
        """A callback raising StreamError ends the stream with that error."""
        rec = Recorder()

        def refuse(el):
            raise StreamError("host-unknown")

        rec.on_stanza = refuse
        rec.parser.feed(HEADER + b"<presence/><presence/>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "error"])
        self.assertEqual(rec.errors(), ["host-unknown"])

    def test_close(self):
        """After close() nothing more is reported."""
        rec = Recorder()
        rec.on_stanza = lambda el: rec.parser.close()
        rec.parser.feed(HEADER + b"<presence/><presence/>")
        rec.parser.feed(b"<presence/>")
        self.assertEqual(rec.kinds(), ["start", "stanza"])


class SizeLimitTests(SynchronousTestCase):
    """max_stanza_size is enforced while reading, with bounded buffering."""

    def test_huge_stanza_refused_early(self):
        """A 10 MB stanza fed in 64 KiB chunks is refused near the limit."""
        limit = 256 * 1024
        chunk = 64 * 1024
        rec = Recorder(max_stanza_size=limit)
        rec.parser.feed(HEADER)
        body = b"<message><body>" + b"x" * (10 * 1024 * 1024) + b"</body></message>"
        fed = 0
        held = []
        tracemalloc.start()
        try:
            for offset in range(0, len(body), chunk):
                if rec.parser.closed:
                    break
                rec.parser.feed(body[offset : offset + chunk])
                fed += chunk
                held.append(rec.parser.buffered)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertEqual(rec.errors(), ["policy-violation"])
        self.assertEqual(rec.stanzas(), [])
        self.assertLessEqual(fed, limit + 2 * chunk)
        self.assertLessEqual(max(held), limit + chunk)
        # The 10 MB payload never lives in the parser: memory stays near the limit.
        self.assertLess(peak, 4 * limit + 4 * chunk)

    def test_huge_attribute_refused(self):
        """A start tag larger than the limit (held inside expat) is refused too."""
        rec = Recorder(max_stanza_size=10000)
        rec.parser.feed(HEADER + b"<message to='")
        for _ in range(10):
            rec.parser.feed(b"a" * 4096)
        self.assertEqual(rec.errors(), ["policy-violation"])

    def test_exact_limit(self):
        """A stanza of exactly max_stanza_size bytes passes, one byte more does not."""
        stanza = b"<message><body>" + b"y" * 300 + b"</body></message>"
        for chunks in ([HEADER + stanza], [HEADER, stanza], [HEADER, stanza[:10], stanza[10:]]):
            ok = Recorder(max_stanza_size=len(stanza))
            for chunk in chunks:
                ok.parser.feed(chunk)
            self.assertEqual(ok.kinds(), ["start", "stanza"])
            bigger = [c.replace(b"y" * 290, b"y" * 291) for c in chunks]
            refused = Recorder(max_stanza_size=len(stanza))
            for chunk in bigger:
                refused.parser.feed(chunk)
            self.assertEqual(refused.errors(), ["policy-violation"])

    def test_header_larger_than_limit(self):
        """A stream header longer than max_stanza_size is refused."""
        rec = Recorder(max_stanza_size=len(HEADER) - 10)
        rec.parser.feed(HEADER)
        self.assertEqual(rec.errors(), ["policy-violation"])

    def test_limit_is_per_stanza(self):
        """Many stanzas below the limit together may exceed it."""
        rec = Recorder(max_stanza_size=200)
        stanza = b"<message><body>" + b"z" * 100 + b"</body></message>"
        rec.parser.feed(HEADER)
        for _ in range(50):
            rec.parser.feed(stanza * 3)
        self.assertEqual(rec.errors(), [])
        self.assertEqual(len(rec.stanzas()), 150)

    def test_large_chunk_of_small_stanzas(self):
        """One read holding many small stanzas larger in total than the limit is fine."""
        rec = Recorder(max_stanza_size=300)
        rec.parser.feed(HEADER + b"<presence/>" * 2000)
        self.assertEqual(rec.errors(), [])
        self.assertEqual(len(rec.stanzas()), 2000)

    def test_header_counts(self):
        """An endless stream header is refused as well."""
        rec = Recorder(max_stanza_size=1000)
        rec.parser.feed(b"<stream:stream xmlns='jabber:client' a='")
        rec.parser.feed(b"b" * 2000)
        self.assertEqual(rec.errors(), ["policy-violation"])


NEW_HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
)
AUTH = b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>"


class RestartTests(SynchronousTestCase):
    """reset(), pause() and resume() for stream restarts (RFC 6120 4.3.3)."""

    def test_reset_replays_pipelined_bytes(self):
        """Bytes after the element that triggered the reset start the new stream."""
        rec = Recorder()

        def on_stanza(el):
            if el.name == "auth":
                rec.parser.reset()

        rec.on_stanza = on_stanza
        rec.parser.feed(HEADER + AUTH + NEW_HEADER + b"<iq type='set' id='b'/>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"])
        self.assertEqual(rec.stanzas()[1], "<iq type='set' id='b'/>")
        self.assertEqual(rec.errors(), [])

    def test_reset_at_every_split(self):
        """The restart point is found wherever the reads are split."""
        data = HEADER + AUTH + b"\n " + NEW_HEADER + b"<presence/>"
        for cut in range(len(HEADER), len(data)):
            rec = Recorder()
            rec.on_stanza = lambda el, rec=rec: el.name == "auth" and rec.parser.reset()
            rec.parser.feed(data[:cut])
            rec.parser.feed(data[cut:])
            self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"], f"cut at {cut}")

    def test_reset_after_empty_element(self):
        """A reset after an empty-element tag (ANONYMOUS auth) keeps what follows."""
        data = (
            HEADER
            + b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>"
            + NEW_HEADER
            + b"<presence/>"
        )
        for cut in range(len(HEADER), len(data)):
            rec = Recorder()
            rec.on_stanza = lambda el, rec=rec: el.name == "auth" and rec.parser.reset()
            rec.parser.feed(data[:cut])
            rec.parser.feed(data[cut:])
            self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"], f"cut at {cut}")

    def test_reset_without_pipelining(self):
        """After a reset the next read must open a new stream."""
        rec = Recorder()
        rec.on_stanza = lambda el: el.name == "auth" and rec.parser.reset()
        rec.parser.feed(HEADER + AUTH)
        rec.parser.feed(NEW_HEADER)
        rec.parser.feed(b"<presence/></stream:stream>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza", "end"])

    def test_reset_discard_pending(self):
        """reset(discard_pending=True) drops what was read after the element (STARTTLS)."""
        rec = Recorder()
        rec.on_stanza = lambda el: el.name == "starttls" and rec.parser.reset(discard_pending=True)
        rec.parser.feed(
            HEADER
            + b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
            + b"<iq type='set' id='injected'/>"
        )
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        rec.parser.feed(NEW_HEADER + b"<presence/>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"])
        self.assertNotIn("injected", "".join(rec.stanzas()))

    def test_pause_holds_events(self):
        """After pause() in a callback the following stanzas wait for resume()."""
        rec = Recorder()
        rec.on_stanza = lambda el: el.name == "auth" and rec.parser.pause()
        rec.parser.feed(HEADER + AUTH + b"<presence id='1'/>")
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        self.assertTrue(rec.parser.paused)
        rec.parser.feed(b"<presence id='2'/>")
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        rec.parser.resume()
        self.assertEqual(rec.stanzas()[1:], ["<presence id='1'/>", "<presence id='2'/>"])
        rec.parser.feed(b"<presence id='3'/>")
        self.assertEqual(len(rec.stanzas()), 4)

    def test_async_reset_while_paused(self):
        """pause() at auth, later reset() and resume(): pipelined bytes open the new stream."""
        rec = Recorder()
        rec.on_stanza = lambda el: el.name == "auth" and rec.parser.pause()
        rec.parser.feed(HEADER + AUTH + NEW_HEADER[:40])
        rec.parser.feed(NEW_HEADER[40:] + b"<iq id='bind'/>")
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        # The password check finished: success was sent.
        rec.parser.reset()
        rec.parser.resume()
        self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"])
        self.assertEqual(rec.stanzas()[1], "<iq id='bind'/>")

    def test_async_failure_while_paused(self):
        """pause() then resume() without reset delivers the held stanzas of the same stream."""
        rec = Recorder()
        rec.on_stanza = lambda el: el.name == "auth" and rec.parser.pause()
        rec.parser.feed(HEADER + AUTH + AUTH)
        self.assertEqual(len(rec.stanzas()), 1)
        rec.parser.resume()
        self.assertEqual(len(rec.stanzas()), 2)
        self.assertEqual(len(rec.stanzas()), 2)

    def test_pause_limit(self):
        """Input held while paused is bounded by max_pending."""
        rec = Recorder(max_stanza_size=1000, max_pending=2000)
        rec.on_stanza = lambda el: el.name == "auth" and rec.parser.pause()
        rec.parser.feed(HEADER + AUTH)
        for _ in range(5):
            rec.parser.feed(b"<presence/>" * 100)
            self.assertLessEqual(rec.parser.buffered, 2000 + 1000)
        self.assertEqual(rec.kinds(), ["start", "stanza"])
        rec.parser.resume()
        # What was read within the limit is delivered, then the error.
        self.assertEqual(len(rec.stanzas()), 101)
        self.assertEqual(rec.errors(), ["policy-violation"])

    def test_whitespace_before_new_header(self):
        """Whitespace between the old stream and the new header is skipped."""
        rec = Recorder()
        rec.on_stanza = lambda el: el.name == "auth" and rec.parser.reset()
        rec.parser.feed(HEADER + AUTH + b"  \n")
        rec.parser.feed(b"\t " + NEW_HEADER + b"<presence/>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"])

    def test_reset_outside_callback(self):
        """reset() between reads starts a new stream for the next bytes."""
        rec = Recorder()
        rec.parser.feed(HEADER + b"<presence/>")
        rec.parser.reset()
        rec.parser.feed(NEW_HEADER + b"<presence/>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "start", "stanza"])

    def test_pause_outside_callback(self):
        """pause() between reads holds the next stanzas until resume()."""
        rec = Recorder()
        rec.parser.feed(HEADER)
        rec.parser.pause()
        rec.parser.feed(b"<presence/>")
        self.assertEqual(rec.kinds(), ["start"])
        rec.parser.resume()
        self.assertEqual(rec.kinds(), ["start", "stanza"])


class ParseElementTests(SynchronousTestCase):
    """parse_element parses one standalone element with the same rules."""

    def test_element(self):
        """A single element with children and namespaces is returned."""
        el = parse_element(b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost'/>")
        self.assertEqual(
            (el.uri, el.name, el["to"]),
            ("urn:ietf:params:xml:ns:xmpp-framing", "open", "localhost"),
        )

    def test_default_namespace(self):
        """Unqualified elements take default_namespace."""
        el = parse_element(
            "<message to='a@b'><body>x</body></message>", default_namespace=NS_CLIENT
        )
        self.assertEqual((el.uri, el.body.uri), (NS_CLIENT, NS_CLIENT))

    def test_refusals(self):
        """Comments, DTDs, size and malformed input raise StreamError."""
        cases = [
            (b"<a><!-- x --></a>", "restricted-xml"),
            (b"<!DOCTYPE a><a/>", "restricted-xml"),
            (b"<a>&foo;</a>", "restricted-xml"),
            (b"<a><b></a>", "not-well-formed"),
            (b"<a/><b/>", "not-well-formed"),
            (b"", "not-well-formed"),
            (b"<a>" + b"x" * 200 + b"</a>", "policy-violation"),
        ]
        for data, condition in cases:
            with self.assertRaises(StreamError, msg=data) as caught:
                parse_element(data, max_size=100)
            self.assertEqual(caught.exception.condition, condition, data)


class HibernationTests(SynchronousTestCase):
    """An idle parser frees expat between stanzas and rebuilds it on the next read."""

    def started(self, **kwargs) -> Recorder:
        """A recorder whose stream header has been read."""
        rec = Recorder(**kwargs)
        rec.parser.feed(HEADER)
        return rec

    def test_after_header_and_after_stanza(self):
        """Right after the header, and after a complete stanza, the parser can sleep."""
        rec = self.started()
        elements = []
        rec.on_stanza = elements.append
        self.assertTrue(rec.parser.hibernate())
        self.assertTrue(rec.parser.hibernating)
        rec.parser.feed(b"<presence/>")
        self.assertFalse(rec.parser.hibernating)
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"<message to='a@b'><body>x</body></message>")
        self.assertEqual(
            [(el.uri, el.name, el.getAttribute("to")) for el in elements],
            [(NS_CLIENT, "presence", None), (NS_CLIENT, "message", "a@b")],
        )
        self.assertEqual(elements[1].body.uri, NS_CLIENT)

    def test_header_namespaces_survive(self):
        """Prefixes declared on the header still resolve after a rebuild, and the stream ends."""
        rec = self.started()
        elements = []
        rec.on_stanza = elements.append
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                        b"</stream:error>")
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"  </stream:stream>")
        self.assertEqual(rec.kinds(), ["start", "stanza", "end"])
        self.assertEqual((elements[0].uri, elements[0].name), (NS_STREAMS, "error"))
        self.assertEqual(rec.errors(), [])

    def test_partial_input_keeps_the_parser(self):
        """Part of a tag or of an element keeps expat alive; input goes on correctly."""
        rec = self.started()
        rec.parser.feed(b"<message to='a>b")  # inside an attribute value, with a '>'
        self.assertFalse(rec.parser.hibernate())
        rec.parser.feed(b"'><body>1</body>")
        self.assertFalse(rec.parser.hibernate())
        rec.parser.feed(b"</message><presence id='x>y'/>")
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"<presence/>")
        self.assertEqual(len(rec.stanzas()), 3)
        self.assertIn("to='a&gt;b'", rec.stanzas()[0])

    def test_end_tag_split_across_reads(self):
        """An end tag begun in an earlier read is not taken for a boundary."""
        rec = self.started()
        rec.parser.feed(b"<presence><status>s</status></pres")
        rec.parser.feed(b"ence>")
        self.assertFalse(rec.parser.hibernate())
        rec.parser.feed(b"<presence/> \n")
        self.assertTrue(rec.parser.hibernate())

    def test_whitespace_keepalive_keeps_the_boundary(self):
        """Whitespace between stanzas does not wake or block hibernation."""
        rec = self.started()
        rec.parser.feed(b"<presence/>")
        rec.parser.feed(b" ")
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b" ")
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"<presence/>")
        self.assertEqual(len(rec.stanzas()), 2)

    def test_limits_still_apply_after_a_rebuild(self):
        """Size limits and refused constructs are enforced by the rebuilt parser."""
        rec = self.started(max_stanza_size=200)
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"<message><body>" + b"x" * 300 + b"</body></message>")
        self.assertEqual(rec.errors(), ["policy-violation"])
        rec = self.started()
        self.assertTrue(rec.parser.hibernate())
        rec.parser.feed(b"<!-- no -->")
        self.assertEqual(rec.errors(), ["restricted-xml"])

    def test_not_before_the_header_nor_after_close(self):
        """Nothing to keep before a header; a closed parser never sleeps."""
        rec = Recorder()
        self.assertFalse(rec.parser.hibernate())
        rec.parser.feed(HEADER)
        rec.parser.close()
        self.assertFalse(rec.parser.hibernate())

    def test_reset_after_hibernation(self):
        """A stream restart after a sleep needs (and reads) a new header."""
        rec = self.started()
        self.assertTrue(rec.parser.hibernate())
        rec.parser.reset()
        self.assertFalse(rec.parser.hibernating)
        rec.parser.feed(HEADER + b"<presence/>")
        self.assertEqual(rec.kinds(), ["start", "start", "stanza"])

    def test_frees_memory(self):
        """A sleeping parser holds far less memory than an awake one."""
        tracemalloc.start()
        try:
            awake = [self.started() for _ in range(50)]
            for rec in awake:
                rec.parser.feed(b"<presence/>")
            before = tracemalloc.get_traced_memory()[0]
            for rec in awake:
                self.assertTrue(rec.parser.hibernate())
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        self.assertGreater((before - after) / 50, 4000)
