"""Posting many reports to a collector over HTTP, as many agents would.

Used by ``demo`` and ``simulate``; it goes through the real ingest path
(HTTP, token, validation, store) so what the demo shows is what agents get.
"""
from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit


@dataclass
class PostStats:
    by_status: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.by_status.values())


def post_reports(url: str, reports: Iterable[dict], token_for: Callable[[str], str], concurrency: int = 4,
                 timeout: float = 60.0, progress: Optional[Callable[[int], None]] = None) -> PostStats:
    """Post every report, ``concurrency`` at a time over keep-alive connections; memory stays bounded."""
    parts = urlsplit(url)
    host = parts.hostname
    if host is None:  # otherwise every worker thread would fail and the queue would block forever
        raise ValueError(f"{url!r} names no host")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    stats, lock = PostStats(), threading.Lock()
    work: queue.Queue = queue.Queue(maxsize=concurrency * 4)
    done = object()

    def worker() -> None:
        conn = conn_cls(host, parts.port, timeout=timeout)
        while (doc := work.get()) is not done:
            body = json.dumps(doc, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json",
                       "Authorization": f"Bearer {token_for(doc['ward_code'])}"}
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/reports", body=body, headers=headers)
                resp = conn.getresponse()
                detail = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, detail = 0, str(exc).encode()
            elapsed = time.perf_counter() - started
            with lock:
                stats.by_status[status] += 1
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
