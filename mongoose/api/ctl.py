"""``mongooseimctl``: run registry commands on a running node from the shell.

``mongooseimctl [-c CONFIG] <category> <command> --arg value ...``

The tool reads the node's MongooseIM TOML config only to find the admin REST
API (the first ``[[listen.http]]`` with a ``mongoose_admin_api`` handler),
fetches the command signatures from ``GET <api>/commands`` and builds its
argparse sub-commands from them, so a command registered on the node is
available here with no code in this module.  Commands run through
``POST <api>/commands/<category>/<command>?source=cli``: the node parses the
text values with the command's types, the same path every front end uses.

Legacy flat calls such as ``mongooseimctl change_password alice localhost pw``
(the ``service_admin_extra`` names MongooseIM users script) take the
command's arguments as positional values in their declared order.

Only the standard library is used (no reactor), so the tool starts quickly.
Exit statuses come from the error table in :mod:`mongoose.commands.errors`.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import os
import ssl
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

from mongoose.commands.errors import ERRORS, error_kind

__all__ = [
    "main",
    "Endpoint",
    "CtlError",
    "find_config",
    "admin_endpoint",
    "AdminClient",
    "build_parser",
    "build_legacy_parser",
    "DEFAULT_CONFIGS",
    "CONFIG_ENV",
]

#: Config files tried in order when neither -c nor MONGOOSEIM_CONFIG is given.
DEFAULT_CONFIGS = ("etc/mongooseim.toml", "/etc/mongooseim/mongooseim.toml")
CONFIG_ENV = "MONGOOSEIM_CONFIG"
HANDLER = "mongoose_admin_api"
#: Seconds to wait for the node to answer one request.
TIMEOUT = 60.0

_GENERIC_FAILURE = 1
_USAGE = ERRORS["bad_request"].exit_status
_UNREACHABLE = ERRORS["unavailable"].exit_status


class CtlError(Exception):
    """A failure reported as one line on standard error.

    Args:
        message: the line (without the program name).
        status: the process exit status.
    """

    def __init__(self, message: str, status: int = _GENERIC_FAILURE,
                 http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.http_status = http_status


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach a node's admin REST API.

    Attributes:
        node_url: scheme, address and port, e.g. ``http://127.0.0.1:8088``.
        api_path: the handler's path, e.g. ``/api``.
        host_header: the Host header to send (the handler's ``host``), or None.
        username: Basic auth user name, or None.
        password: Basic auth password, or None.
        verify_tls: verify the server certificate (off only for loopback).
    """

    node_url: str
    api_path: str = "/api"
    host_header: str | None = None
    username: str | None = None
    password: str | None = None
    verify_tls: bool = True

    @property
    def api_url(self) -> str:
        """The API root URL without a trailing slash."""
        return self.node_url + self.api_path.rstrip("/")


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    """Choose the config file: ``-c``, then ``$MONGOOSEIM_CONFIG``, then the defaults.

    Raises:
        CtlError: no file is found.
    """
    environ = os.environ if environ is None else environ
    chosen = explicit or environ.get(CONFIG_ENV)
    if chosen:
        if not os.path.isfile(chosen):
            raise CtlError(f"config file {chosen} not found")
        return chosen
    for candidate in DEFAULT_CONFIGS:
        if os.path.isfile(candidate):
            return candidate
    tried = " or ".join(DEFAULT_CONFIGS)
    raise CtlError(f"no config file found ({tried}); use -c CONFIG or set {CONFIG_ENV}")


def _connect_address(ip: str) -> tuple[str, bool]:
    """Address to connect to for a listener's ``ip_address``, and whether it is loopback."""
    if ip in ("", "0", "0.0.0.0"):
        ip = "127.0.0.1"
    elif ip in ("::", "0:0:0:0:0:0:0:0"):
        ip = "::1"
    try:
        loopback = ipaddress.ip_address(ip).is_loopback
    except ValueError:
        loopback = ip == "localhost"
    return ip, loopback


