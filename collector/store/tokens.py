"""Tokens: created once, stored only as salted hashes, checked in constant time, rotated and revoked.

A token reads ``hdc_<id>_<secret>``. The id is public (it finds the row
without scanning, and names the token in lists and the audit log); the
secret is 256 random bits and only its salted SHA-256 is kept, so a copy of
the database lets no one send reports.

Two kinds: a ``ward`` token files reports for one unit; an ``admin`` token
(no unit) manages tokens over HTTP. Rotating issues a successor and lets the
old token live on for a grace period, so the ward's agents can be switched
over one by one; revoking ends a token at once. Every change is written to
the audit log in the same transaction.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NamedTuple, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from collector.store import audit
from collector.store.engine import STORE_UNAVAILABLE, write_transaction
from collector.store.tables import tokens, utc_iso

_FORMAT = re.compile(r"^hdc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
WARD = "ward"
ADMIN = "admin"
KINDS = (WARD, ADMIN)
DEFAULT_GRACE = timedelta(days=7)
MAX_LABEL = 256
# Writing last_used_at on every request would add a write to every report; once a minute says enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A management request that cannot be carried out; the message says why."""


class TokenNotFound(TokenError):
    """No token with that id."""


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token speaks for."""

    token_id: str
    kind: str
    ward_code: Optional[str]
    last_used_at: Optional[datetime] = None


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it: everything but the secret, its salt and its hash."""

    token_id: str
    kind: str
    ward_code: Optional[str]
    label: Optional[str]
    created_at: datetime
    last_used_at: Optional[datetime]
    expires_at: Optional[datetime]
    revoked_at: Optional[datetime]
    replaces: Optional[str]
    state: str

    def to_dict(self) -> dict[str, Any]:
        def iso(value: Optional[datetime]) -> Optional[str]:
            return value.isoformat() if value else None

        return {"token_id": self.token_id, "kind": self.kind, "ward_code": self.ward_code, "label": self.label,
                "state": self.state, "created_at": iso(self.created_at), "last_used_at": iso(self.last_used_at),
                "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at), "replaces": self.replaces}


@dataclass(frozen=True)
class Rotation:
    """The successor (``token``, shown once) and until when the token it replaces stays valid."""

    token: str
    token_id: str
    replaces: str
    old_expires_at: datetime


def _now(now: Optional[datetime]) -> datetime:
    return now or datetime.now(timezone.utc)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _state(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None:
        return "expired" if row.expires_at <= now else "expiring"
    return "active"


def _info(row: Any, now: datetime) -> TokenInfo:
    return TokenInfo(row.token_id, row.kind, row.ward_code, row.label, row.created_at, row.last_used_at,
                     row.expires_at, row.revoked_at, row.replaces, _state(row, now))


def _check_label(label: str) -> None:
    """Labels are shown in terminals and logs: no control characters (escape sequences), valid Unicode."""
    if len(label) > MAX_LABEL:
        raise TokenError(f"label is {len(label)} characters long; at most {MAX_LABEL} are kept")
    bad = next((c for c in label if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise TokenError(f"label contains the character U+{ord(bad):04X}; control characters and lone "
                         "surrogates are not allowed")


def _insert(conn: Connection, ward_code: Optional[str], label: Optional[str], kind: str, now: datetime,
            replaces: Optional[str] = None) -> tuple[str, str]:
    if kind not in KINDS:
        raise TokenError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind == WARD and not ward_code:
        raise TokenError("a ward token needs the unit code it files reports for")
    if kind == ADMIN and ward_code is not None:
        raise TokenError("an admin token belongs to no unit; give no unit code")
    if label is not None:
        _check_label(label)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    conn.execute(tokens.insert().values(
        token_id=token_id, kind=kind, ward_code=ward_code, salt=salt, secret_hash=_hash(salt, secret),
        label=label, created_at=now, replaces=replaces))
    return token_id, f"hdc_{token_id}_{secret}"


def create_token(conn: Connection, ward_code: Optional[str], label: Optional[str] = None, kind: str = WARD,
                 actor: Optional[str] = None, now: Optional[datetime] = None) -> str:
    """Store a new token and return it in full; this is the only time it exists in clear.

    ``actor`` defaults to ``cli:<os user>``: code that calls this directly runs at the collector's host.
    """
    now = _now(now)
    token_id, token = _insert(conn, ward_code, label, kind, now)
    audit.record(conn, actor or audit.cli_actor(), "token.create", token_id, ward_code,
                 {"kind": kind, "label": label}, at=now)
    return token


class _TokenRow(NamedTuple):
    """What checking a token reads of its row; the moments aware UTC, as ``_state`` takes them."""

    token_id: str
    kind: str
    ward_code: Optional[str]
    salt: str
    secret_hash: str
    revoked_at: Optional[datetime]
    expires_at: Optional[datetime]
    last_used_at: Optional[datetime]


# Built once: every authenticated request runs it. The moments come as ISO text (``utc_iso``), so the row
# reads the same through SQLAlchemy (``verify_token``) and on the driver's own cursor (``check_token``).
_TOKEN_ROW = sa.select(tokens.c.token_id, tokens.c.kind, tokens.c.ward_code, tokens.c.salt, tokens.c.secret_hash,
                       utc_iso(tokens.c.revoked_at), utc_iso(tokens.c.expires_at),
                       utc_iso(tokens.c.last_used_at)).where(tokens.c.token_id == sa.bindparam("tid"))
# The statement compiled for each kind of store it ran on: (dialect, driver, paramstyle) -> compiled form.
_COMPILED: dict[tuple[str, str, str], Any] = {}


def verify_token(conn: Connection, presented: str, now: Optional[datetime] = None) -> Optional[TokenIdentity]:
    """The identity behind a presented token, or None; never says which part was wrong. Read in ``conn``'s
    transaction (a token created in it is seen)."""
    return _verified(presented, lambda token_id: conn.execute(_TOKEN_ROW, {"tid": token_id}).first(), now)


def check_token(engine: Engine, presented: str, now: Optional[datetime] = None) -> Optional[TokenIdentity]:
    """``verify_token`` for a request: the row read on a pooled connection's own cursor, in the driver's
    autocommit (SQLite) or a transaction of its own ended when the connection goes back to the pool
    (PostgreSQL), so a revocation committed by any process is seen at once.

    Every authenticated request reads this one row: through a SQLAlchemy
    connection (its checkout, the execution context and its events, the
    rollback that ends it) that took 0.2-0.37 ms, ten times the read itself.
    """
    return _verified(presented, lambda token_id: _first_row(engine, {"tid": token_id}), now)


def _verified(presented: str, read: Callable[[str], Any], now: Optional[datetime]) -> Optional[TokenIdentity]:
    m = _FORMAT.match(presented or "")
    if not m:
        return None
    token_id, secret = m.groups()
    found = read(token_id)
    if found is None:
        # Spend the same work as a real check so timing does not reveal valid ids.
        hmac.compare_digest(_hash("0" * 32, secret), "0" * 64)
        return None
    row = _TokenRow(*found[:5], *map(_moment, found[5:]))
    matches = hmac.compare_digest(_hash(row.salt, secret), row.secret_hash)
    if not matches or _state(row, _now(now)) not in ("active", "expiring"):
        return None
    return TokenIdentity(row.token_id, row.kind, row.ward_code, row.last_used_at)


def _moment(text: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(text) if text is not None else None


def _first_row(engine: Engine, params: dict[str, Any]) -> Optional[tuple]:
    """``_TOKEN_ROW``'s row on the driver's cursor; a driver error raised as SQLAlchemy's (``STORE_UNAVAILABLE``
    for a store that cannot be reached, as through a SQLAlchemy connection)."""
    dialect = engine.dialect
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = _TOKEN_ROW.compile(dialect=dialect)
    values = compiled.construct_params(params)
    args = tuple(values[name] for name in compiled.positiontup or ()) if compiled.positional else values
    dbapi = dialect.loaded_dbapi
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(compiled.string, args)
            row = cursor.fetchone()
            cursor.close()
            return row
        finally:
            connection.close()  # back to the pool, which rolls back (ends PostgreSQL's transaction)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(compiled.string, args, exc, dbapi.Error) from None


# Built once, like _TOKEN_ROW: written inside every report's transaction whose token's last use is older.
_NOTE_USE = (tokens.update().where(tokens.c.token_id == sa.bindparam("tid"))
             .where(sa.or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at <= sa.bindparam("cutoff")))
             .values(last_used_at=sa.bindparam("now")))


def use_is_stale(identity: TokenIdentity, now: Optional[datetime] = None) -> bool:
    """Whether the token's recorded last use is older than ``LAST_USED_RESOLUTION`` (then it is written again)."""
    return identity.last_used_at is None or identity.last_used_at <= _now(now) - LAST_USED_RESOLUTION


def note_use_in(conn: Connection, identity: TokenIdentity, now: Optional[datetime] = None) -> bool:
    """Record the token's use inside the caller's transaction (a stored report's: one write, not two), at most
    once per ``LAST_USED_RESOLUTION``; True when written."""
    now = _now(now)
    if not use_is_stale(identity, now):
        return False
    done = conn.execute(_NOTE_USE, {"tid": identity.token_id, "cutoff": now - LAST_USED_RESOLUTION, "now": now})
    return done.rowcount > 0


def note_use(engine: Engine, identity: TokenIdentity, now: Optional[datetime] = None) -> bool:
    """Record that a token was just used, at most once per ``LAST_USED_RESOLUTION``; True when written.

    Best effort in its own short transaction: a busy or failing store must
    not turn a good request away for the sake of a "last used" column.
    """
    now = _now(now)
    if not use_is_stale(identity, now):
        return False
    try:
        with write_transaction(engine) as conn:
            return note_use_in(conn, identity, now)
    except STORE_UNAVAILABLE:
        return False


def list_tokens(conn: Connection, ward_code: Optional[str] = None, now: Optional[datetime] = None) -> list[TokenInfo]:
    """Every token (or one unit's), oldest first, without secrets."""
    query = sa.select(tokens).order_by(tokens.c.created_at, tokens.c.token_id)
    if ward_code is not None:
        query = query.where(tokens.c.ward_code == ward_code)
    now = _now(now)
    return [_info(row, now) for row in conn.execute(query)]


def get_token(conn: Connection, token_id: str, now: Optional[datetime] = None) -> TokenInfo:
    row = conn.execute(sa.select(tokens).where(tokens.c.token_id == token_id)).first()
    if row is None:
        raise TokenNotFound(f"no token with id {token_id[:40]!r}")
    return _info(row, _now(now))


def rotate_token(conn: Connection, token_id: str, grace: timedelta = DEFAULT_GRACE, actor: Optional[str] = None,
                 now: Optional[datetime] = None) -> Rotation:
    """Issue a successor with the same kind, unit and label; the old token expires after ``grace``."""
    now = _now(now)
    if grace < timedelta(0):
        raise TokenError("the grace period cannot be negative")
    old = get_token(conn, token_id, now)
    if old.state != "active":
        raise TokenError(f"token {token_id} is {old.state}; only an active token can be rotated")
    expires = now + grace
    # Conditional, so two admins rotating the same token at once cannot both issue a successor.
    claimed = conn.execute(tokens.update().where(tokens.c.token_id == token_id)
                           .where(tokens.c.expires_at.is_(None)).where(tokens.c.revoked_at.is_(None))
                           .values(expires_at=expires))
    if claimed.rowcount != 1:
        raise TokenError(f"token {token_id} was rotated or revoked meanwhile")
    new_id, token = _insert(conn, old.ward_code, old.label, old.kind, now, replaces=token_id)
    audit.record(conn, actor or audit.cli_actor(), "token.rotate", token_id, old.ward_code,
                 {"kind": old.kind, "new_token_id": new_id, "grace_seconds": int(grace.total_seconds()),
                  "expires_at": expires.isoformat()}, at=now)
    return Rotation(token, new_id, token_id, expires)


def revoke_token(conn: Connection, token_id: str, actor: Optional[str] = None,
                 now: Optional[datetime] = None) -> TokenInfo:
    """End a token at once (an expiring or expired one too, so the list says so plainly)."""
    now = _now(now)
    old = get_token(conn, token_id, now)
    if old.revoked_at is not None:  # state "revoked" (see _state)
        raise TokenError(f"token {token_id} was already revoked at {old.revoked_at.isoformat()}")
    done = conn.execute(tokens.update().where(tokens.c.token_id == token_id)
                        .where(tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    if done.rowcount != 1:
        raise TokenError(f"token {token_id} was revoked meanwhile")
    audit.record(conn, actor or audit.cli_actor(), "token.revoke", token_id, old.ward_code,
                 {"kind": old.kind, "previous_state": old.state}, at=now)
    return get_token(conn, token_id, now)
