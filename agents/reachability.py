"""Can this ward reach the HDC services it is supposed to use, and where does it break?

Each configured endpoint gets one short check, in steps, so a failure says
which step failed: the TCP connect (timed), then for ``https://`` the TLS
handshake with the certificate verified, then an HTTP ``HEAD`` and its
status; ``tcp://host:port`` stops after the connect. Through a proxy the
connect is to the proxy and HTTPS goes through a CONNECT tunnel, as the
agent's own reports do. A server that answers at all, even 404 or 401, is
reachable; a 5xx answer, a refused or timed-out connection, or a failed
handshake is not.

One ``timeout`` covers a whole check, every step included: each step gets
what is left of it. The checks run in parallel on daemon threads and the
caller waits for them at most ``timeout`` plus a moment, so twenty
unreachable services cost one timeout, not twenty, and a server that
answers a byte at a time, or a name server that never answers, cannot keep
the one-shot agent from finishing.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence, Union
from urllib.parse import urlsplit

from .config import Endpoint
from .sender import tls_context

DEFAULT_TIMEOUT = 5.0
# What the caller waits beyond the checks' own timeout before it reports them as timed out.
GRACE_SECONDS = 1.0
_DEFAULT_PORTS = {"http": 80, "https": 443}

# The step a failed check stopped at; the schema's ``failed_step`` enum.
RESOLVE, CONNECT, PROXY, TLS, HTTP = "resolve", "connect", "proxy", "tls", "http"


@dataclass(frozen=True)
class Check:
    """What one endpoint check measured; fields of steps not reached stay None.

    ``connect_ms`` is the TCP connect (to the proxy when ``via_proxy``);
    ``answer_ms`` runs from the start of the connect to the HTTP status line
    (to the connect for ``tcp://``), the wait a user of the service feels.
    """

    target: str
    url: str
    connect_ms: Optional[float] = None
    tls: Optional[bool] = None
    http_status: Optional[int] = None
    error: Optional[str] = None
    failed_step: Optional[str] = None
    tls_error: Optional[str] = None
    answer_ms: Optional[float] = None
    via_proxy: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_report(self) -> dict:
        """The schema-v2 ``network.reachability`` entry."""
        return {"target": self.target[:128], "url": self.url[:2048], "ok": self.ok,
                "latency_ms": self.answer_ms, "connect_ms": self.connect_ms, "tls_ok": self.tls,
                "tls_error": _clip(self.tls_error), "http_status": self.http_status,
                "failed_step": self.failed_step, "via_proxy": self.via_proxy, "error": _clip(self.error)}


class _StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


def check_endpoints(endpoints: Sequence[Endpoint], timeout: float = DEFAULT_TIMEOUT,
                    ca_bundle: Optional[Union[str, Path]] = None, proxy: Optional[str] = None) -> list:
    """One schema ``network.reachability`` entry per endpoint, in the configured order.

    Returns within about ``timeout + GRACE_SECONDS`` whatever the network
    does: a check still running then is reported as timed out in the step it
    was in, with what it had measured, and its daemon thread is left to end
    with the process.
    """
    if not endpoints:
        return []
    context = tls_context(ca_bundle)
    runs = [_Run(endpoint, timeout, context, proxy) for endpoint in endpoints]
    threads = [threading.Thread(target=run.execute, name=f"reach-{run.endpoint.name}", daemon=True)
               for run in runs]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + timeout + GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, give_up - time.monotonic()))
    return [run.outcome().to_report() for run in runs]


def check_endpoint(endpoint: Endpoint, timeout: float = DEFAULT_TIMEOUT, context: Optional[ssl.SSLContext] = None,
                   proxy: Optional[str] = None) -> Check:
    """Check one endpoint; failures are results naming the step, never exceptions.

    ``proxy`` None means the environment's proxy settings, as urllib reads them.
    """
    run = _Run(endpoint, timeout, context, proxy)
    run.execute()
    return run.outcome()


class _Run:
    """One check in progress: ``found`` grows step by step, so a check cut short still reports its steps."""

    def __init__(self, endpoint: Endpoint, timeout: float, context: Optional[ssl.SSLContext],
                 proxy: Optional[str]) -> None:
        self.endpoint, self.timeout, self.context, self.proxy = endpoint, timeout, context, proxy
        self.found = Check(endpoint.name, endpoint.url)
        self.step = RESOLVE
        self.done = False

    def outcome(self) -> Check:
        if self.done:
            return self.found
        return replace(self.found, error=f"timed out after {self.timeout:g} s", failed_step=self.step,
                       tls=False if self.step == TLS else self.found.tls,
                       tls_error=f"handshake timed out after {self.timeout:g} s" if self.step == TLS else None)

    def execute(self) -> None:
        try:
            self.found = self._steps()
        except Exception as exc:  # noqa: BLE001 - whatever breaks one check is that check's result, not the agent's
            self.found = replace(self.found, error=_clip(f"check failed: {exc!r}"), failed_step=self.step)
        finally:
            self.done = True

    def _steps(self) -> Check:
        parts = urlsplit(self.endpoint.url)
        host, port = parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
        via = None if parts.scheme == "tcp" else _proxy_for(parts.scheme, host, self.proxy)
        found = self.found = replace(self.found, via_proxy=via is not None)
        started = time.monotonic()
        deadline = started + self.timeout
        try:
            addresses = socket.getaddrinfo(via.hostname if via else host, (via.port or 80) if via else port,
                                           type=socket.SOCK_STREAM)
            self.step = CONNECT
            sock = _connect(addresses, deadline)
        except (OSError, ValueError) as exc:
            return replace(found, error=_describe(exc, self.timeout), failed_step=self.step)
        found = self.found = replace(found, connect_ms=_ms_since(started))
        try:
            if parts.scheme == "tcp":
                return replace(found, answer_ms=found.connect_ms)
            if parts.scheme == "https":
                if via:
                    self.step = PROXY
                    _tunnel(sock, host, port, deadline)
                self.step = TLS
                sock = self._handshake(sock, host, deadline)
                found = self.found = replace(found, tls=True)
            self.step = HTTP
            status = _head(sock, parts, host, port, absolute=bool(via) and parts.scheme == "http",
                           deadline=deadline)
            if status > 599:  # http.client takes any three digits; the schema (and HTTP) stop at 599
                return replace(found, error=f"not an HTTP status: {status}", failed_step=HTTP)
            found = replace(found, http_status=status, answer_ms=_ms_since(started))
            if status >= 500:
                found = replace(found, error=f"HTTP {status}", failed_step=HTTP)
            return found
        except _StepFailed as exc:
            return replace(self.found, error=str(exc), failed_step=exc.step)
        except (OSError, http.client.HTTPException) as exc:
            return replace(self.found, error=_describe(exc, self.timeout), failed_step=self.step)
        finally:
            sock.close()

    def _handshake(self, sock: socket.socket, host: str, deadline: float) -> ssl.SSLSocket:
        """The TLS handshake with the certificate verified; a failure records its reason."""
        try:
            sock.settimeout(_left(deadline))
            return (self.context or tls_context()).wrap_socket(sock, server_hostname=host)
        except (ssl.SSLError, OSError) as exc:
            reason = _describe_tls(exc, self.timeout)
            self.found = replace(self.found, tls=False, tls_error=reason)
            raise _StepFailed(TLS, f"TLS {reason}") from None


def _connect(addresses: list, deadline: float) -> socket.socket:
    """The first address that accepts, as socket.create_connection tries them, under the check's deadline."""
    error: Optional[OSError] = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_left(deadline))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


