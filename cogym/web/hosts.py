"""The names a human actors' web server answers to, and the security headers of its pages.

A browser names the host it used in every request's ``Host`` header. A page of
``evil.example`` whose DNS name was rebound to 127.0.0.1 reaches this machine's loopback server
with ``Host: evil.example``; answering only to the server's own names defeats that (DNS
rebinding). Nothing a request sends goes into a response header: the Content-Security-Policy is
built from the server's own names.

    >>> names = ServedNames("127.0.0.1", 8000, allow_remote=False)
    >>> names.allows("localhost:8000"), names.allows("evil.example:8000")
    (True, False)
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping

__all__ = ["LOOPBACK_NAMES", "ServedNames", "is_loopback", "remote_warning"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""The names of this machine a page may be opened through, whatever the server's host."""
WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text[1:-1] if text.startswith("[") else text)
    except ValueError:
        return None


def _name(address: str) -> str:
    """How ``address`` is written in a URL's host part (IPv6 in brackets)."""
    ip = _ip(address)
    if ip is not None and ip.version == 6:
        return f"[{ip.compressed}]"
    return address.lower()


class ServedNames:
    """The ``host:port`` names a server on ``host``:``port`` answers to.

    Always the loopback names (``127.0.0.1``, ``localhost``, ``[::1]``). With ``allow_remote``,
    also the host it was given; a server on every interface (``0.0.0.0``, ``::``) answers to
    this machine's host names and to any IP address (an address cannot be rebound).
    """

    def __init__(self, host: str, port: int, *, allow_remote: bool) -> None:
        self.port = port
        self.wildcard = allow_remote and host in WILDCARDS
        names = set(LOOPBACK_NAMES)
        if allow_remote and not self.wildcard:
            names.add(_name(host))
        if self.wildcard:
            for name in {socket.gethostname(), socket.getfqdn()}:
                names.add(_name(name))
                names.update(_name(a) for a in _addresses(name))
        self.names = frozenset(names)
        self.hosts = frozenset(self._with_port(n) for n in names)

    def _with_port(self, name: str) -> str:
        return name if self.port == 80 else f"{name}:{self.port}"

    def allows(self, host: str | None) -> bool:
        """Whether a request whose ``Host`` header is ``host`` is for this server."""
        return self.canonical(host) is not None

    def canonical(self, host: str | None) -> str | None:
        """``host`` as this server writes it if it is one of its names, else ``None``."""
        if not host:
            return None
        host = host.strip().lower()
        if host in self.hosts:
            return host
        if not self.wildcard:
            return None
        name, colon, port = host.rpartition(":")
        if not colon or port != str(self.port):
            return None
        if ":" in name and not (name.startswith("[") and name.endswith("]")):
            return None
        ip = _ip(name)
        return None if ip is None else self._with_port(_name(str(ip)))

    def content_security_policy(self, host: str | None = None) -> str:
        """The pages' policy: scripts and styles of this server only, sockets to its names.

        ``host``, a name :meth:`canonical` returned, is added to the socket names (a wildcard
        server's pages opened through an IP address). ``'self'`` covers ``ws:`` to the page's
        own origin in browsers of CSP level 3; the names are listed for older ones, except IPv6
        addresses, which CSP sources cannot hold (``'self'`` covers those).
        """
        sockets = sorted(self.hosts | ({host} if host else set()))
        connect = " ".join(f"ws://{name}" for name in sockets if not name.startswith("["))
        return (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
            f"connect-src 'self' {connect}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )

    def headers(self, host: str | None) -> dict[str, str]:
        """The security headers of a page asked for with ``Host: host``."""
        return {
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": self.content_security_policy(self.canonical(host)),
        }

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        """Whether a socket's request (its lower-cased ``headers``) comes from a page of this
        server, whichever of its names the page used."""
        origin = headers.get("origin")
        host = self.canonical(headers.get("host"))
        return origin is None or origin.lower() == f"http://{host}"

    def __repr__(self) -> str:
        extra = ", any IP address" if self.wildcard else ""
        return f"ServedNames({', '.join(sorted(self.hosts))}{extra})"


def _addresses(name: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        return set()


def remote_warning(base_url: str, host: str, port: int) -> str:
    """What a person serving pages beyond this machine must know."""
    return (
        f"warning: cogym's pages are served on {host} ({base_url}), reachable from other "
        "machines. Anyone who can reach this address and learns a page's URL can act and give "
        "feedback in your trials, or read your trials and models on the dashboard: the token in "
        "the URL is the only guard. The connection is plain HTTP without TLS, so the token, the "
        "frames, the actions and the data cross the network "
        "unencrypted. Use it on a network you trust, or keep the default host and tunnel "
        f"instead (ssh -L {port}:127.0.0.1:{port} this-machine)"
    )
