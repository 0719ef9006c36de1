"""The client's address, as far as it can be trusted (settings.TRUSTED_PROXIES).

`X-Forwarded-For` is written by whoever sends the request, so it counts only when the socket's peer is a
proxy we run. Such a proxy appends the address it saw to the header; walking the header from right to left
past our own proxies, the first address that is not one of them is the client. Anything to the left of that
was written by the client itself and is ignored. With no trusted proxies (the default) the socket's address
is the client, whatever the header says.

ClientAddressMiddleware (first in MIDDLEWARE) puts the result in REMOTE_ADDR, so that DRF's throttles
(NUM_PROXIES = 0: they key on REMOTE_ADDR only), the audit trail and /metrics' allow-list all use it.
The socket's own peer stays in META["PEER_ADDR"].

The web server must not rewrite the peer from X-Forwarded-For itself: run uvicorn with --no-proxy-headers.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _parse(value: str) -> tuple[Network, ...]:
    networks = []
    for item in value.split(","):
        if item.strip():
            # A bare address is a /32 (or /128) network; strict=False accepts "10.0.0.1/8" as 10.0.0.0/8.
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
    return tuple(networks)


def parse_networks(value: str | list | tuple | None) -> tuple[Network, ...]:
    """'10.0.0.0/8, 127.0.0.1' (or a list of such items) -> networks. A bad item raises ValueError."""
    if not value:
        return ()
    if not isinstance(value, str):
        value = ",".join(value)
    return _parse(value)


def parse_address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: '203.0.113.9', '203.0.113.9:5555', '2001:db8::7' or '[2001:db8::7]:443'."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:  # ::ffff:10.0.0.1 is 10.0.0.1
        return address.ipv4_mapped
    return address


def is_in(address, networks: tuple[Network, ...]) -> bool:
    if isinstance(address, str):
        address = parse_address(address)
    return address is not None and any(address in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str | None:
    """The client's address: the peer, unless the peer is a trusted proxy (then see the module's docstring)."""
    client = parse_address(peer)
    if client is None or not forwarded_for or not is_in(client, trusted):
        return peer
    for entry in reversed(forwarded_for.split(",")):
        hop = parse_address(entry)
        if hop is None:  # not written by a proxy of ours: the nearest hop we know of is the client
            break
        client = hop
        if not is_in(hop, trusted):
            break
    return str(client)


def trusted_proxies() -> tuple[Network, ...]:
    return parse_networks(settings.TRUSTED_PROXIES)


class ClientAddressMiddleware:
    """Sets REMOTE_ADDR to the client's address (see the module's docstring); the peer stays in PEER_ADDR."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        peer = meta.get("REMOTE_ADDR")
        meta["PEER_ADDR"] = peer
        meta["REMOTE_ADDR"] = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR"), trusted_proxies())
        return self.get_response(request)


def of(request) -> str:
    """The client's address of a Django or DRF request ('unknown' if the server gave none)."""
    return getattr(request, "META", {}).get("REMOTE_ADDR") or "unknown"


def address_key(address: str) -> str:
    """The address as limits count it: an IPv6 address by its /64 (one host is given a whole /64), an IPv4
    one (or a mapped one) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address
