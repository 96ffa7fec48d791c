"""Posting many reports to a collector over HTTP, as many agents would.

Used by ``demo`` and ``simulate``; it goes through the real ingest path
(HTTP, token, validation, store) so what the demo shows is what agents get.
Each report goes as ``hdc-agent`` queues it (compact JSON, the software list
last) and, once the collector has acknowledged a software list (its answer
names the list's ``software_sha256``), later reports with that list go
without it, named by its digest in the ``Hdc-Software-Sha256`` header, as
agents send an unchanged list (docs/wire.md); a 409 ``software_list_unknown``
sends the report whole at once, as the agent does. Bodies are not gzipped:
compression saves a ward's link, and on the loopback a demo loads over it
would only cost both processes CPU.
"""
from __future__ import annotations

import hashlib
import http.client
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit

import orjson

SOFTWARE = "software"
SOFTWARE_HEADER = "Hdc-Software-Sha256"
_LIST_UNKNOWN = b"software_list_unknown"


@dataclass
class PostStats:
    by_status: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    # Reports sent without their software list, named by its digest (``Hdc-Software-Sha256``).
    by_digest: int = 0

    @property
    def sent(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class Encoded:
    """A report as an agent queues it (``whole``) and, when it has a software list, the list's digest and the
    report without the list (``rest``), to send when the collector already holds the list."""

    whole: bytes
    sha256: Optional[str] = None
    rest: bytes = b""


def encode(doc: dict) -> Encoded:
    """``doc`` as compact JSON with its software list as the last member (where a collector puts back a list
    named by its digest, so either way the stored body is the same), serialised once by orjson."""
    listing = doc.get(SOFTWARE)
    if not isinstance(listing, list):
        return Encoded(orjson.dumps(doc))
    rest = orjson.dumps({key: value for key, value in doc.items() if key != SOFTWARE})
    text = orjson.dumps(listing)
    whole = b"%s%s\"%s\":%s}" % (rest[:-1], b"," if len(rest) > 2 else b"", SOFTWARE.encode(), text)
    return Encoded(whole, hashlib.sha256(text).hexdigest(), rest)


def post_reports(url: str, reports: Iterable[dict], token_for: Callable[[str], str], concurrency: int = 4,
                 timeout: float = 60.0, progress: Optional[Callable[[int], None]] = None,
                 lists: Optional[set[str]] = None) -> PostStats:
    """Post every report, ``concurrency`` at a time over keep-alive connections; memory stays bounded.

    ``lists``: digests of the software lists the collector acknowledged, shared between calls (a later call
    sends those lists as their digests) and added to as the collector acknowledges more.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:  # otherwise every worker thread would fail and the queue would block forever
        raise ValueError(f"{url!r} names no host")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    stats, lock = PostStats(), threading.Lock()
    known: set[str] = set() if lists is None else lists
    work: queue.Queue = queue.Queue(maxsize=concurrency * 4)
    done = object()

    def send(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            conn.request("POST", "/api/v1/reports", body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return 0, str(exc).encode()

    def post(conn: http.client.HTTPConnection, doc: dict) -> tuple[int, bytes, bool]:
        """The report sent as an agent sends it; its status, answer and whether it went by digest."""
        report = encode(doc)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_for(doc['ward_code'])}"}
        if report.sha256 is not None and report.sha256 in known:
            status, detail = send(conn, report.rest, {**headers, SOFTWARE_HEADER: report.sha256})
            if not (status == 409 and _LIST_UNKNOWN in detail):
                return status, detail, True
            known.discard(report.sha256)  # the collector no longer holds it: the report goes whole, at once
        status, detail = send(conn, report.whole, headers)
        if status in (200, 201) and report.sha256 is not None and report.sha256.encode() in detail:
            known.add(report.sha256)
        return status, detail, False

    def worker() -> None:
        conn = conn_cls(host, parts.port, timeout=timeout)
        while (doc := work.get()) is not done:
            started = time.perf_counter()
            status, detail, by_digest = post(conn, doc)
            elapsed = time.perf_counter() - started
            with lock:
                stats.by_status[status] += 1
                stats.by_digest += by_digest
                stats.latencies.append(elapsed)
                if status not in (200, 201) and len(stats.errors) < 20:
                    stats.errors.append(f"{status}: {detail[:300].decode(errors='replace')}")
                if progress:
                    progress(stats.sent)
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for doc in reports:
        work.put(doc)
    for _ in threads:
        work.put(done)
    for t in threads:
        t.join()
    return stats
