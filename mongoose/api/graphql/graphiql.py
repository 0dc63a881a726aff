"""GraphiQL in the browser, from the packaged ``graphene-django-graphiql-static`` files.

That package (no dependencies; Django is not needed to read its files)
ships GraphiQL and the React UMD builds as package data.  The endpoint
serves them under ``<endpoint>/graphiql/<file>`` (read once per process,
with a content type, an ETag and cache headers) and, to a browser that GETs
the endpoint itself, a small page of our own that boots GraphiQL against
the endpoint.  Nothing is loaded from the network.

On an endpoint that needs credentials, the page itself is only served to a
request with valid HTTP Basic credentials (otherwise: 401 with a
``WWW-Authenticate`` challenge and :func:`login_page`), so the browser asks
for them once; the page then posts queries to the endpoint with the
browser's credentials (``credentials: "same-origin"``), which the browser
sends again for the same protection space.
Subscriptions (``stanza.subscribeForMessages``, ``subscribeForTraffic``) are read as a Server-Sent
Events stream and shown event by event.
"""

from __future__ import annotations

import functools
import hashlib
import html
import importlib.resources
import json
from dataclasses import dataclass

__all__ = [
    "ASSET_DIR", "ASSETS", "Asset", "AssetsMissing", "asset", "login_page", "page", "wants_page",
]

#: The URL segment the asset files are served under, below the endpoint.
ASSET_DIR = "graphiql"

_PACKAGE = "graphene_django_graphiql_static"
_PACKAGE_DIR = ("static", "graphene_django_graphiql_static")

#: Served file name -> content type; only these files are served.
ASSETS = {
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
}

#: ``Cache-Control`` of the asset files: they change only with the package.
CACHE_CONTROL = b"public, max-age=86400"


class AssetsMissing(Exception):
    """The GraphiQL package is not installed (or lacks a file)."""


@dataclass(frozen=True)
class Asset:
    """One served file.

    Attributes:
        body: the file's bytes.
        content_type: its ``Content-Type``.
        etag: a strong ETag (quoted) derived from the content.
    """

    body: bytes
    content_type: str
    etag: str


@functools.cache
def _read(name: str) -> Asset:
    try:
        folder = importlib.resources.files(_PACKAGE).joinpath(*_PACKAGE_DIR)
        body = folder.joinpath(name).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise AssetsMissing(
            f"GraphiQL file {name} is not available: install the Python package "
            f"graphene-django-graphiql-static ({exc.__class__.__name__})") from None
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Asset(body, ASSETS[name], f'"{digest}"')


def asset(name: str) -> Asset | None:
    """The asset called ``name`` (read from the package once), or None if not served.

    Raises:
        AssetsMissing: the package is not installed.
    """
    if name not in ASSETS:
        return None
    return _read(name)


def wants_page(accept: bytes | None) -> bool:
    """Whether a GET without a query should get the page rather than a JSON error.

    Browsers ask for ``text/html``; a client that asks only for JSON gets
    JSON.  No ``Accept`` header (or ``*/*``) gets the page.
    """
    if not accept:
        return True
    text = accept.decode("latin-1").lower()
    if "text/html" in text:
        return True
    return not ("application/json" in text or "application/graphql-response+json" in text)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mongoose GraphiQL ({endpoint})</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/graphiql.min.css">
