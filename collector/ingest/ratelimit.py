"""Rate limits of the token routes: a bucket per token, one per client address, one of failures per address.

A bucket holds up to ``burst`` requests and refills at ``per_minute``; a
request finding it empty is answered 429 with ``Retry-After`` (whole
seconds until the next request would be let in), which our agent honours by
keeping the report and waiting. Failed authentications are counted apart,
per address: while an address has spent them its tokens are not even looked
up (so floods of bad tokens cost no store lookups), and a stranger spends
only his own, never what valid tokens from the same proxy or NAT use. The
token and address buckets are spent by authenticated requests only, so only
the token's holder can spend them. IPv6 clients are counted by their /64,
which one host usually owns whole.

Buckets live in this process: collectors scaled out behind a balancer each
count their own share. A full bucket is the same as no bucket, so full ones
are forgotten when the table grows past ``MAX_KEYS`` and memory stays bounded
(under a spray of more addresses than that, the table starts afresh).
"""
from __future__ import annotations

import ipaddress
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

from collector.settings import Rate, RateLimits

MAX_KEYS = 100_000


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused and how long the client should wait."""

    retry_after: int
    message: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TokenBuckets:
    """Thread-safe buckets by key for one rate."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS):
        self.rate = rate
        self._per_second = rate.per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0) -> Optional[float]:
        """Spend ``cost`` (one request, or bytes) for ``key``: None when allowed, else the seconds until it would be.

        A cost above the burst could never be paid: it is refused with the time a full bucket takes.
        """
        if not self.rate.enabled:
            return None
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - at) * self._per_second)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                if len(self._buckets) > self._max_keys:
                    self._forget_full(now)
                return None
            self._buckets[key] = (tokens, now)
            return (min(cost, float(self.rate.burst)) - tokens) / self._per_second

    def wait(self, key: str) -> Optional[float]:
        """None when ``key`` could spend one request now, else the seconds until it could; spends nothing."""
        if not self.rate.enabled:
            return None
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - at) * self._per_second)
            return None if tokens >= 1.0 else (1.0 - tokens) / self._per_second

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        burst = float(self.rate.burst)
        full = [k for k, (tokens, at) in self._buckets.items() if tokens + (now - at) * self._per_second >= burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys // 2:
            # Most buckets in use: an address spray. Starting afresh forgives some clients, but memory
            # stays bounded and each scan frees at least half the table, so scans stay rare.
            self._buckets.clear()


class IngestLimiter:
    """The limits of the token routes: per token, per address, and failed authentications per address."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._by_token = TokenBuckets(limits.token, clock)
        self._by_address = TokenBuckets(limits.address, clock)
        self._failures = TokenBuckets(limits.failures, clock)

    def check_failures(self, address: Optional[str]) -> Optional[Refusal]:
        """Refused while the address has spent its failed authentications (spends nothing itself)."""
        wait = self._failures.wait(address_key(address))
        if wait is None:
            return None
        return Refusal(_whole_seconds(wait), f"too many failed authentications from this address (limit "
                                             f"{_describe(self.limits.failures)}); retry later")

    def note_failure(self, address: Optional[str]) -> None:
        """A token from ``address`` was not valid."""
        self._failures.take(address_key(address))

    def check_address(self, address: Optional[str]) -> Optional[Refusal]:
        wait = self._by_address.take(address_key(address))
        if wait is None:
            return None
        return Refusal(_whole_seconds(wait), f"too many requests from this address (limit "
                                             f"{_describe(self.limits.address)}); retry later")

    def check_token(self, token_id: str) -> Optional[Refusal]:
        wait = self._by_token.take(token_id)
        if wait is None:
            return None
        return Refusal(_whole_seconds(wait), f"too many reports with this token (limit "
                                             f"{_describe(self.limits.token)}); retry later")


@lru_cache(maxsize=4096)
def address_key(address: Optional[str]) -> str:
    """The address itself, or its /64 for IPv6 (IPv4-mapped addresses count as IPv4).

    Remembered for the addresses last seen: every token-protected request asks twice, and parsing the address
    each time cost 16 us of a report's request path.
    """
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _whole_seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def _describe(rate: Rate) -> str:
    return f"{rate.per_minute:g} per minute, bursts of {rate.burst}"
