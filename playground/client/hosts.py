"""Which hosts the client may send requests to: the guard that keeps a shared playground from
becoming a proxy into the network it runs in.

A browser chooses the base URL, and a provider's answer names where its video is (and, for
DashScope, where to upload). Without a guard, either can point the server at itself
(``http://127.0.0.1:...``), at the machines next to it (``10.0.0.5``) or at the cloud metadata
service (``169.254.169.254``), and the answer would come back to the browser.

:class:`HostPolicy` says what is allowed; :func:`check_target` applies it to one URL just
before a request is sent (the client calls it for every request, retries included):

* ``allow_private=False``: a host that is, or resolves to (every address ``getaddrinfo``
  returns), a loopback, private (RFC 1918, unique-local), link-local (``169.254/16``,
  ``fe80::/10``), unspecified or otherwise non-public address is refused, unless the host is in
  the allowed list.
* an allowed list: a base URL whose host is not in it is refused. URLs a provider's answer names
  (results, upload buckets) may be elsewhere, as DashScope's public OSS links are, so they only
  need to be public (or the provider's own host, or listed).

The default policy allows everything: the command line runs on its user's own machine, where
reaching ``localhost`` is the point. The server builds a strict one with :func:`server_policy`.

The check resolves the name itself; the connection then goes only to addresses that pass the
same judgement, resolved once (:mod:`playground.client.pinned_connect`), so a name whose DNS
answer changes between the check and the connection (DNS rebinding) gets nowhere inside.
``follow_redirects`` is off, so a redirect cannot lead a checked request somewhere else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

from playground.client.errors import HostRefused
from playground.settings import DASHSCOPE_REGIONS, Settings

# A listed host: (name, port); port None allows every port of that name.
HostEntry = tuple[str, int | None]
# Every address a name resolves to, as text; an exception (socket.gaierror) when it does not resolve.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_FIX_LIST = "allow it with PLAYGROUND_ALLOWED_HOSTS (comma-separated host[:port] names) on the server"
FIX_PRIVATE = (
    "allow it with PLAYGROUND_ALLOWED_HOSTS (comma-separated host[:port] names), "
    "or PLAYGROUND_ALLOW_PRIVATE_HOSTS=true, on the server"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# The NAT64 well-known prefix: 64:ff9b::7f00:1 reaches 127.0.0.1 on a NAT64 network.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """Where a request goes: the host as the connection will use it, and the port."""

    host: str  # lower case, IDNA-encoded, IPv6 without brackets, no trailing dot
    port: int

    @classmethod
    def of(cls, url: httpx.URL | str) -> Target:
        """The target of a URL, read with httpx's own parser (the one that sends the request)."""
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower().rstrip(".")
        return cls(host, parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 80))

    def text(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class HostPolicy:
    """What the client may reach. The default allows everything (the command line's policy)."""

    # None: no list, any host; otherwise only these may be a base URL (and they skip the
    # private-address check, since someone chose them on purpose).
    allowed_hosts: frozenset[HostEntry] | None = None
    allow_private: bool = True

    @classmethod
    def strict(cls, allowed: Iterable[str], *, allow_private: bool = False) -> HostPolicy:
        """A policy with an allowed list of ``host[:port]`` names (ValueError for a bad one)."""
        return cls(frozenset(parse_entry(name) for name in allowed), allow_private)

    @property
    def allows_everything(self) -> bool:
        return self.allowed_hosts is None and self.allow_private

    def lists(self, target: Target) -> bool:
        """Whether the target is in the allowed list (a name without a port allows every port)."""
        if self.allowed_hosts is None:
            return False
        return (target.host, target.port) in self.allowed_hosts or (target.host, None) in self.allowed_hosts


PERMISSIVE = HostPolicy()


def parse_entry(name: str) -> HostEntry:
    """One ``host[:port]`` name, normalised as :class:`Target` normalises a URL's host."""
    text = name.strip()
    try:
        url = httpx.URL(f"http://{text}")
    except httpx.InvalidURL:
        url = None
    if not text or url is None or not url.raw_host or url.path not in ("", "/") or url.query or url.userinfo:
        raise ValueError(f"allowed hosts: {text[:80]!r} is not a host[:port] name")
    return url.raw_host.decode("ascii").lower().rstrip("."), url.port


def parse_hosts(text: str) -> frozenset[HostEntry]:
    """A comma-separated list of ``host[:port]`` names (PLAYGROUND_ALLOWED_HOSTS)."""
    return frozenset(parse_entry(part) for part in text.split(",") if part.strip())


def is_public_address(address: str) -> bool:
    """Whether an IP address is one the whole internet can reach (not loopback, private, ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope ("%eth0") is not the address
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address wrapped in IPv6 reaches the IPv4 host: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a name (off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _is_public_host(target: Target, resolve: Resolver) -> bool:
    """Whether every address the host has is public; False when it does not resolve at all."""
    try:
        ipaddress.ip_address(target.host)
    except ValueError:
        pass
    else:
        return is_public_address(target.host)
    try:
        addresses = await resolve(target.host, target.port)
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(is_public_address(a) for a in addresses)


async def check_target(
    policy: HostPolicy, url: httpx.URL | str, *, provider_url: str, field: str = "base_url",
    resolve: Resolver = system_resolve,
) -> None:
    """Raise :class:`HostRefused` unless the policy lets a request go to ``url``.

    ``field`` names where the URL came from: ``base_url`` for the provider's own API, or the
    answer field that named it (a result URL, an upload host). A named URL on the provider's own
    host and port is judged as the base URL is.
    """
    if policy.allows_everything:
        return
    try:
        target = Target.of(url)
    except (httpx.InvalidURL, UnicodeError):
        raise HostRefused(f"{field}: not a URL whose host can be checked; nothing was sent to it",
                          field=field, host="(unreadable)") from None
    own = target == Target.of(provider_url)
    is_base = field == "base_url" or own
    shown = "base_url" if is_base else field
    if policy.lists(target):
        return
    if is_base and policy.allowed_hosts is not None:
        raise HostRefused(
            f"{shown}: {target.text()} is not one of this server's allowed hosts; nothing was sent to it. "
            f"To use it, {_FIX_LIST}.",
            field=shown, host=target.text(),
        )
    if policy.allow_private or await _is_public_host(target, resolve):
        return
    raise HostRefused(
        f"{shown}: {target.text()} is not a public host (it is, or resolves to, a loopback, private, "
        f"link-local or unspecified address, or it does not resolve); nothing was sent to it. "
        f"If this server should reach it, {FIX_PRIVATE}.",
        field=shown, host=target.text(),
    )


def server_policy(settings: Settings, sandbox_url: str) -> HostPolicy:
    """The policy a shared server applies to what browsers ask for.

    Allowed: the hosts in ``PLAYGROUND_ALLOWED_HOSTS`` or, without it, the documented DashScope
    hosts; in either case the server's own configuration (its base URL, its DashScope region's
    host) and its embedded sandbox (on loopback, but its own). Private addresses only with
    ``PLAYGROUND_ALLOW_PRIVATE_HOSTS``. ValueError for an entry that is not ``host[:port]``.
    """
    listed = (
        set(parse_hosts(settings.allowed_hosts)) if settings.allowed_hosts is not None
        else {_url_entry(url) for url in DASHSCOPE_REGIONS.values()}
    )
    configured = [sandbox_url, settings.dashscope_base_url()] + ([settings.base_url] if settings.base_url else [])
    listed |= {_url_entry(url) for url in configured if url.startswith(("http://", "https://"))}
    return HostPolicy(frozenset(listed), settings.allow_private_hosts)


def _url_entry(url: str) -> HostEntry:
    """A URL's host as a list entry: with its port only when the URL names one."""
    parsed = httpx.URL(url)
    return parsed.raw_host.decode("ascii").lower().rstrip("."), parsed.port