<style>
html, body {{ height: 100%; margin: 0; }}
#mongoose-graphiql {{ height: 100vh; }}
#mongoose-graphiql-failed {{ font-family: sans-serif; padding: 1em; }}
</style>
</head>
<body>
<div id="mongoose-graphiql"><p id="mongoose-graphiql-failed">Loading GraphiQL&hellip;
(it needs JavaScript)</p></div>
<script src="{assets}/react.production.min.js"></script>
<script src="{assets}/react-dom.production.min.js"></script>
<script src="{assets}/graphiql.min.js"></script>
<script>
(function () {{
  "use strict";
  var settings = {settings};
  var target = window.location.pathname.replace(/\\/+$/, "") || "/";

  function request(params, accept) {{
    return fetch(target, {{
      method: "POST",
      credentials: "same-origin",
      headers: {{"Content-Type": "application/json", "Accept": accept}},
      body: JSON.stringify(params)
    }});
  }}

  function isSubscription(params) {{
    var text = params.query || "";
    var name = params.operationName;
    var pattern = /(^|[}}\\s])(query|mutation|subscription)(\\s+([_A-Za-z][_0-9A-Za-z]*))?/g;
    var found = null, match;
    while ((match = pattern.exec(text)) !== null) {{
      if (!name || match[4] === name) {{ found = match[2]; break; }}
    }}
    return found === "subscription";
  }}

  async function* events(params) {{
    var response = await request(params, "text/event-stream");
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("text/event-stream") !== 0) {{
      yield await response.json();
      return;
    }}
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffered = "";
    for (;;) {{
      var chunk = await reader.read();
      if (chunk.done) return;
      buffered += decoder.decode(chunk.value, {{stream: true}});
      var end;
      while ((end = buffered.indexOf("\\n\\n")) >= 0) {{
        var block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        var kind = "message", data = [];
        block.split("\\n").forEach(function (line) {{
          if (line.indexOf("event:") === 0) kind = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
        }});
        if (kind === "complete") return;
        if (kind === "next" && data.length) yield JSON.parse(data.join("\\n"));
      }}
    }}
  }}

  function fetcher(params) {{
    if (isSubscription(params)) return events(params);
    return request(params, "application/json").then(function (response) {{
      return response.json();
    }});
  }}

  var root = document.getElementById("mongoose-graphiql");
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {{
    document.getElementById("mongoose-graphiql-failed").textContent =
      "GraphiQL could not be loaded from " + settings.assets + "/.";
    return;
  }}
  ReactDOM.render(React.createElement(GraphiQL, {{
    fetcher: fetcher,
    defaultQuery: settings.defaultQuery,
    defaultEditorToolsVisibility: false
  }}), root);
}})();
</script>
</body>
</html>
"""

_DEFAULT_QUERY = """# mongoose GraphQL, {endpoint} endpoint.
# Press the run button (or Ctrl-Enter) to send a query; the docs button
# lists every category and command.

query {{
  checkAuth {{
    authStatus
  }}
}}
"""


def page(endpoint: str, path: str = "") -> bytes:
    """The GraphiQL page of an endpoint.

    Args:
        endpoint: ``admin``, ``domain_admin`` or ``user`` (shown in the title).
        path: the URL path the endpoint is served at (``/api/graphql``); the
            assets are loaded from ``<path>/graphiql/``.
    """
    safe = "".join(c for c in endpoint if c.isalnum() or c == "_")
    base = "/" + "/".join(part for part in path.split("/") if part)
    assets = (base.rstrip("/") + "/" + ASSET_DIR)
    settings = {"assets": assets, "defaultQuery": _DEFAULT_QUERY.format(endpoint=safe)}
    # JSON inside <script>: escape "<" so no text can close the element.
    script_settings = json.dumps(settings).replace("<", "\\u003c")
    return _PAGE.format(
        endpoint=safe,
        assets=html.escape(assets, quote=True),
        settings=script_settings,
    ).encode("utf-8")


_LOGIN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>mongoose GraphiQL ({endpoint}): log in</title></head>
<body style="font-family: sans-serif">
<h1>Log in to use GraphiQL</h1>
<p>The {endpoint} GraphQL endpoint needs HTTP Basic credentials: {who}.
Reload the page to be asked again.</p>
</body></html>
"""

_WHO = {
    "admin": "the handler's <code>username</code> and <code>password</code>",
    "domain_admin": "<code>admin@DOMAIN</code> and the domain's admin password",
    "user": "your bare JID (<code>alice@example.com</code>) and password",
}


def login_page(endpoint: str) -> bytes:
    """The body of the 401 answer to a browser without (valid) credentials."""
    safe = "".join(c for c in endpoint if c.isalnum() or c == "_")
    return _LOGIN.format(endpoint=safe, who=_WHO.get(safe, "valid credentials")).encode()
