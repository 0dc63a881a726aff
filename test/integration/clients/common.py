"""Shared command line and set-up for the slixmpp client scripts.

Each script prints one JSON object per line on stdout (``{"event": ...}``)
so the test reading it can follow what the client saw; it exits 0 when its
scenario completed and 1 (with an ``error`` event) otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import slixmpp

__all__ = ["add_connection_options", "emit", "make_client", "run"]


def emit(event: str, **fields: Any) -> None:
    """Print one JSON event line and flush it."""
    print(json.dumps({"event": event, **fields}), flush=True)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Options every script takes: where the server is and how to trust it."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", help="CA certificate that signed the server's certificate")
    parser.add_argument("--mech", default="SCRAM-SHA-256", help="the only SASL mechanism to use")
    parser.add_argument("--timeout", type=float, default=20.0)


def make_client(jid: str, password: str, options: argparse.Namespace) -> slixmpp.ClientXMPP:
    """A ClientXMPP doing STARTTLS and the one mechanism asked for."""
    client = slixmpp.ClientXMPP(jid, password, sasl_mech=options.mech)
    client.enable_starttls = True
    client.enable_direct_tls = False
    client.enable_plaintext = False
    if options.ca:
        client.ca_certs = options.ca
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0199")
    client.add_event_handler("failed_auth", lambda *_: emit("failed_auth"))
    return client


def tls_version(client: slixmpp.ClientXMPP) -> str | None:
    """The TLS version of the client's connection, or None."""
    socket = getattr(client, "socket", None)
    version = getattr(socket, "version", None)
    return version() if callable(version) else None


def run(main: Any) -> None:
    """Run ``main()`` (a coroutine function) and exit 0 on success, 1 on failure."""
    try:
        asyncio.run(main())
    except Exception as error:  # reported to the test, which shows it
        emit("error", message=f"{error.__class__.__name__}: {error}")
        sys.exit(1)
