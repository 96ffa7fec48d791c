"""Can this ward reach the HDC services it is supposed to use?

Each configured endpoint gets one short check: an HTTPS (or HTTP) HEAD with
verified TLS, or a bare TCP connect for ``tcp://host:port``. A server that
answers at all, even 404 or 401, is reachable; a 5xx answer, a refused or
timed-out connection, or an untrusted certificate is not. The checks run in
parallel so twenty unreachable services cost one timeout, not twenty.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence, Union
from urllib.parse import urlsplit

from .config import Endpoint
from .sender import build_opener

DEFAULT_TIMEOUT = 5.0


def check_endpoints(endpoints: Sequence[Endpoint], timeout: float = DEFAULT_TIMEOUT,
                    ca_bundle: Optional[Union[str, Path]] = None) -> list:
    """One schema ``network.reachability`` entry per endpoint, in the configured order."""
    if not endpoints:
        return []
    opener = build_opener(ca_bundle)
    with ThreadPoolExecutor(max_workers=min(8, len(endpoints))) as pool:
        return list(pool.map(lambda e: check_endpoint(e, timeout, opener), endpoints))


def check_endpoint(endpoint: Endpoint, timeout: float = DEFAULT_TIMEOUT,
                   opener: Optional[urllib.request.OpenerDirector] = None) -> dict:
    """Check one endpoint; failures are results (``ok`` false with the reason), never exceptions."""
    started = time.perf_counter()
    error = None
    parts = urlsplit(endpoint.url)
    try:
        if parts.scheme == "tcp":
            with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
                pass
        else:
            request = urllib.request.Request(endpoint.url, method="HEAD", headers={"User-Agent": "hdc-agent"})
            with (opener or build_opener()).open(request, timeout=timeout):
                pass
    except urllib.error.HTTPError as err:
        if err.code >= 500:
            error = f"HTTP {err.code}"
        err.close()
    except urllib.error.URLError as err:
        error = _describe(err.reason, timeout)
    except (OSError, http.client.HTTPException, ValueError) as err:
        error = _describe(err, timeout)
    latency = round((time.perf_counter() - started) * 1000, 1)
    answered = error is None or error.startswith("HTTP ")
    return {"target": endpoint.name[:128], "url": endpoint.url[:2048], "ok": error is None,
            "latency_ms": latency if answered else None, "error": error}


def _describe(reason, timeout: float) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        text = f"TLS certificate not trusted ({reason.verify_message or reason})"
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        text = f"timed out after {timeout:g} s"
    elif isinstance(reason, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(reason, socket.gaierror):
        text = f"name not resolved ({reason.strerror or reason})"
    else:
        text = getattr(reason, "strerror", None) or str(reason) or reason.__class__.__name__
    return text[:512]