def admin_endpoint(config_path: str) -> Endpoint:
    """Find the admin REST API in a MongooseIM TOML config file.

    Raises:
        CtlError: the file cannot be read or has no admin API listener.
    """
    try:
        with open(config_path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise CtlError(f"cannot read {config_path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CtlError(f"cannot parse {config_path}: {exc}") from None
    listeners = (document.get("listen") or {}).get("http") or []
    for listener in listeners if isinstance(listeners, list) else []:
        handlers = (listener.get("handlers") or {}).get(HANDLER) if isinstance(
            listener, dict) else None
        if not handlers:
            continue
        handler = handlers[0] if isinstance(handlers, list) else handlers
        port = listener.get("port")
        if not isinstance(port, int):
            raise CtlError(f"{config_path}: the {HANDLER} listener has no port")
        address, loopback = _connect_address(str(listener.get("ip_address", "0")))
        scheme = "https" if listener.get("tls") else "http"
        host = f"[{address}]" if ":" in address else address
        vhost = handler.get("host", "_")
        return Endpoint(
            node_url=f"{scheme}://{host}:{port}",
            api_path="/" + str(handler.get("path", "/api")).strip("/"),
            host_header=None if vhost in ("_", "", None) else f"{vhost}:{port}",
            username=handler.get("username"),
            password=handler.get("password"),
            verify_tls=not loopback,
        )
    raise CtlError(f"no [[listen.http]] with a {HANDLER} handler in {config_path}")


class AdminClient:
    """A small blocking client of the admin REST API.

    Args:
        endpoint: where the API is.
        timeout: seconds to wait for each answer.
    """

    def __init__(self, endpoint: Endpoint, timeout: float = TIMEOUT):
        self.endpoint = endpoint
        self.timeout = timeout

    def list_commands(self) -> list[dict[str, Any]]:
        """The signatures of every command (``GET /commands``)."""
        try:
            data = self._request("GET", "/commands")
        except CtlError as exc:
            if exc.http_status == 404:
                raise CtlError(
                    f"{self.endpoint.api_url} does not serve /commands; add \"commands\" to "
                    "the handlers option of the mongoose_admin_api handler", exc.status) from None
            raise
        if not isinstance(data, list):
            raise CtlError(f"unexpected answer from {self.endpoint.api_url}/commands")
        return data

    def execute(self, category: str, name: str, args: Mapping[str, Any]) -> Any:
        """Run a command with command line text values; return its JSON result."""
        path = "/commands/{}/{}?source=cli".format(
            urllib.parse.quote(category, safe=""), urllib.parse.quote(name, safe=""))
        return self._request("POST", path, dict(args))

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        endpoint = self.endpoint
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if endpoint.username is not None:
            token = f"{endpoint.username}:{endpoint.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
        if endpoint.host_header:
            headers["Host"] = endpoint.host_header
        request = urllib.request.Request(
            endpoint.api_url + path, data=data, headers=headers, method=method)
        context = None
        if endpoint.node_url.startswith("https:") and not endpoint.verify_tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=context) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except urllib.error.URLError as exc:
            raise CtlError(self._unreachable(exc.reason), _UNREACHABLE) from None
        except TimeoutError:
            raise CtlError(
                f"the node at {endpoint.node_url} did not answer within {self.timeout:g} s",
                _UNREACHABLE) from None
        except (ConnectionError, OSError) as exc:
            raise CtlError(self._unreachable(exc), _UNREACHABLE) from None
        if not payload.strip():
            return None
        try:
            return json.loads(payload.decode("utf-8"))
        except ValueError:
            raise CtlError(f"the node sent an answer that is not JSON ({len(payload)} bytes)")\
                from None

    def _unreachable(self, reason: Any) -> str:
        if isinstance(reason, ConnectionRefusedError):
            why = "connection refused"
        elif isinstance(reason, TimeoutError):
            why = "timed out"
        elif isinstance(reason, ssl.SSLError):
            why = f"TLS failed ({reason.reason or reason})"
        elif isinstance(reason, OSError):
            why = reason.strerror or str(reason)
        else:
            why = str(reason)
        return f"cannot reach the node at {self.endpoint.node_url}: {why}"

    def _http_error(self, exc: urllib.error.HTTPError) -> CtlError:
        try:
            raw = exc.read()
        except OSError:
            raw = b""
        code = message = None
        try:
            decoded = json.loads(raw.decode("utf-8"))
            if isinstance(decoded, dict):
                code, message = decoded.get("error"), decoded.get("message")
        except ValueError:
            pass
        if exc.code == 401:
            return CtlError(
                f"the node refused the credentials: {message or 'unauthorized'} "
                "(check username and password of the mongoose_admin_api handler)",
                ERRORS["unauthorized"].exit_status)
        if isinstance(code, str) and isinstance(message, str):
            return CtlError(message, error_kind(code).exit_status, exc.code)
        text = raw.decode("utf-8", "replace").strip().splitlines()
        detail = text[0][:200] if text else exc.reason
        return CtlError(f"HTTP {exc.code} from the node: {detail}", http_status=exc.code)


# -- argparse from signatures ------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """ArgumentParser that never abbreviates options and writes to the given streams."""

    def __init__(self, *args: Any, out: TextIO | None = None, err: TextIO | None = None,
                 **kwargs: Any):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._out = out
        self._err = err

    def add_subparsers(self, **kwargs: Any):
        """Sub-parsers share this parser's streams."""
        kwargs.setdefault("parser_class", partial(_Parser, out=self._out, err=self._err))
        return super().add_subparsers(**kwargs)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            target = self._err if file is sys.stderr else self._out
            (target or file or sys.stderr).write(message)


def _kebab(name: str) -> str:
    out = []
    for char in name:
        if char.isupper():
            out.append("-" + char.lower())
        else:
            out.append(char)
    return "".join(out).replace("_", "-")


def _arg_help(arg: Mapping[str, Any]) -> str:
    parts = [arg.get("description") or ""]
    label = arg.get("label") or arg.get("type", {}).get("type", "")
    parts.append(f"[{label}]")
    if not arg.get("required", True):
        parts.append(f"(default: {json.dumps(arg.get('default'))})")
    if arg.get("example") is not None:
        example = arg["example"]
        parts.append(f"e.g. {example if isinstance(example, str) else json.dumps(example)}")
    if arg.get("type", {}).get("type") == "list":
        parts.append("repeat the option or give a JSON array")
    return " ".join(p for p in parts if p).replace("%", "%%")


def _command_list(signatures: Sequence[Mapping[str, Any]], category: str) -> str:
    rows = [(s["name"], s.get("description", "")) for s in signatures
            if s.get("category") == category]
    width = max((len(name) for name, _ in rows), default=0)
    lines = [f"Commands in {category}:"]
    lines += [f"  {name.ljust(width)}  {desc}" for name, desc in rows]
    lines.append(f"\nRun 'mongooseimctl {category} <command> --help' for the arguments.")
    return "\n".join(lines)


def build_parser(
    signatures: Sequence[Mapping[str, Any]],
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> argparse.ArgumentParser:
    """The full argparse parser for the commands the node offers.

    Args:
        signatures: what ``GET /commands`` returned.
        out: where help goes (default standard output).
        err: where usage errors go (default standard error).
    """
    parser = _Parser(
        out=out, err=err,
        prog="mongooseimctl",
        description="Run a command on a running mongooseim node through its admin REST API.",
    )
    parser.add_argument("-c", "--config", metavar="CONFIG",
                        help=f"the node's mongooseim.toml (default: ${CONFIG_ENV}, then "
                        + ", then ".join(DEFAULT_CONFIGS) + ")")
    categories = parser.add_subparsers(dest="category", metavar="<category>")
    by_category: dict[str, list[Mapping[str, Any]]] = {}
    for signature in signatures:
        by_category.setdefault(signature["category"], []).append(signature)
    for category in sorted(by_category):
        commands = sorted(by_category[category], key=lambda s: s["name"])
        cat_parser = categories.add_parser(
            category, help=f"{len(commands)} command(s)",
            description=f"Commands in the {category} category.")
        subs = cat_parser.add_subparsers(dest="command", metavar="<command>")
        for signature in commands:
            cmd_parser = subs.add_parser(
                signature["name"], help=signature.get("description", ""),
                description=signature.get("description", ""))
            for arg in signature.get("args", []):
                names = [f"--{arg['name']}"]
                if _kebab(arg["name"]) != arg["name"]:
                    names.append(f"--{_kebab(arg['name'])}")
                is_list = arg.get("type", {}).get("type") == "list"
                cmd_parser.add_argument(
                    *names, dest=f"arg:{arg['name']}", required=bool(arg.get("required")),
                    action="append" if is_list else "store", metavar="VALUE",
                    help=_arg_help(arg))
    return parser


# -- legacy flat names ----------------------------------------------------------

def _first_word(args: Sequence[str]) -> int | None:
    """Index of the first argument that is not ``-c CONFIG``, or None if an option comes first."""
    index = 0
    while index < len(args):
        token = args[index]
        if token in ("-c", "--config"):
            index += 2
            continue
        if token.startswith("--config=") or (token.startswith("-c") and token != "-c"
                                             and not token.startswith("--")):
            index += 1
            continue
        return None if token.startswith("-") else index
    return None


def _legacy_command(args: Sequence[str],
                    signatures: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The signature named by a legacy flat call (``mongooseimctl change_password ...``).

    A legacy call starts with a command name that is not a category and belongs
    to exactly one command, e.g. the ``service_admin_extra`` names.  Commands
    a user runs on their own account (``account unregister``) do not count:
    the legacy ``unregister USER HOST`` is the administrator's.
    """
    index = _first_word(args)
    if index is None:
        return None
    word = args[index]
    found = [s for s in signatures if s.get("name") == word]
    if len(found) > 1:
        found = [s for s in found if s.get("security_policy") != "user"]
    if len(found) != 1:
        return None
    if any(s.get("category") == word for s in signatures):
        # "stats" is a category and a legacy command: legacy only when no
        # command of the category follows (``mongooseimctl stats onlineusers``).
        following = args[index + 1] if index + 1 < len(args) else None
        names = {s.get("name") for s in signatures if s.get("category") == word}
        if following is None or following.startswith("-") or following in names:
            return None
    return found[0]


def build_legacy_parser(signature: Mapping[str, Any], out: TextIO | None = None,
                        err: TextIO | None = None) -> argparse.ArgumentParser:
    """A parser taking the command's arguments as positional values, in order."""
    parser = _Parser(
        out=out, err=err, prog=f"mongooseimctl {signature['name']}",
        description=f"{signature.get('description', '')} (category {signature['category']}; "
        f"also 'mongooseimctl {signature['category']} {signature['name']} --ARG VALUE')",
    )
    parser.add_argument("-c", "--config", metavar="CONFIG", help="the node's mongooseim.toml")
    for arg in signature.get("args", []):
        parser.add_argument(f"arg:{arg['name']}", metavar=arg["name"], help=_arg_help(arg),
                            nargs=None if arg.get("required") else "?")
    return parser


def _run_legacy(client: AdminClient, signature: Mapping[str, Any], args: Sequence[str],
                out: TextIO, err: TextIO) -> tuple[int | None, Any]:
    """Parse a legacy positional call and run it: (exit status on early exit, result)."""
    words = list(args)
    index = _first_word(words)
    assert index is not None
    del words[index]
    parser = build_legacy_parser(signature, out, err)
    try:
        parsed = parser.parse_args(words)
    except SystemExit as exit_:
        return int(exit_.code or 0), None
    values = {key[4:]: value for key, value in vars(parsed).items()
              if key.startswith("arg:") and value is not None}
    return None, client.execute(signature["category"], signature["name"], values)


# -- output -------------------------------------------------------------------

def _print_result(result: Any, out: TextIO) -> None:
    if result is None:
        return
    if isinstance(result, str):
        out.write(result + "\n")
    elif isinstance(result, list) and all(
            isinstance(i, (str, int, float)) and not isinstance(i, bool) for i in result):
        for item in result:
            out.write(f"{item}\n")
    else:
        out.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run ``mongooseimctl``; return the exit status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        stdout: where results go (default ``sys.stdout``).
        stderr: where errors go (default ``sys.stderr``).
        environ: environment for ``MONGOOSEIM_CONFIG`` (default ``os.environ``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    pre = _Parser(add_help=False)
    pre.add_argument("-c", "--config")
    known, _ = pre.parse_known_args(args)
    try:
        endpoint = admin_endpoint(find_config(known.config, environ))
        client = AdminClient(endpoint)
        signatures = client.list_commands()
        legacy = _legacy_command(args, signatures)
        if legacy is not None:
            status, result = _run_legacy(client, legacy, args, out, err)
            if status is not None:
                return status
            _print_result(result, out)
            return 0
        parser = build_parser(signatures, out, err)
        try:
            parsed = parser.parse_args(args)
        except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
            return int(exit_.code or 0)
        if parsed.category is None:
            parser.print_help(out)
            return _USAGE
        if parsed.command is None:
            out.write(_command_list(signatures, parsed.category) + "\n")
            return 0
        values = {
            key[4:]: value for key, value in vars(parsed).items()
            if key.startswith("arg:") and value is not None
        }
        result = client.execute(parsed.category, parsed.command, values)
    except CtlError as exc:
        err.write(f"mongooseimctl: {exc.message}\n")
        return exc.status
    except KeyboardInterrupt:
        err.write("mongooseimctl: interrupted\n")
        return 130
    _print_result(result, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
