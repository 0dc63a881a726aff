"""Server-to-server federation (RFC 6120 streams, XEP-0220 dialback).

``[[listen.s2s]]`` accepts incoming server streams (:mod:`.listener`,
:mod:`.incoming`); :class:`.manager.S2SManager` opens outgoing ones
(:mod:`.outgoing`, :mod:`.resolver`) and is the router's ``remote`` route.
"""

__all__: list[str] = []
