// strophe.js over BOSH (XEP-0124/0206): log in, send a message, wait for the answer.
// Usage: node strophe_bosh.cjs URL JID PASSWORD PEER_JID
// Prints one JSON line per event; exits 0 when the reply arrived.
const { DOMParser } = require("@xmldom/xmldom");

// Node has fetch but no XMLHttpRequest: the part of it strophe.js uses.
class XMLHttpRequest {
  constructor() { this.readyState = 0; this.status = 0; this.responseText = ""; this.responseXML = null; this._headers = {}; this._controller = new AbortController(); }
  overrideMimeType() {}
  open(method, url) { this._method = method; this._url = url; this.readyState = 1; }
  setRequestHeader(name, value) { this._headers[name] = value; }
  getAllResponseHeaders() { return ""; }
  abort() { this._controller.abort(); }
  send(body) {
    fetch(this._url, { method: this._method, headers: this._headers, body, signal: this._controller.signal })
      .then(async (response) => {
        this.status = response.status;
        this.responseText = await response.text();
        this.responseXML = this.responseText ? new DOMParser().parseFromString(this.responseText, "text/xml") : null;
        this.readyState = 4;
        if (this.onreadystatechange) this.onreadystatechange();
      })
      .catch(() => {
        this.status = 0;
        this.readyState = 4;
        if (this.onreadystatechange) this.onreadystatechange();
      });
  }
}
globalThis.XMLHttpRequest = XMLHttpRequest;

const { Strophe, $msg, $pres } = require("strophe.js");
const [url, jid, password, peer] = process.argv.slice(2);
const emit = (event) => console.log(JSON.stringify(event));
setTimeout(() => { emit({ event: "timeout" }); process.exit(3); }, 20000);

const connection = new Strophe.Connection(url);
connection.addHandler((message) => {
  const body = message.getElementsByTagName("body")[0];
  if (body) {
    emit({ event: "message", from: message.getAttribute("from"), body: Strophe.getText(body) });
    connection.disconnect();
    setTimeout(() => process.exit(0), 500);
  }
  return true;
}, null, "message");
connection.connect(jid + "/strophe", password, (status, condition) => {
  emit({ event: "status", status, condition: condition || null });
  if (status === Strophe.Status.CONNECTED) {
    emit({ event: "online", jid: connection.jid });
    connection.send($pres());
    connection.send($msg({ to: peer, type: "chat" }).c("body").t("hello from strophe.js"));
    emit({ event: "sent" });
  } else if (status === Strophe.Status.CONNFAIL || status === Strophe.Status.AUTHFAIL) {
    process.exit(2);
  }
});
