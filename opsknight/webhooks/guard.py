"""The private-address guard: webhook and contact URLs may not reach internal networks.

A URL is checked when it is saved (literal addresses and names that resolve inward) and
again before every delivery, because what a name resolves to can change; the delivery
then connects to the address that was checked, keeping the name for Host and TLS, so a
DNS answer that changes in between (rebinding) cannot reach inside. IPv6 forms that
carry an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by that address too.
Redirects are never followed, so a public URL cannot bounce a delivery inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

from opsknight.errors import ValidationFailed

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
# IPv6 prefixes that carry an IPv4 address in their last 32 bits: the well-known and the
# local-use NAT64 prefixes.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SETTING = "OPSKNIGHT_WEBHOOK_ALLOW_PRIVATE"


class PrivateAddress(Exception):
    """The URL's host is, or resolves to, an address the guard refuses."""


class Unresolvable(PrivateAddress):
    """The host does not resolve (now): refused for a delivery, allowed when saving."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: mapped, 6to4, Teredo, NAT64."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _refused_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
    )


def refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded:  # judged by where it leads
            return any(_refused_ip(v4) for v4 in embedded)
    return _refused_ip(ip)


_allow_private = False


def configure(allow_private: bool) -> None:
    """OPSKNIGHT_WEBHOOK_ALLOW_PRIVATE: let deliveries reach loopback and private hosts."""
    global _allow_private
    _allow_private = allow_private


def private_allowed() -> bool:
    return _allow_private


@dataclass(frozen=True)
class Target:
    """Where to connect: the checked address, with the name kept for Host and TLS."""

    url: str  # the URL with its host replaced by the checked address
    host: str  # for the Host header and TLS server name (SNI and certificate check)
    host_header: str


def host_and_port(url: str) -> tuple[str, int]:
    """The URL's host and port; ValueError for a URL without a host or with a bad port."""
    parsed = urlparse(url)
    host = parsed.hostname
    if not host:
        raise ValueError("the URL has no host")
    port = parsed.port  # ValueError for ports out of range or not numbers
    return host, port or (443 if parsed.scheme == "https" else 80)


async def resolve_checked(url: str) -> Target:
    """The address to connect to for ``url``: every address the host resolves to must
    pass, and the connection goes to one of those (the name is not resolved again, so a
    DNS answer that changes in between cannot reach inside)."""
    try:
        host, port = host_and_port(url)
    except ValueError as exc:
        raise PrivateAddress(f"the URL is malformed: {exc}") from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Unresolvable(f"{host} does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(refused(address) for address in addresses):
        literal = host.strip("[]") in addresses
        what = "is" if literal else "resolves to"
        raise PrivateAddress(
            f"{host} {what} a private, loopback or reserved address; deliveries to internal "
            f"networks are off (an operator can allow them with {_SETTING}=true)"
        )
    address = addresses[0].split("%", 1)[0]
    parsed = urlparse(url)
    literal_host = f"[{address}]" if ":" in address else address
    netloc = f"{literal_host}:{port}"
    default_port = (parsed.scheme == "https" and port == 443) or (
        parsed.scheme == "http" and port == 80
    )
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
    return Target(parsed._replace(netloc=netloc).geturl(), host, host_header)


async def check_host(url: str) -> None:
    """Raise PrivateAddress when the URL's host is or resolves to a refused address."""
    await resolve_checked(url)


async def checked_url(url: str, field: str) -> str:
    """For saving a URL: a 400 naming ``field`` when the guard refuses it (unless the
    operator allows private targets)."""
    try:
        host_and_port(url)
    except ValueError as exc:
        raise ValidationFailed(f"{field}: {exc}", field=field, reason="invalid") from None
    if _allow_private:
        return url
    try:
        await check_host(url)  # a literal address "resolves" to itself
    except Unresolvable:
        pass  # DNS may not be set up yet; every delivery checks again
    except PrivateAddress as exc:
        raise ValidationFailed(f"{field}: {exc}", field=field, reason="private_address") from exc
    return url
