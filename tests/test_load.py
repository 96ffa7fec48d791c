"""A held load on loopback: a stated rate of real reports for 60 s to a real collector, nothing lost or doubled.

Requests leave on a fixed schedule (open loop: a slow answer does not slow
the sender down, so queueing shows in the latency instead of hiding), from
several units' tokens at once, each report a distinct device snapshot. The
test asserts what must hold on any machine: every request answered 201, every
report stored once. The rate held and the latencies are printed and saved,
not asserted: they depend on the machine.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from inventory.registry import load_registry
from inventory.report import GiB, empty_report

from conftest import start_collector, stop
from support.faults import stored_ids
from support.fuzz import FIGURES, TokenPool
from support.integrity import integrity_problems

pytestmark = [pytest.mark.integration, pytest.mark.long]

RATE_PER_SECOND, SECONDS, WORKERS, UNITS = 20, 60, 16, 12


def report(ward: str, device: int) -> dict:
    doc = empty_report(ward, "hdc-agent", "0.1.0", "agent")
    doc["device"].update(id=f"load-{ward}-{device}", hostname=f"PC-{device:03d}", **{"class": "workstation"})
    doc["hardware"]["memory_bytes"] = 8 * GiB
    doc["os"].update(family="windows", id="windows", name="Windows 11 Pro", version="10", build="22631.4317")
    doc["software"] = [{"name": f"package {i}", "version": "1.0", "publisher": "Example"} for i in range(150)]
    return doc


def test_a_held_rate_for_60_seconds_is_stored_completely_once(tmp_path):
    collector = start_collector(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        wards = [w.code for w in load_registry()][:UNITS]
        tokens = {w: TokenPool(collector.db_url, w, 1).next() for w in wards}
        total = RATE_PER_SECOND * SECONDS
        latencies: list[float] = []
        failures: list[str] = []
        sent: list[str] = []
        lock = threading.Lock()
        local = threading.local()
        start = time.monotonic() + 1.0

        def send(i: int) -> None:
            ward = wards[i % len(wards)]
            doc = report(ward, i % 40)
            doc["report_id"] = str(uuid.uuid4())
            body = json.dumps(doc).encode()
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.trust_env = False
            time.sleep(max(0.0, start + i / RATE_PER_SECOND - time.monotonic()))
            began = time.monotonic()
            try:
                answer = local.session.post(collector.url + "/api/v1/reports", data=body, timeout=60,
                                            headers={"Authorization": f"Bearer {tokens[ward]}",
                                                     "Content-Type": "application/json"})
                problem = None if answer.status_code == 201 else f"{answer.status_code}: {answer.text[:200]}"
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            with lock:
                latencies.append(time.monotonic() - began)
                sent.append(doc["report_id"])
                if problem:
                    failures.append(problem)

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(send, range(total)))
        elapsed = time.monotonic() - start
        ids = stored_ids(collector.db_url, wards)
        latencies.sort()
        figures = {"requests": total, "seconds": round(elapsed, 1), "rate_per_second": round(total / elapsed, 1),
                   "target_rate_per_second": RATE_PER_SECOND, "errors": len(failures),
                   "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
                   "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
                   "max_ms": round(latencies[-1] * 1000, 1), "stored": len(ids),
                   "lost": len(set(sent) - set(ids)), "duplicates": len(ids) - len(set(ids))}
        FIGURES.mkdir(parents=True, exist_ok=True)
        (FIGURES / "load.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nload: {json.dumps(figures)}")
        assert failures == [], failures[:5]
        assert figures["lost"] == 0 and figures["duplicates"] == 0 and len(ids) == total
        assert integrity_problems(collector.db_url) == []
    finally:
        stop(collector.proc)
