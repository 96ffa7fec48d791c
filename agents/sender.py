"""Deliver queued reports to the collector over HTTPS, oldest first.

Every answer falls in one of four outcomes, because each asks for a
different reaction: acknowledged (forget the report), retry later (keep it,
stop for now, honour Retry-After), rejected (this report will never be
accepted: set it aside so it cannot block the queue) and misconfigured
(token refused, TLS not trusted, wrong URL: keep everything and tell a
human). TLS is always verified, redirects are never followed (they would
carry the token elsewhere) and the token is never logged or put in a message.

Bodies go gzip-compressed, and a software list the collector already holds
goes as its digest (:mod:`agents.wire`); when the collector answers that it
does not know the digest, the same report is sent whole at once.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable, Optional, Union

from .config import AgentConfig
from .outbox import Outbox, UnsafeQueueFile
from .wire import SOFTWARE_HEADER, compress, software_part

MAX_RETRY_AFTER = 24 * 3600  # a confused server must not silence a ward for weeks
_REJECTING = {400, 413, 415, 422}
_RETRYING = {408, 429}
SOFTWARE_UNKNOWN = "software_list_unknown"  # the collector's 409: send the report with its list
# How a collector without gzip support refuses a compressed body: it cannot read the body at all.
_UNREADABLE = {(400, "malformed"), (415, "unsupported_media_type")}


class Outcome(str, Enum):
    ACKNOWLEDGED = "acknowledged"
    RETRY_LATER = "retry_later"
    REJECTED = "rejected"
    MISCONFIGURED = "misconfigured"
    SEND_FULL = "send_full"


@dataclass(frozen=True)
class Delivery:
    """The collector's answer to one report; ``retry_after`` in seconds when it asked to wait;
    ``software_sha256`` the digest of the list the collector says it now holds; ``error`` the code of
    its JSON error answer."""

    outcome: Outcome
    status: Optional[int]
    message: str
    retry_after: Optional[float] = None
    software_sha256: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class FlushSummary:
    """What one pass over the outbox achieved; ``stopped_by`` is the answer that ended it early."""

    delivered: int
    rejected: int
    remaining: int
    stopped_by: Optional[Delivery] = None
    held_until: Optional[float] = None
    hold_reason: Optional[str] = None
    last_rejection: Optional[str] = None
    failures: int = 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # surfaces the 3xx as an HTTPError instead of re-sending the token elsewhere


def tls_context(ca_bundle: Optional[Union[str, Path]] = None) -> ssl.SSLContext:
    """A verifying context: the system's CAs, or the ward's own CA file. Verification cannot be switched off."""
    return ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)


def _timed(base: type, connect_timeout: float, read_timeout: float) -> type:
    """``base`` (an http.client connection class) that connects under one timeout and reads under another.

    The connect timeout covers the TCP connect, a proxy's CONNECT tunnel and
    the TLS handshake; urllib alone has one timeout for everything.
    """
    class Timed(base):
        def connect(self) -> None:
            self.timeout = connect_timeout
            super().connect()
            self.sock.settimeout(read_timeout)

    return Timed


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        super().__init__()
        self._connection = _timed(http.client.HTTPConnection, connect_timeout, read_timeout)

    def http_open(self, req):
        return self.do_open(self._connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(context=context)
        self._tls = context
        self._connection = _timed(http.client.HTTPSConnection, connect_timeout, read_timeout)

    def https_open(self, req):
        return self.do_open(self._connection, req, context=self._tls)


def proxy_handler(proxy: Optional[str]) -> urllib.request.ProxyHandler:
    """The configured proxy for http and https, or (None) the environment's HTTP(S)_PROXY/NO_PROXY."""
    return urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else None)


def build_opener(ca_bundle: Optional[Union[str, Path]] = None, proxy: Optional[str] = None,
                 connect_timeout: float = 10.0, read_timeout: float = 30.0) -> urllib.request.OpenerDirector:
    """urllib with verified TLS, separate connect and read timeouts, the proxy, and no redirects."""
    return urllib.request.build_opener(proxy_handler(proxy), _HTTPHandler(connect_timeout, read_timeout),
                                       _HTTPSHandler(tls_context(ca_bundle), connect_timeout, read_timeout),
                                       _NoRedirect())


