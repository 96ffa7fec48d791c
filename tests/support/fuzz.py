"""What the generated-input tests share: how many examples to run, and how every answer is judged.

The example counts scale with ``HDC_FUZZ_SCALE`` (a float; 1 is the full
budget CI runs, which together sends more than 10,000 requests). Without it,
the full budget runs where ``HDC_REQUIRE_REAL=1`` (CI) and a tenth of it
elsewhere, so a developer's ``make test`` stays quick.

Every answer to bad input must be a 4xx whose body names the problem; the
tally counts what was sent and what came back, and is written to
``test-artifacts/reliability/`` for the README's figures.
"""
from __future__ import annotations

import gzip
import json
import os
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "test-artifacts" / "reliability"


def scale() -> float:
    raw = os.environ.get("HDC_FUZZ_SCALE")
    if raw:
        return max(float(raw), 0.001)
    return 1.0 if os.environ.get("HDC_REQUIRE_REAL") == "1" else 0.1


def examples(full: int) -> int:
    """How many examples a property runs: ``full`` in CI, scaled elsewhere, never fewer than 10."""
    return max(10, round(full * scale()))


def fuzz_settings(full: int) -> settings:
    """Generation only: no shrinking (each step is a request), no example database, no deadline on a shared machine."""
    return settings(max_examples=examples(full), deadline=None, database=None, derandomize=False,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck))


@dataclass
class Tally:
    """Requests sent by one test, answers by status, and the answers that broke a promise."""

    name: str
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: int = 0
    broken: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, problem: Optional[str]) -> None:
        with self._lock:
            self.sent += 1
            self.statuses[status] += 1
            self.server_errors += status >= 500
            if problem and len(self.broken) < 20:
                self.broken.append(problem)

    def save(self, **extra: Any) -> dict:
        """Write the figures next to the other test artifacts and return them."""
        figures = {"test": self.name, "requests": self.sent, "server_errors": self.server_errors,
                   "statuses": {str(k): v for k, v in sorted(self.statuses.items())}, **extra}
        FIGURES.mkdir(parents=True, exist_ok=True)
        (FIGURES / f"{self.name}.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\n{self.name}: {json.dumps(figures)}")
        return figures


def decode_reply(response: requests.Response) -> bytes:
    """The answer's bytes as the agent reads them (foreign agents get compressed answers in their encoding)."""
    kind = response.headers.get("Content-Type", "")
    if kind in ("application/x-compress-zlib", "application/x-compress"):
        return zlib.decompress(response.content)
    if kind == "application/x-compress-gzip":
        return gzip.decompress(response.content)
    return response.content


def refusal_problem(response: requests.Response) -> Optional[str]:
    """None when ``response`` is a proper refusal (4xx, JSON naming the problem), else what is wrong with it."""
    sent = {k: v for k, v in response.request.headers.items() if k in ("Authorization", "Content-Type", "User-Agent")}
    where = f"{response.request.method} {response.request.path_url} {sent!r:.300} -> {response.status_code}"
    if not 400 <= response.status_code < 500:
        return f"{where}: not a 4xx: {response.text[:300]!r}"
    try:
        body = json.loads(decode_reply(response))
    except (ValueError, zlib.error, OSError):
        return f"{where}: the answer is not JSON: {response.content[:200]!r}"
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or len(message) < 8:
        return f"{where}: no message naming the problem: {body!r}"[:400]
    if "Traceback" in message:
        return f"{where}: a traceback in the message: {message[:300]!r}"
    return None


class Judge:
    """Sends requests on one session and records each answer against the refusal promise."""

    def __init__(self, tally: Tally, base_url: str):
        self.tally, self.base_url = tally, base_url
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only, never through a proxy the environment names

    def post(self, path: str, data: bytes, headers: Optional[dict] = None, auth=None) -> requests.Response:
        response = self.session.post(self.base_url + path, data=data, headers=headers or {}, auth=auth, timeout=120)
        self.check(response)
        return response

    def check(self, response: requests.Response) -> None:
        problem = refusal_problem(response)
        self.tally.record(response.status_code, problem)
        assert problem is None, problem


class TokenPool:
    """Several tokens of one unit, used in turn, so thousands of requests stay within each token's rate limit."""

    def __init__(self, db_url: str, ward: str, size: int):
        from collector.store.engine import make_engine
        from collector.store.tokens import create_token

        engine = make_engine(db_url)
        try:
            with engine.begin() as conn:
                self.tokens = [create_token(conn, ward, "fuzz") for _ in range(size)]
        finally:
            engine.dispose()
        self._turn = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._turn += 1
            return self.tokens[self._turn % len(self.tokens)]


def masked(rows: dict[str, list[tuple]], db_url: str) -> dict[str, list[tuple]]:
    """Store rows without ``tokens.last_used_at``, which a request the fuzzer sends well (an admin GET) may
    move, at most once a minute per token; every other byte of data must be unchanged."""
    from collector.store.engine import make_engine

    engine = make_engine(db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=["tokens"])
        columns = [c.name for c in meta.tables["tokens"].columns]
    finally:
        engine.dispose()
    if "last_used_at" not in columns:
        return rows
    at = columns.index("last_used_at")
    return {**rows, "tokens": sorted((r[:at] + r[at + 1:] for r in rows["tokens"]), key=repr)}
