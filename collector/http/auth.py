"""The one way in for every token-protected route: throttle, token, kind and unit, last use, one error shape.

A route says what it needs with a decorator: ``@requires(UNIT)`` for what
agents send (a Bearer token, or HTTP Basic with the unit code as the user
for foreign agents), ``@requires(ADMIN)`` for management, ``@open_route``
for the few that need nothing (the health check). Every other route is for
viewers, behind the optional login gate (``login.py``), which lets the
token routes through to this check. ``tests/test_routes.py`` holds every
route of the app against a table of these four, so a new route cannot be
left unclassified.

The order is the same for all: the address's failed authentications before
the token is looked up (floods of bad tokens cost no store lookups), then the
token, its kind and its unit, then the token's and the address's limits (the
address being the client behind a trusted proxy, ``client_address``); "last used" is recorded
only after the request succeeded, so a refused request leaves the store as
it was. A store that cannot be reached answers 503 with ``Retry-After``.
"""
from __future__ import annotations

import ipaddress
from functools import wraps
from typing import Callable, Optional, TypeVar

from flask import Response, g, request
from sqlalchemy.engine import Connection

from collector.context import ctx
from collector.http.errors import ApiError
from collector.ingest.ratelimit import Refusal
from collector.store.engine import STORE_UNAVAILABLE
from collector.store.tokens import ADMIN as ADMIN_KIND
from collector.store.tokens import TokenIdentity, check_token, note_use, note_use_in

OPEN, VIEWER, UNIT, ADMIN = "open", "viewer", "unit", "admin"
PROTECTIONS = (OPEN, VIEWER, UNIT, ADMIN)
BEARER, BASIC = "bearer", "basic"
REALM = "hdc-readiness"
_ATTRIBUTE = "hdc_protection"
View = TypeVar("View", bound=Callable)


def protection(view: Callable) -> str:
    """What a view function needs: one of ``PROTECTIONS`` (viewer unless marked)."""
    return getattr(view, _ATTRIBUTE, VIEWER)


def open_route(view: View) -> View:
    """Mark a route that anybody may call, with or without login (the health check)."""
    setattr(view, _ATTRIBUTE, OPEN)
    return view


def requires(kind: str, scheme: str = BEARER) -> Callable[[View], View]:
    """Authenticate the request with a ``kind`` token (UNIT or ADMIN) before the view runs."""
    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args, **kwargs):
            g.hdc_identity = authenticate(kind, scheme)
            return view(*args, **kwargs)
        setattr(guarded, _ATTRIBUTE, kind)
        return guarded  # type: ignore[return-value]
    return decorate


def identity() -> TokenIdentity:
    """The token the current request was authenticated with (inside a ``requires`` view)."""
    return g.hdc_identity


def authenticate(kind: str, scheme: str = BEARER) -> TokenIdentity:
    """The identity behind the request's token, or an ApiError (401, 403, 429, 503)."""
    c = ctx()
    address = client_address()
    _throttle(c.limiter.check_failures(address), kind)
    presented, user = _presented(kind, scheme)
    try:
        found = check_token(c.engine, presented)
    except STORE_UNAVAILABLE:
        raise ApiError(503, "unavailable", "the store cannot check tokens right now; retry later",
                       headers={"Retry-After": "60"}, counted=kind == UNIT) from None
    if found is None:
        c.limiter.note_failure(address)
        what = "the password is not a valid token" if scheme == BASIC else "the token is not valid"
        raise ApiError(401, "unauthenticated", f"{what} (unknown, revoked, expired or mistyped)",
                       headers={"WWW-Authenticate": _challenge(kind, scheme, invalid=True)}, counted=kind == UNIT)
    _check_kind(found, kind, scheme, user)
    _throttle(c.limiter.check_token(found.token_id), kind)
    _throttle(c.limiter.check_address(address), kind)
    return found


def client_address() -> Optional[str]:
    """Who sent the request: the peer, or, when the peer is a trusted proxy (``Settings.trusted_proxies``), the
    nearest address in X-Forwarded-For that is not one of them (anything further left the client wrote)."""
    peer = request.remote_addr
    trusted = ctx().settings.trusted_proxies
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("X-Forwarded-For") for hop in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _within(hop, trusted):
            return hop
    return peer


def _within(address: Optional[str], networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


def note_success(response: Response) -> Response:
    """After a request that a token authenticated: record the token's last use, if the request succeeded and
    its own transaction did not already (``note_use_within``)."""
    found: Optional[TokenIdentity] = g.get("hdc_identity")
    if found is not None and response.status_code < 400 and not g.get("hdc_use_noted"):
        note_use(ctx().engine, found)
    return response


def note_use_within(conn: Connection) -> None:
    """The request's token's last use, written in the transaction that stores what the request brought (the
    Ingestor's ``also``): one write transaction per report instead of two. Call ``use_noted`` once that
    transaction committed; until then ``note_success`` still writes it (a duplicate rolls it back)."""
    note_use_in(conn, identity())


def use_noted() -> None:
    """The transaction that ran ``note_use_within`` committed: ``note_success`` has nothing left to write."""
    g.hdc_use_noted = True


def _presented(kind: str, scheme: str) -> tuple[str, Optional[str]]:
    """The token (and, for HTTP Basic, the user) the request carries; 401 with a challenge when none."""
    if scheme == BASIC:
        try:
            auth = request.authorization
        except ValueError:  # werkzeug cannot decode the credentials (not ASCII base64): as good as none
            auth = None
        if auth is None or auth.type != "basic":
            # The Basic challenge is these agents' normal handshake: not a refused report unless they sent something.
            raise ApiError(401, "unauthenticated", "HTTP Basic authentication required: user = unit code, "
                           "password = that unit's token", headers={"WWW-Authenticate": _challenge(kind, scheme)},
                           counted="Authorization" in request.headers)
        return (auth.password or "").strip(), (auth.username or "").strip()
    header_scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if header_scheme.lower() != "bearer" or not token.strip():
        what = "ward token" if kind == UNIT else "admin token"
        raise ApiError(401, "unauthenticated", f"missing Authorization: Bearer <{what}>",
                       headers={"WWW-Authenticate": _challenge(kind, scheme)}, counted=kind == UNIT)
    return token.strip(), None


def _check_kind(found: TokenIdentity, kind: str, scheme: str, user: Optional[str]) -> None:
    if kind == ADMIN and found.kind != ADMIN_KIND:
        raise ApiError(403, "forbidden", f"a {found.kind} token cannot manage the collector; "
                                         "use an admin token (hdc-collector token create --admin)", counted=False)
    if kind == UNIT and found.ward_code is None:
        raise ApiError(403, "forbidden", "this token belongs to no unit; use the unit's own token")
    if scheme == BASIC and found.ward_code != user:
        raise ApiError(403, "forbidden", f"user {str(user)[:20]!r} is not the unit of this token; "
                                         f"use the unit code {found.ward_code} as the user")


def _challenge(kind: str, scheme: str, invalid: bool = False) -> str:
    if scheme == BASIC:
        return f'Basic realm="{REALM}"'
    realm = REALM if kind == UNIT else f"{REALM} admin"
    return f'Bearer realm="{realm}"' + (', error="invalid_token"' if invalid else "")


def _throttle(refusal: Optional[Refusal], kind: str) -> None:
    if refusal is not None:
        raise ApiError(429, "rate_limited", refusal.message, headers=refusal.headers, counted=kind == UNIT)
