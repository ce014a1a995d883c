"""The private-address guard: webhook and contact URLs may not reach internal networks.

A URL is checked when it is saved (literal addresses and names that resolve inward) and
again before every delivery, because what a name resolves to can change. Redirects are
never followed, so a public URL cannot bounce a delivery inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlparse

from opsknight.errors import ValidationFailed

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


class PrivateAddress(Exception):
    """The URL's host is, or resolves to, an address the guard refuses."""


class Unresolvable(PrivateAddress):
    """The host does not resolve (now): refused for a delivery, allowed when saving."""


def refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
    )


_allow_private = False


def configure(allow_private: bool) -> None:
    """OPSKNIGHT_WEBHOOK_ALLOW_PRIVATE: let deliveries reach loopback and private hosts."""
    global _allow_private
    _allow_private = allow_private


def private_allowed() -> bool:
    return _allow_private


async def check_host(url: str) -> None:
    """Raise PrivateAddress when the URL's host is or resolves to a refused address."""
    host = urlparse(url).hostname
    if not host:
        raise PrivateAddress("the URL has no host")
    port = urlparse(url).port or (443 if url.startswith("https") else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable(f"{host} does not resolve: {exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if refused(address):
            where = "is" if address == host else f"resolves to {address},"
            raise PrivateAddress(f"{host} {where} a private or reserved address")


async def checked_url(url: str, field: str) -> str:
    """For saving a URL: a 400 naming ``field`` when the guard refuses it (unless the
    operator allows private targets)."""
    if _allow_private:
        return url
    try:
        await check_host(url)  # a literal address "resolves" to itself
    except Unresolvable:
        pass  # DNS may not be set up yet; every delivery checks again
    except PrivateAddress as exc:
        raise ValidationFailed(f"{field}: {exc}", field=field, reason="private_address") from exc
    return url