class Sender:
    """Posts report bodies to one collector with one ward token."""

    def __init__(self, url: str, token: str, ca_bundle: Optional[Union[str, Path]] = None,
                 timeout: float = 30.0, connect_timeout: float = 10.0, proxy: Optional[str] = None) -> None:
        self.url = url
        self.timeout = timeout
        self._token = token
        self._opener = build_opener(ca_bundle, proxy, connect_timeout, timeout)

    @classmethod
    def from_config(cls, config: AgentConfig) -> "Sender":
        return cls(config.reports_url, config.token, config.ca_bundle, config.timeout_seconds,
                   config.connect_timeout_seconds, config.proxy)

    def __repr__(self) -> str:
        return f"Sender({self.url!r})"

    def send(self, body: bytes, software_sha256: Optional[str] = None, compressed: bool = True) -> Delivery:
        """POST one report body (gzip-compressed unless told) and classify the answer; never raises for
        network trouble.

        ``software_sha256``: ``body`` is the report without its software list, which this digest names.
        """
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self._token}",
                   "User-Agent": "hdc-agent"}
        if compressed:
            headers["Content-Encoding"] = "gzip"
        if software_sha256 is not None:
            headers[SOFTWARE_HEADER] = software_sha256
        request = urllib.request.Request(self.url, data=compress(body) if compressed else body, method="POST",
                                         headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return _classify(response.status, response.headers, response.read(4096))
        except urllib.error.HTTPError as err:
            return _classify(err.code, err.headers, _read_quietly(err))
        except urllib.error.URLError as err:
            return _network_failure(err.reason, self.url)
        except (OSError, http.client.HTTPException) as err:
            return _network_failure(err, self.url)


def deliver(outbox: Outbox, sender: Sender, clock: Callable[[], float] = time.time) -> FlushSummary:
    """Send the queue oldest first; stop at the first answer that says "not now".

    A stop for a retryable reason holds further sending (Retry-After or the
    backoff) across runs; every outcome is remembered for ``hdc-agent status``.
    """
    held = outbox.held_until(clock())
    if held is not None:
        return FlushSummary(0, 0, len(outbox.pending()), held_until=held, hold_reason=outbox.state().hold_reason)
    delivered = rejected = 0
    last_rejection = None
    for item in outbox.pending():
        try:
            body = item.body()
        except FileNotFoundError:
            continue  # a concurrent run delivered it meanwhile
        except UnsafeQueueFile as exc:
            last_rejection = f"{exc.filename}: {exc.strerror}"
            outbox.reject(item.report_id, last_rejection)
            rejected += 1
            continue
        result = _send(outbox, sender, body)
        if result.outcome is Outcome.ACKNOWLEDGED:
            outbox.remove(item.report_id)
            delivered += 1
        elif result.outcome is Outcome.REJECTED:
            last_rejection = f"HTTP {result.status}: {result.message}"
            outbox.reject(item.report_id, last_rejection)
            rejected += 1
        elif result.outcome is Outcome.RETRY_LATER:
            state = outbox.record_failure(result.message, clock(), result.retry_after, delivered_first=delivered > 0)
            return FlushSummary(delivered, rejected, len(outbox.pending()), stopped_by=result,
                                held_until=state.next_attempt, hold_reason=state.hold_reason,
                                last_rejection=last_rejection, failures=state.failures)
        else:
            outbox.record_error(result.message, clock())
            return FlushSummary(delivered, rejected, len(outbox.pending()), stopped_by=result,
                                last_rejection=last_rejection)
    outbox.record_success(clock())
    return FlushSummary(delivered, rejected, len(outbox.pending()), last_rejection=last_rejection)


def _send(outbox: Outbox, sender: Sender, body: bytes) -> Delivery:
    """One queued report: as its list's digest when the collector acknowledged that list, else whole.

    A 409 ``software_list_unknown`` sends it whole at once; a compressed
    report refused as unreadable (not as invalid) is sent once more uncompressed, as a
    collector older than gzip support needs it. A list counts as
    acknowledged only when the collector's answer names the very digest the
    agent computed, so a collector that does not keep lists (an older
    release) is never sent a report without one.
    """
    part = software_part(body)
    if part is not None and part.sha256 in outbox.acknowledged_software():
        result = sender.send(part.without_software, part.sha256)
        if result.outcome is not Outcome.SEND_FULL:
            return result
        outbox.forget_software(part.sha256)
    result = sender.send(body)
    if result.outcome is Outcome.REJECTED and (result.status, result.error) in _UNREADABLE:
        result = sender.send(body, compressed=False)
    if part is not None and result.outcome is Outcome.ACKNOWLEDGED and result.software_sha256 == part.sha256:
        outbox.remember_software(part.sha256)
    return result


def _classify(status: int, headers, body: bytes) -> Delivery:
    if 200 <= status < 300:
        return Delivery(Outcome.ACKNOWLEDGED, status, "acknowledged", software_sha256=_acknowledged_list(body))
    message = _server_message(body)
    if status == 409 and _error_code(body) == SOFTWARE_UNKNOWN:
        return Delivery(Outcome.SEND_FULL, status, message)
    if status in _REJECTING:
        return Delivery(Outcome.REJECTED, status, message, error=_error_code(body))
    if status in _RETRYING or status >= 500:
        retry_after = _retry_after(headers.get("Retry-After") if headers else None)
        return Delivery(Outcome.RETRY_LATER, status, f"collector answered HTTP {status}: {message}", retry_after)
    if status in (401, 403):
        return Delivery(Outcome.MISCONFIGURED, status,
                        f"collector refused the ward token (HTTP {status}: {message}); check token/token_file "
                        "and ward_code in the configuration")
    if 300 <= status < 400:
        location = headers.get("Location", "?") if headers else "?"
        return Delivery(Outcome.MISCONFIGURED, status,
                        f"collector redirects (HTTP {status}) to {location}; put the final address in collector_url")
    return Delivery(Outcome.MISCONFIGURED, status, f"unexpected HTTP {status} from the collector: {message}; "
                                                   "is collector_url right?")


def _network_failure(reason, url: str) -> Delivery:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return Delivery(Outcome.MISCONFIGURED, None,
                        f"TLS certificate of {url} not trusted ({reason.verify_message or reason}); "
                        "set ca_bundle to the CA that signed it")
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return Delivery(Outcome.RETRY_LATER, None, f"no answer from {url} (timed out)")
    text = getattr(reason, "strerror", None) or str(reason) or reason.__class__.__name__
    return Delivery(Outcome.RETRY_LATER, None, f"cannot reach {url} ({text})")


def _read_quietly(err: urllib.error.HTTPError) -> bytes:
    try:
        return err.read(4096)
    except (OSError, http.client.HTTPException):
        return b""


def _json_object(body: bytes) -> dict:
    try:
        doc = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _acknowledged_list(body: bytes) -> Optional[str]:
    digest = _json_object(body).get("software_sha256")
    return digest if isinstance(digest, str) else None


def _error_code(body: bytes) -> Optional[str]:
    code = _json_object(body).get("error")
    return code if isinstance(code, str) else None


def _server_message(body: bytes) -> str:
    """The collector's own words (its JSON error, or the text), one line and bounded."""
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        parts = [str(doc[k]) for k in ("error", "message", "detail") if doc.get(k)]
        errors = doc.get("errors")
        if isinstance(errors, list):
            parts.extend(json.dumps(e, ensure_ascii=False) if not isinstance(e, str) else e for e in errors[:5])
        text = "; ".join(parts) or text
    text = " ".join(text.split())
    return (text[:497] + "...") if len(text) > 500 else (text or "no message")


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 10.2.3), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
