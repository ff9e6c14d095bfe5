"""Where lettermon may connect: the one address policy, checked at connect time.

Every client lettermon builds (the page fetcher, the webhook's and Bluesky's httpx clients,
the requests sessions of X and Mastodon) resolves names here, once per connection, and
connects to the address that was checked. A name that resolves to a public address once and
to a metadata address the next time (DNS rebinding) is therefore refused at the connection
that would have used the bad address.

Link-local addresses (169.254.0.0/16, fe80::/10) and the cloud metadata services
(fd00:ec2::254, 100.100.100.200) are always refused, also when written as IPv4-mapped or
NAT64 IPv6 addresses. With ``allow_private = false`` so are loopback, private, shared
(CGNAT), unspecified, multicast and reserved addresses. Among the addresses a name resolves
to, the refused ones are skipped; when none is left the connection fails with
:class:`~lettermon.errors.RefusedAddress`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from lettermon.errors import RefusedAddress

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

Resolve = Callable[..., list[tuple[Any, ...]]]
"""A ``socket.getaddrinfo``: called as ``resolve(host, port, type=socket.SOCK_STREAM)``."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def address_class(address: IPAddress) -> str:
    """What kind of address this is, in the words of a refusal ("loopback", "public", …)."""
    address = _embedded_ipv4(address) or address
    checks: tuple[tuple[str, bool], ...] = (
        ("link-local/metadata", any(address in net for net in _METADATA)),
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("multicast", address.is_multicast),
        ("shared (CGNAT)", address in _SHARED),
        ("private", any(address in net for net in _PRIVATE)),
        ("reserved", not address.is_global),
    )
    return next((name for name, matches in checks if matches), "public")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class NetGuard:
    """Resolves a host and keeps the addresses lettermon may connect to."""

    def __init__(self, *, allow_private: bool = True,
                 resolve: Resolve = socket.getaddrinfo) -> None:
        self.allow_private = allow_private
        self._resolve = resolve

    def refusal(self, address: str) -> str | None:
        """Why ``address`` is refused ("loopback address"), or None if it is allowed."""
        kind = address_class(ipaddress.ip_address(address.split("%", 1)[0]))
        if kind == "link-local/metadata" or (kind != "public" and not self.allow_private):
            return f"{kind} address"
        return None

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to that may be used, in the resolver's order.

        Raises :class:`RefusedAddress` when there is none, and ``OSError`` (``gaierror``)
        when the name does not resolve.
        """
        name = host.strip("[]")
        resolved = list(dict.fromkeys(
            str(info[4][0]) for info in self._resolve(name, port, type=socket.SOCK_STREAM)))
        allowed = []
        refused: list[tuple[str, str]] = []
        for address in resolved:
            reason = self.refusal(address)
            if reason is None:
                allowed.append(address)
            else:
                refused.append((address, reason))
        if refused and allowed:
            log.warning("%s resolves to %s as well; not connecting there", name,
                        ", ".join(f"{a} ({r})" for a, r in refused))
        if allowed:
            return allowed
        if not refused:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} resolves to no address")
        address, reason = refused[0]
        for_host = "" if _same_address(address, name) else f" for {name}"
        raise RefusedAddress(f"refusing to connect to {address} ({reason}){for_host}")


def _same_address(address: str, host: str) -> bool:
    try:
        return ipaddress.ip_address(address) == ipaddress.ip_address(host)
    except ValueError:
        return False


# -- httpx (httpcore) ---------------------------------------------------------------------------

class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, asked to connect only to addresses the guard allows.

    Each allowed address is passed on as an IP literal, so nothing resolves the name again;
    TLS still checks the certificate against the host name, which httpcore takes from the
    request, not from the address connected to.
    """

    def __init__(self, guard: NetGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = self._guard.addresses(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout,
                                               local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address to connect to for {host}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose connections go through the guard.

    httpx 0.28 has no option for a network backend; its ``HTTPTransport`` sends every
    request through ``self._pool``, which is built here as httpx builds it, with a
    :class:`GuardedBackend`. This is the one place lettermon relies on httpx's internals
    (the version is pinned below 0.29).
    """

    def __init__(self, guard: NetGuard, *, verify: bool = True,
                 limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )


# -- requests (urllib3) ---------------------------------------------------------------------

def guard_session(session: requests.Session, guard: NetGuard) -> requests.Session:
    """Make every connection of ``session`` go through ``guard``; return the session.

    Proxies from the environment are turned off, as for lettermon's httpx clients: through
    a proxy, the address connected to would be the proxy's, not the one the guard checked.
    """
    adapter = _guarded_adapter(guard)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False
    return session


def _guarded_adapter(guard: NetGuard) -> requests.adapters.HTTPAdapter:
    """A requests adapter whose urllib3 connections connect through ``guard``."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
    from urllib3.util.connection import create_connection

    def connect(conn: HTTPConnection) -> socket.socket:
        """urllib3's ``HTTPConnection._new_conn``, to the addresses the guard allows."""
        try:
            addresses = guard.addresses(conn.host, conn.port)
        except socket.gaierror as exc:
            raise NameResolutionError(conn.host, conn, exc) from exc
        error: Exception | None = None
        for address in addresses:
            try:
                return create_connection((address, conn.port), conn.timeout,
                                         source_address=conn.source_address,
                                         socket_options=conn.socket_options)
            except TimeoutError as exc:
                error = ConnectTimeoutError(conn, f"Connection to {conn.host} timed out. "
                                                  f"(connect timeout={conn.timeout})")
                error.__cause__ = exc
            except OSError as exc:
                error = NewConnectionError(conn, f"Failed to establish a new connection: {exc}")
                error.__cause__ = exc
        raise error or NewConnectionError(conn, f"no address to connect to for {conn.host}")

    class Connection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return connect(self)

    class TLSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return connect(self)

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    return Adapter()
