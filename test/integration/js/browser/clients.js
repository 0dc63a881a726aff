// Runs in the page clients.html: one XMPP client logs in as a user, sends the
// peer a message and records the peer's answer.
//
// Query string: client=xmppjs|strophe, service=WebSocket or BOSH URL,
// user=local part, password, peer=full JID to write to.
//
// Every event is pushed onto window.xmppEvents (read by browser_clients.cjs)
// and written to the page; window.xmppDone becomes true once the answer came
// or the client failed.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const client = params.get("client");
  const service = params.get("service");
  const user = params.get("user");
  const password = params.get("password");
  const peer = params.get("peer");
  const domain = "localhost";
  const body = "hello from " + client + " in a browser";

  window.xmppEvents = [];
  window.xmppDone = false;

  function emit(event) {
    window.xmppEvents.push(event);
    document.getElementById("log").textContent += JSON.stringify(event) + "\n";
  }

  function finish(event) {
    emit(event);
    window.xmppDone = true;
  }

  function runXmppjs() {
    const { client: makeClient, xml } = window.XMPP;
    const xmpp = makeClient({ service, domain, username: user, password, resource: "browser-xmppjs" });
    xmpp.on("error", (error) => finish({ event: "error", message: String(error) }));
    xmpp.on("stanza", (stanza) => {
      if (stanza.is("message") && stanza.getChildText("body")) {
        emit({ event: "message", from: stanza.attrs.from, body: stanza.getChildText("body") });
        xmpp.stop().finally(() => finish({ event: "closed" }));
      }
    });
    xmpp.on("online", async (address) => {
      emit({ event: "online", jid: address.toString() });
      await xmpp.send(xml("presence"));
      await xmpp.send(xml("message", { to: peer, type: "chat" }, xml("body", {}, body)));
      emit({ event: "sent" });
    });
    xmpp.start().catch((error) => finish({ event: "error", message: String(error) }));
  }

  function runStrophe() {
    // The UMD build sets the globals Strophe, $msg and $pres.
    const { Strophe, $msg, $pres } = window;
    const connection = new Strophe.Connection(service);
    connection.addHandler((message) => {
      const text = message.getElementsByTagName("body")[0];
      if (text) {
        emit({ event: "message", from: message.getAttribute("from"), body: Strophe.getText(text) });
        connection.disconnect();
      }
      return true;
    }, null, "message");
    connection.connect(user + "@" + domain + "/browser-strophe", password, (status, condition) => {
      emit({ event: "status", status, condition: condition || null });
      if (status === Strophe.Status.CONNECTED) {
        emit({ event: "online", jid: connection.jid });
        connection.send($pres());
        connection.send($msg({ to: peer, type: "chat" }).c("body").t(body));
        emit({ event: "sent" });
      } else if (status === Strophe.Status.DISCONNECTED) {
        finish({ event: "closed" });
      } else if (status === Strophe.Status.CONNFAIL || status === Strophe.Status.AUTHFAIL) {
        finish({ event: "error", message: "strophe status " + status + " " + (condition || "") });
      }
    });
  }

  window.addEventListener("load", () => {
    try {
      if (client === "xmppjs") runXmppjs();
      else if (client === "strophe") runStrophe();
      else finish({ event: "error", message: "unknown client " + client });
    } catch (error) {
      finish({ event: "error", message: String(error && error.stack || error) });
    }
  });
})();
