"""Connect only to addresses the host check accepted: the guard against DNS rebinding.

:func:`playground.client.hosts.check_target` resolves a name and judges every address it has;
then the connection resolves the name again. A name whose DNS answer changes in between (a
public address for the check, ``127.0.0.1`` or ``169.254.169.254`` for the connection) would
slip a request past the check. So under a policy that refuses private addresses, the client's
connections go through :class:`PinnedBackend`: it resolves the name once, refuses it unless
every address is public, and connects to one of exactly those addresses. The TLS handshake
still names the host (httpcore takes the server name from the request's origin, not from the
address connected to), so certificates are checked against the name as before.

Hosts the operator listed, and policies that allow private addresses, connect by name as usual.
Requests through a proxy (``HTTPS_PROXY``) are resolved by the proxy and are not covered.
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from collections.abc import Iterable

import httpcore
import httpx

from playground.client.errors import HostRefused
from playground.client.hosts import FIX_PRIVATE, HostPolicy, Resolver, Target, is_public_address, system_resolve


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context for every client: building one (loading the CA
    bundle) costs about 25 ms of CPU, and a server makes a client per run. It is httpx's own
    default context (certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR), made once."""
    return httpx.create_ssl_context()


# httpx's own defaults for a transport's connection pool.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend, connecting to checked addresses instead of to names."""

    def __init__(self, policy: HostPolicy, resolve: Resolver = system_resolve) -> None:
        self._policy = policy
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in await self.addresses(host, port):
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:  # try the next checked address
                failure = exc
        raise failure or httpcore.ConnectError(f"{host}: no address to connect to")

    async def addresses(self, host: str, port: int) -> list[str]:
        """Where a connection to ``host`` may go: the name itself when no check applies, else
        its addresses, every one of them public (:class:`HostRefused` otherwise)."""
        target = Target(host.lower().rstrip("."), port)
        if self._policy.allow_private or self._policy.lists(target):
            return [host]
        try:
            ipaddress.ip_address(target.host)
        except ValueError:
            try:
                found = await self._resolve(target.host, port)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"{target.text()} does not resolve: {exc}") from None
        else:
            found = [target.host]
        if not found or not all(is_public_address(a) for a in found):
            raise HostRefused(
                f"host: {target.text()} resolved to a non-public address when the connection was made, after "
                "it had passed the host check (its DNS answer changed in between); nothing was sent to it. "
                f"If this server should reach it, {FIX_PRIVATE}.",
                field="host", host=target.text(),
            )
        return found

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, backend: PinnedBackend, verify: ssl.SSLContext) -> None:
        super().__init__(verify=verify, limits=_LIMITS)
        # httpx builds its pool without a way to name the network backend; this is that pool
        # (same settings as httpx's default one) with the pinned backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify, max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections, keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=backend,
        )


def pinned_transport(
    policy: HostPolicy, verify: ssl.SSLContext, resolve: Resolver = system_resolve,
) -> httpx.AsyncBaseTransport | None:
    """The transport a client under ``policy`` connects through; None (httpx's own) when the
    policy lets private addresses through, so there is nothing to pin."""
    if policy.allow_private:
        return None
    return _PinnedTransport(PinnedBackend(policy, resolve), verify)
