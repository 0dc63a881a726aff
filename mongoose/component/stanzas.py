"""Stanza namespaces and sender checks on component streams (XEP-0114).

Inside the server every stanza is in the ``jabber:client`` namespace, as on
client streams; on a component stream stanzas are in
``jabber:component:accept`` (XEP-0114 section 3).  :func:`from_component`
and :func:`to_component` move a stanza between the two, including its
children in the stanza namespace (``<body/>``, ``<subject/>``,
``<error/>`` ...); payloads in other namespaces are left alone.

:func:`owns` implements ``check_from``: a component may only send from its
own domains or their subdomains.
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted.words.xish.domish import Element

from mongoose.xmpp.namespaces import NS_CLIENT, NS_COMPONENT_ACCEPT, NS_SERVER

__all__ = ["STANZA_NAMES", "from_component", "owns", "to_component"]

#: The first-level elements a component may send once authenticated.
STANZA_NAMES = frozenset({"message", "presence", "iq"})

_INTERNAL = frozenset({NS_CLIENT, NS_SERVER, None, ""})


def _rename_in_place(el: Element, old: frozenset, new: str) -> None:
    if el.uri in old:
        el.uri = new
    if el.defaultUri in old:
        el.defaultUri = new
    for child in el.children:
        if isinstance(child, Element):
            _rename_in_place(child, old, new)


def from_component(stanza: Element) -> Element:
    """Move a stanza read from a component stream into ``jabber:client``, in place.

    Args:
        stanza: a first-level element parsed from the component stream.

    Returns:
        The same element, renamed.
    """
    _rename_in_place(stanza, frozenset({NS_COMPONENT_ACCEPT}), NS_CLIENT)
    return stanza


def _copy_renamed(el: Element, top: bool) -> Element:
    uri = el.uri
    if top or uri in (NS_CLIENT, NS_SERVER):
        uri = NS_COMPONENT_ACCEPT
    default = el.defaultUri
    if (top and default in _INTERNAL) or default in (NS_CLIENT, NS_SERVER):
        default = NS_COMPONENT_ACCEPT
    new = Element((uri, el.name), default, dict(el.attributes), dict(el.localPrefixes))
    new.defaultUri = default
    for child in el.children:
        if isinstance(child, Element):
            copied = _copy_renamed(child, False)
            copied.parent = new
            new.children.append(copied)
        else:
            new.children.append(child)
    return new


def to_component(stanza: Element) -> Element:
    """A copy of an internal stanza in ``jabber:component:accept``, ready to write.

    The original is not changed: the router may hand the same element to
    other recipients.

    Args:
        stanza: a stanza in ``jabber:client`` (or ``jabber:server``).

    Returns:
        The renamed copy.
    """
    return _copy_renamed(stanza, True)


def owns(domains: Iterable[str], host: str) -> bool:
    """Tell whether ``host`` is one of ``domains`` or a subdomain of one.

    Args:
        domains: the domains a component registered.
        host: the domainpart of a 'from' address.

    Returns:
        True when a component with ``domains`` may send from ``host``.
    """
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return True
    return False
