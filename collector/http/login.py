"""Optional login in front of the readiness page, its JSON read API and its exports.

Off by default: the page is read-only and many deployments keep it on an
internal network. Two modes, in the manner of Prometheus' ``web.yml``
``basic_auth_users`` and Grafana's ``auth.proxy``:

``basic``
    HTTP Basic against the viewers file (``http/viewers.py``).
``header``
    A reverse proxy that signed the user in (nginx ``auth_basic`` or
    ``auth_request``, an SSO gateway) names them in a header; the header is
    believed only from the configured proxy addresses, since anybody else
    could send it too.

The gate is one ``before_request`` hook for the whole app, so a page or API
route added later is protected without anyone remembering to. Only the
endpoints that authenticate on their own (agents' bearer tokens, admin
tokens) and the health check are let through, and ``/metrics`` only when the
deployment opted out of protecting it (``--open-metrics``): per-device
metrics name hosts and devices, which a login is meant to keep in. Nothing
here logs a password or an Authorization header.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import math
import threading
from typing import Optional, Union

from flask import Flask, Response, current_app, g, jsonify, request

from collector.http.auth import VIEWER, client_address, protection
from collector.http.viewers import Viewers
from collector.ingest.ratelimit import TokenBuckets, address_key
from collector.settings import LoginSettings

log = logging.getLogger("hdc.collector.login")

REALM = "hdc-readiness"
WWW_AUTHENTICATE = f'Basic realm="{REALM}", charset="UTF-8"'
MAX_AUTHORIZATION = 4096
MAX_USER = 256


CONCURRENT_HASHES = 2
HASHING_WAIT_SECONDS = 5.0

MESSAGES = {
    "throttled": "Sai mật khẩu quá nhiều lần; thử lại sau. / Too many wrong passwords; try again later.",
    "busy": "Máy chủ đang bận kiểm tra đăng nhập; thử lại sau. / Busy checking sign-ins; try again shortly.",
    "basic": "Cần đăng nhập để xem trang sẵn sàng hạ tầng. / Sign-in required to view the readiness page.",
    "untrusted": ("Chỉ truy cập được qua máy chủ đăng nhập (reverse proxy). / "
                  "Access only through the signing-in reverse proxy."),
    "no_user": ("Máy chủ đăng nhập không cho biết người dùng. / "
                "The signing-in proxy did not name a signed-in user."),
}


def _peer(addr: Optional[str]) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        ip = ipaddress.ip_address((addr or "").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return ip


def _basic_credentials(header: str) -> Optional[tuple[str, str]]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or len(header) > MAX_AUTHORIZATION:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        name, colon, password = raw.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (name, password) if colon else None


def _header_user(value: Optional[str]) -> Optional[str]:
    """The proxy's user name: WSGI hands header bytes over as Latin-1, proxies send UTF-8."""
    if not value:
        return None
    try:
        value = value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    value = value.strip()
    if not value or len(value) > MAX_USER or not value.isprintable():
        return None
    return value


class Gate:
    """Decides, before any view runs, whether a request may go on, and who it is for."""

    def __init__(self, settings: LoginSettings):
        settings.check()
        self.settings = settings
        self.viewers = Viewers(settings.viewers_path) if settings.viewers_path is not None else None
        self._logged_reload_error: Optional[str] = None
        # Wrong passwords per address and per name; while either is spent, no password is even checked.
        self._failed = TokenBuckets(settings.failed_logins)
        # A password check is a deliberately slow hash: a few at a time, so guessing cannot take the CPU.
        self._hashing = threading.BoundedSemaphore(CONCURRENT_HASHES)

    def is_open(self, endpoint: Optional[str]) -> bool:
        if endpoint is None:
            return False  # unknown URLs answer 401 too: no probing for what exists
        if endpoint == "ops.metrics":
            return not self.settings.metrics_protected
        # Routes with their own authentication (agents' and admins' tokens, ``auth.requires``) or none by design.
        view = current_app.view_functions.get(endpoint)
        return view is not None and protection(view) != VIEWER

    def __call__(self) -> Optional[Response]:
        if self.is_open(request.endpoint):
            return None
        if self.settings.mode == "basic":
            return self._basic()
        return self._header()

    def _basic(self) -> Optional[Response]:
        viewers = self.viewers
        assert viewers is not None  # LoginSettings.check: --login basic comes with --viewers-file
        credentials = _basic_credentials(request.headers.get("Authorization", ""))
        if credentials is not None:
            address = client_address()
            wait = self._failed.wait(f"address {address_key(address)}") or self._failed.wait(f"name {credentials[0]}")
            if wait is not None:
                return _refuse(429, "throttled", {"Retry-After": str(max(1, math.ceil(wait)))})
            if not self._hashing.acquire(timeout=HASHING_WAIT_SECONDS):
                return _refuse(503, "busy", {"Retry-After": "5"})
            try:
                ok = viewers.check(*credentials)
            finally:
                self._hashing.release()
            self._log_reload_error(viewers)
            if ok:
                g.viewer = credentials[0]
                return None
            self._failed.take(f"address {address_key(address)}")
            self._failed.take(f"name {credentials[0]}")
            log.info("basic login refused from %s", address)
        return _refuse(401, "basic", {"WWW-Authenticate": WWW_AUTHENTICATE})

    def _header(self) -> Optional[Response]:
        peer = _peer(request.remote_addr)
        if peer is None or not any(peer in net for net in self.settings.trusted_proxies):
            log.info("%s from %s refused: not a --trusted-proxy", self.settings.header, request.remote_addr)
            return _refuse(403, "untrusted")
        user = _header_user(request.headers.get(self.settings.header))
        if user is None:
            return _refuse(403, "no_user")
        g.viewer = user
        return None

    def _log_reload_error(self, viewers: Viewers) -> None:
        error = viewers.reload_error
        if error and error != self._logged_reload_error:
            log.error("%s", error)
        self._logged_reload_error = error


def _refuse(status: int, reason: str, headers: Optional[dict[str, str]] = None) -> Response:
    """JSON for API clients (the API's error shape), a short bilingual text for people."""
    message = MESSAGES[reason]
    if request.path.startswith("/api/"):
        error = {401: "Unauthorized", 429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Forbidden")
        response = jsonify(error=error, message=message, status=status)
    else:
        response = Response(message + "\n", mimetype="text/plain")
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _private(response: Response) -> Response:
    """What a viewer was shown is for that viewer: no shared cache keeps it."""
    if g.get("viewer") is not None:
        if "no-store" not in (response.headers.get("Cache-Control") or ""):
            response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Authorization")
    return response


def install(app: Flask, settings: LoginSettings) -> None:
    """Put the gate in front of ``app`` (nothing at all for ``mode="none"``); bad viewers files fail here."""
    settings.check()
    if settings.mode == "none":
        return
    gate = Gate(settings)
    app.before_request(gate)
    app.after_request(_private)
    app.context_processor(lambda: {"viewer": g.get("viewer")})
