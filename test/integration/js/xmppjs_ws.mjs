// xmpp.js over WebSocket (RFC 7395): log in, send a message, wait for the answer.
// Usage: node xmppjs_ws.mjs URL USER PASSWORD PEER_JID
// Prints one JSON line per event; exits 0 when the reply arrived.
import { client, xml } from "@xmpp/client";
import { WebSocket } from "ws";

// Node before 22 has no global WebSocket; xmpp.js expects one.
globalThis.WebSocket ??= WebSocket;

const [url, username, password, peer] = process.argv.slice(2);
const emit = (event) => console.log(JSON.stringify(event));
const timer = setTimeout(() => { emit({ event: "timeout" }); process.exit(3); }, 15000);

const xmpp = client({ service: url, domain: "localhost", username, password, resource: "xmppjs" });
xmpp.on("error", (err) => { emit({ event: "error", message: String(err) }); process.exit(2); });
xmpp.on("stanza", async (stanza) => {
  if (stanza.is("message") && stanza.getChildText("body")) {
    emit({ event: "message", from: stanza.attrs.from, body: stanza.getChildText("body") });
    clearTimeout(timer);
    await xmpp.stop();
    process.exit(0);
  }
});
xmpp.on("online", async (address) => {
  emit({ event: "online", jid: address.toString() });
  await xmpp.send(xml("presence"));
  await xmpp.send(xml("message", { to: peer, type: "chat" }, xml("body", {}, "hello from xmpp.js")));
  emit({ event: "sent" });
});
xmpp.start().catch((err) => { emit({ event: "error", message: String(err) }); process.exit(2); });
