"""A minimal, self-contained page for exploring the GraphQL API from a browser.

No GraphiQL distribution is packaged on PyPI outside framework-specific
packages (Django, Graphene), so the endpoint serves this small page instead:
a query editor, a variables box and a "Run" button posting to the same URL
with the browser's credentials, plus the schema's type list (fetched by an
introspection query).  It loads nothing from the network.
"""

from __future__ import annotations

__all__ = ["page"]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mongoose GraphQL ({endpoint})</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
textarea {{ width: 100%; font-family: monospace; }}
pre {{ background: #f4f4f4; padding: .5em; white-space: pre-wrap; }}
</style></head>
<body>
<h1>GraphQL: {endpoint} endpoint</h1>
<label for="query">Query</label>
<textarea id="query" rows="12">{{ checkAuth {{ authStatus }} }}</textarea>
<label for="variables">Variables (JSON)</label>
<textarea id="variables" rows="3">{{}}</textarea>
<p><button id="run" type="button">Run</button></p>
<h2>Result</h2><pre id="result"></pre>
<h2>Types</h2><pre id="types"></pre>
<script>
async function post(query, variables) {{
  const response = await fetch(window.location.pathname, {{
    method: "POST", credentials: "same-origin",
    headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{query: query, variables: variables}})
  }});
  return response.json();
}}
document.getElementById("run").addEventListener("click", async function () {{
  let variables = {{}};
  try {{ variables = JSON.parse(document.getElementById("variables").value || "{{}}"); }}
  catch (e) {{ document.getElementById("result").textContent = "variables: " + e; return; }}
  const data = await post(document.getElementById("query").value, variables);
  document.getElementById("result").textContent = JSON.stringify(data, null, 2);
}});
post("{{ __schema {{ types {{ name kind }} }} }}", {{}}).then(function (data) {{
  if (!data.data) return;
  document.getElementById("types").textContent = data.data.__schema.types
    .filter(function (t) {{ return !t.name.startsWith("__"); }})
    .map(function (t) {{ return t.kind + " " + t.name; }}).join("\\n");
}});
</script>
</body></html>
"""


def page(endpoint: str) -> bytes:
    """The HTML page for an endpoint (``admin``, ``domain_admin`` or ``user``)."""
    safe = "".join(c for c in endpoint if c.isalnum() or c == "_")
    return _PAGE.format(endpoint=safe).encode("utf-8")
