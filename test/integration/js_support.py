"""node and the npm packages of ``test/integration/js`` for the JavaScript client tests.

:func:`node_with_packages` finds node and npm and runs ``npm install`` in
``js/`` (from its package.json and package-lock.json) when a file the test
needs is missing.  Without node, npm or the packages the test is skipped with
the reason, except under ``CI=true``, where that is a failure.  No browser is
ever downloaded: the browser tests drive Debian's chromium.
"""

from __future__ import annotations

import os
import shutil

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

__all__ = ["JS_DIR", "missing", "node_with_packages"]

#: The folder of the JavaScript scripts and their package.json.
JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def missing(reason: str) -> None:
    """Skip the running test with ``reason``, or fail it under ``CI=true``."""
    print(f"skipping: {reason}")
    if os.environ.get("CI", "").lower() == "true":
        raise AssertionError(reason)
    raise unittest.SkipTest(reason)


async def node_with_packages(*needed: str) -> str:
    """The node executable, after ``npm install`` if any ``needed`` path is missing.

    Args:
        needed: paths relative to ``js/`` (e.g. ``node_modules/strophe.js``)
            the test uses.
    """
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        missing("node and npm are needed for the JavaScript client tests")
    if not all(os.path.exists(os.path.join(JS_DIR, path)) for path in needed):
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        _out, err, code = await getProcessOutputAndValue(
            npm, ("install", "--no-audit", "--no-fund"), env=env, path=JS_DIR
        )
        if code != 0:
            missing(f"npm install failed: {err.decode(errors='replace')[-300:]}")
    return node
