"""Ward tokens: created once, stored only as salted hashes, checked in constant time.

A token reads ``hdc_<id>_<secret>``. The id is public (it finds the row
without scanning); the secret is 256 random bits and only its salted SHA-256
is kept, so a copy of the database lets no one send reports.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import tokens

_FORMAT = re.compile(r"^hdc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
WARD = "ward"


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token speaks for."""

    token_id: str
    kind: str
    ward_code: Optional[str]


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def create_token(conn: Connection, ward_code: str, label: Optional[str] = None, kind: str = WARD) -> str:
    """Store a new token and return it in full; this is the only time it exists in clear."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    conn.execute(tokens.insert().values(
        token_id=token_id, kind=kind, ward_code=ward_code, salt=salt,
        secret_hash=_hash(salt, secret), label=label, created_at=datetime.now(timezone.utc)))
    return f"hdc_{token_id}_{secret}"


def verify_token(conn: Connection, presented: str) -> Optional[TokenIdentity]:
    """The identity behind a presented token, or None; never says which part was wrong."""
    m = _FORMAT.match(presented or "")
    if not m:
        return None
    token_id, secret = m.groups()
    row = conn.execute(sa.select(tokens).where(tokens.c.token_id == token_id)).first()
    if row is None or row.revoked_at is not None:
        # Spend the same work as a real check so timing does not reveal valid ids.
        hmac.compare_digest(_hash("0" * 32, secret), "0" * 64)
        return None
    if not hmac.compare_digest(_hash(row.salt, secret), row.secret_hash):
        return None
    return TokenIdentity(row.token_id, row.kind, row.ward_code)
