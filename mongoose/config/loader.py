"""Read a MongooseIM TOML configuration file into a validated :class:`Config`.

The file is TOML 1.0 (read with :mod:`tomllib`) laid out as described in
"Configuration" of the MongooseIM 6.x documentation.  Every problem found is
collected; :class:`ConfigErrors` carries them all, one line each, e.g.
``listen.c2s[1].tls.mode: "startls" is not one of "tls", "starttls",
"starttls_required"``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

from mongoose.config.root import root_spec
from mongoose.config.schema import ConfigError, ConfigErrors, Options
from mongoose.config.sections.listen import LISTENER_KINDS
from mongoose.extensions import ExtensionRegistry

__all__ = ["Config", "ConfigError", "ConfigErrors", "load_config", "parse_config"]

_KIND_ALIASES = {"component": "service"}


@dataclass(frozen=True)
class Config:
    """A validated configuration.

    Per-domain settings (``modules_for``, ``auth_for``, ``acl_for`` ...)
    take a static host, a host type, or (once the node supplied the lookup
    with :meth:`with_dynamic_domains`) a dynamic domain, and resolve it with
    :meth:`host_type_of`: a static host is its own host type, a dynamic
    domain has the host type it was added with.  The ``[[host_config]]``
    entry of that host type applies, else the top-level options.

    Attributes:
        options: the whole parsed option tree (``options.general.hosts`` ...).
        source: the file it was read from, or ``"<string>"``.
        dynamic_host_type: ``domain -> host type or None`` for dynamic
            domains (the node's domain table), or None when only static
            hosts and host types are known.
    """

    options: Options
    source: str = "<string>"
    dynamic_host_type: Callable[[str], str | None] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    @property
    def hosts(self) -> tuple[str, ...]:
        """The statically configured XMPP domains (``general.hosts``)."""
        return tuple(self.options["general"]["hosts"])

    @property
    def host_types(self) -> tuple[str, ...]:
        """The host types of dynamic domains (``general.host_types``)."""
        return tuple(self.options["general"]["host_types"])

    def with_dynamic_domains(self, lookup: Callable[[str], str | None]) -> Config:
        """This configuration, resolving dynamic domains through ``lookup``.

        Args:
            lookup: ``domain -> host type`` of a dynamic domain, or None when
                the domain is not one (the node's domain table answers).
        """
        return dataclasses.replace(self, dynamic_host_type=lookup)

    def host_type_of(self, domain: str) -> str | None:
        """The host type whose settings apply to ``domain``, or None when unknown.

        A static host (``general.hosts``) and a host type are their own host
        type; a dynamic domain has the one it was added with, provided it is
        still in ``general.host_types``.
        """
        if domain in self.hosts or domain in self.host_types:
            return domain
        if self.dynamic_host_type is None:
            return None
        host_type = self.dynamic_host_type(domain)
        return host_type if host_type in self.host_types else None

    def _entry(self, host: str) -> Options | None:
        host_type = self.host_type_of(host)
        if host_type is None:
            raise KeyError(f"{host!r} is not a configured host, host type or dynamic domain")
        for entry in self.options["host_config"]:
            if entry.get("host", entry.get("host_type")) == host_type:
                return entry
        return None

    def _replaced(self, host: str, key: str) -> Options:
        entry = self._entry(host)
        if entry is not None and key in entry:
            return entry[key]
        return self.options[key]

    def modules_for(self, host: str) -> Options:
        """Module name -> options of the modules started on ``host``.

        ``host_config.modules`` replaces ``[modules]`` for its host.

        Args:
            host: a static host, a host type or a dynamic domain (see :meth:`host_type_of`).

        Raises:
            KeyError: ``host`` is none of these.
        """
        return self._replaced(host, "modules")

    def auth_for(self, host: str) -> Options:
        """The ``[auth]`` options of ``host`` (``host_config.auth`` replaces them).

        Args:
            host: a static host, a host type or a dynamic domain (see :meth:`host_type_of`).

        Raises:
            KeyError: ``host`` is none of these.
        """
        return self._replaced(host, "auth")

    def s2s_for(self, host: str) -> Options:
        """The ``[s2s]`` options of ``host`` (``host_config.s2s`` replaces them).

        Raises:
            KeyError: ``host`` is not configured.
        """
        return self._replaced(host, "s2s")

    def general_for(self, host: str) -> Options:
        """``[general]`` with the overrides of ``host_config.general`` applied.

        Raises:
            KeyError: ``host`` is not configured.
        """
        entry = self._entry(host)
        general = self.options["general"]
        if entry is None or "general" not in entry:
            return general
        return general.replace(**entry["general"])

    def acl_for(self, host: str) -> Options:
        """Access classes of ``host``: ``[acl]`` joined with ``host_config.acl``.

        A class defined in both places matches the patterns of both.

        Raises:
            KeyError: ``host`` is not configured.
        """
        entry = self._entry(host)
        merged = dict(self.options["acl"])
        if entry is not None:
            for name, patterns in entry.get("acl", {}).items():
                merged[name] = merged.get(name, ()) + patterns
        return Options(merged)

    def access_for(self, host: str) -> Options:
        """Access rules of ``host``: ``[access]`` merged with ``host_config.access``.

        The host's clauses follow the top-level ones; when the top-level rule
        ends with ``{acl = "all", value = "allow"}`` they go before that
        catch-all clause (as MongooseIM does).

        Raises:
            KeyError: ``host`` is not configured.
        """
        entry = self._entry(host)
        merged = dict(self.options["access"])
        if entry is not None:
            for name, clauses in entry.get("access", {}).items():
                top = merged.get(name, ())
                if top and top[-1]["acl"] == "all" and top[-1]["value"] == "allow":
                    merged[name] = top[:-1] + clauses + top[-1:]
                else:
                    merged[name] = top + clauses
        return Options(merged)

    def pools_for(self, host: str) -> Options:
        """Pool type -> tag -> options for ``host``: global pools, then host ones.

        Raises:
            KeyError: ``host`` is not configured.
        """
        entry = self._entry(host)
        merged = {kind: dict(pools) for kind, pools in self.options["outgoing_pools"].items()}
        if entry is not None:
            for kind, pools in entry.get("outgoing_pools", {}).items():
                merged[kind].update(pools)
        return Options({kind: Options(pools) for kind, pools in merged.items()})

    def rdbms_pool(self) -> Options | None:
        """The global ``outgoing_pools.rdbms.default`` pool, or None when absent."""
        pool = self.options["outgoing_pools"]["rdbms"].get("default")
        if pool is None or pool["scope"] != "global":
            return None
        return pool

    def listeners(self, kind: str) -> tuple[Options, ...]:
        """The listeners of one kind, in file order.

        Args:
            kind: ``c2s``, ``s2s``, ``service`` (or ``component``) or ``http``.

        Raises:
            ValueError: unknown kind.
        """
        kind = _KIND_ALIASES.get(kind, kind)
        if kind not in LISTENER_KINDS:
            raise ValueError(f"unknown listener kind {kind!r}")
        return tuple(self.options["listen"][kind])


_POSITION = re.compile(r"^(?P<reason>.*?)\s*\(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def _syntax_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> ConfigError:
    message = str(exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    reason = getattr(exc, "msg", None)
    match = _POSITION.match(message)
    if match:
        reason = match["reason"]
        line, column = int(match["line"]), int(match["col"])
    elif message.endswith("(at end of document)"):
        reason = message[: -len("(at end of document)")].rstrip()
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    if line is None or column is None:
        return ConfigError("", f"{source}: TOML syntax error: {message}")
    return ConfigError("", f"{source}: TOML syntax error at line {line}, column {column}: {reason}")


def parse_config(
    text: str, extensions: ExtensionRegistry | None = None, source: str = "<string>"
) -> Config:
    """Parse and validate configuration text.

    Args:
        text: the TOML document.
        extensions: where modules, services and HTTP handlers are looked up;
            None: the built-in ones and the installed entry points.
        source: name of the text in messages (a file path).

    Returns:
        The validated configuration.

    Raises:
        ConfigErrors: the text is not TOML, or breaks the schema; every
            problem found is listed.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigErrors([_syntax_error(exc, text, source)]) from None
    if extensions is None:
        extensions = ExtensionRegistry()
    errors: list[ConfigError] = []
    try:
        options = root_spec(extensions).parse(raw, "", errors)
    except Exception as exc:  # never show a traceback for a bad file
        raise ConfigErrors(
            [
                ConfigError(
                    "",
                    f"{source}: checking the configuration failed: {exc.__class__.__name__}: {exc}",
                )
            ]
        ) from exc
    if errors:
        raise ConfigErrors(errors)
    return Config(options=options, source=source)


def load_config(path: str, extensions: ExtensionRegistry | None = None) -> Config:
    """Read and validate a configuration file.

    Args:
        path: the TOML file.
        extensions: as for :func:`parse_config`.

    Returns:
        The validated configuration.

    Raises:
        ConfigErrors: the file cannot be read, is not TOML or breaks the schema.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigErrors(
            [ConfigError("", f"{path}: cannot read the configuration file: {reason}")]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigErrors(
            [ConfigError("", f"{path}: not UTF-8 text (byte {exc.start})")]
        ) from None
    return parse_config(text, extensions, source=path)