def _proxy_for(scheme: str, host: str, configured: Optional[str]):
    url = configured
    if url is None:
        url = urllib.request.getproxies().get(scheme)
        if url and urllib.request.proxy_bypass(host):
            url = None
    return urlsplit(url) if url else None


def _tunnel(sock: socket.socket, host: str, port: int, deadline: float) -> None:
    """Ask an HTTP proxy for a CONNECT tunnel to ``host:port``."""
    sock.settimeout(_left(deadline))
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: hdc-agent\r\n\r\n"
                 .encode("ascii"))
    response = http.client.HTTPResponse(sock, method="CONNECT")
    response.begin()
    if response.status != 200:
        raise _StepFailed(PROXY, f"proxy refused the tunnel (HTTP {response.status})")


def _head(sock: socket.socket, parts, host: str, port: int, absolute: bool, deadline: float) -> int:
    """Send HEAD over the connected socket; ``absolute``: through an HTTP proxy, which wants the whole URL."""
    path = parts.geturl() if absolute else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sock.settimeout(_left(deadline))
    connection = http.client.HTTPConnection(host, port)
    connection.sock = sock
    connection.request("HEAD", path, headers={"User-Agent": "hdc-agent"})
    return connection.getresponse().status


def _left(deadline: float) -> float:
    """What remains of the check's time; a spent budget still gets a sliver, so the step fails as a timeout."""
    return max(0.001, deadline - time.monotonic())


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _clip(text: Optional[str]) -> Optional[str]:
    return text[:512] if text else None


def _describe_tls(exc: Exception, timeout: float) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message or exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"handshake timed out after {timeout:g} s"
    return f"handshake failed ({getattr(exc, 'reason', None) or exc})"


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
