"""Who is asking: the client's address, believed from ``X-Forwarded-For`` only when the
peer is a trusted proxy (``PUSHER_TRUSTED_PROXIES``). One rule for every place that counts
or records addresses: login throttling, short-link opens, residents' code requests."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from aiohttp import web

Network = IPv4Network | IPv6Network


def client_address(request: web.Request, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, or what trusted proxies say they forwarded for.

    ``X-Forwarded-For`` is read from the right (the hop nearest to us) while the hops are
    trusted proxies; the first hop that is not one is the client. A malformed hop ends
    the walk at the last good address.
    """
    address = request.remote or "?"
    if not _in(address, trusted):
        return address
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _parses(hop):
            return address
        address = hop
        if not _in(hop, trusted):
            return hop
    return address


def _in(raw: str, trusted: Sequence[Network]) -> bool:
    if not _parses(raw):
        return False
    address = ip_address(raw)
    return any(address in net for net in trusted)


def _parses(raw: str) -> bool:
    try:
        ip_address(raw)
    except ValueError:
        return False
    return True
