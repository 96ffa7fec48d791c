"""Can this ward reach the HDC services it is supposed to use, and where does it break?

Each configured endpoint gets one short check, in steps, so a failure says
which step failed: the TCP connect (timed), then for ``https://`` the TLS
handshake with the certificate verified, then an HTTP ``HEAD`` and its
status; ``tcp://host:port`` stops after the connect. Through a proxy the
connect is to the proxy and HTTPS goes through a CONNECT tunnel, as the
agent's own reports do. A server that answers at all, even 404 or 401, is
reachable; a 5xx answer, a refused or timed-out connection, or a failed
handshake is not. The checks run in parallel so twenty unreachable
services cost one timeout, not twenty.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union
from urllib.parse import urlsplit

from .config import Endpoint
from .sender import tls_context

DEFAULT_TIMEOUT = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Check:
    """What one endpoint check measured; ``tls`` and ``http_status`` stay None for steps not reached."""

    target: str
    url: str
    connect_ms: Optional[float] = None
    tls: Optional[bool] = None
    http_status: Optional[int] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_report(self) -> dict:
        """The schema's ``network.reachability`` entry: latency is the TCP connect time; the error names
        the failed step (``TLS handshake failed ...``, ``HTTP 503``)."""
        return {"target": self.target[:128], "url": self.url[:2048], "ok": self.ok,
                "latency_ms": self.connect_ms, "error": self.error[:512] if self.error else None}


class _StepFailed(Exception):
    pass


def check_endpoints(endpoints: Sequence[Endpoint], timeout: float = DEFAULT_TIMEOUT,
                    ca_bundle: Optional[Union[str, Path]] = None, proxy: Optional[str] = None) -> list:
    """One schema ``network.reachability`` entry per endpoint, in the configured order."""
    if not endpoints:
        return []
    context = tls_context(ca_bundle)
    with ThreadPoolExecutor(max_workers=min(8, len(endpoints))) as pool:
        checks = pool.map(lambda e: check_endpoint(e, timeout, context, proxy), endpoints)
        return [c.to_report() for c in checks]


def check_endpoint(endpoint: Endpoint, timeout: float = DEFAULT_TIMEOUT, context: Optional[ssl.SSLContext] = None,
                   proxy: Optional[str] = None) -> Check:
    """Check one endpoint; failures are results naming the step, never exceptions.

    ``proxy`` None means the environment's proxy settings, as urllib reads them.
    """
    parts = urlsplit(endpoint.url)
    host, port = parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    via = None if parts.scheme == "tcp" else _proxy_for(parts.scheme, host, proxy)
    started = time.perf_counter()
    try:
        sock = socket.create_connection((via.hostname, via.port or 80) if via else (host, port), timeout=timeout)
    except (OSError, ValueError) as exc:
        return Check(endpoint.name, endpoint.url, error=_describe(exc, timeout))
    connect_ms = round((time.perf_counter() - started) * 1000, 1)
    tls = status = None
    try:
        if parts.scheme == "tcp":
            return Check(endpoint.name, endpoint.url, connect_ms)
        if parts.scheme == "https":
            if via:
                _tunnel(sock, host, port)
            try:
                sock = (context or tls_context()).wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                tls = False
                raise _StepFailed(_describe_tls(exc, timeout)) from None
            tls = True
        status = _head(sock, parts, host, port, absolute=bool(via) and parts.scheme == "http")
        error = f"HTTP {status}" if status >= 500 else None
    except _StepFailed as exc:
        error = str(exc)
    except (OSError, http.client.HTTPException) as exc:
        error = _describe(exc, timeout)
    finally:
        sock.close()
    return Check(endpoint.name, endpoint.url, connect_ms, tls, status, error)


def _proxy_for(scheme: str, host: str, configured: Optional[str]):
    url = configured
    if url is None:
        url = urllib.request.getproxies().get(scheme)
        if url and urllib.request.proxy_bypass(host):
            url = None
    return urlsplit(url) if url else None


def _tunnel(sock: socket.socket, host: str, port: int) -> None:
    """Ask an HTTP proxy for a CONNECT tunnel to ``host:port``."""
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: hdc-agent\r\n\r\n"
                 .encode("ascii"))
    response = http.client.HTTPResponse(sock, method="CONNECT")
    response.begin()
    if response.status != 200:
        raise _StepFailed(f"proxy refused the tunnel (HTTP {response.status})")


def _head(sock: socket.socket, parts, host: str, port: int, absolute: bool) -> int:
    """Send HEAD over the connected socket; ``absolute``: through an HTTP proxy, which wants the whole URL."""
    path = parts.geturl() if absolute else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(host, port)
    connection.sock = sock
    connection.request("HEAD", path, headers={"User-Agent": "hdc-agent"})
    return connection.getresponse().status


def _describe_tls(exc: Exception, timeout: float) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message or exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"TLS handshake timed out after {timeout:g} s"
    return f"TLS handshake failed ({getattr(exc, 'reason', None) or exc})"


def _describe(reason: Exception, timeout: float) -> str:
    if isinstance(reason, (socket.timeout, TimeoutError)):
        text = f"timed out after {timeout:g} s"
    elif isinstance(reason, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(reason, socket.gaierror):
        text = f"name not resolved ({reason.strerror or reason})"
    else:
        text = getattr(reason, "strerror", None) or str(reason) or reason.__class__.__name__
    return text[:512]
