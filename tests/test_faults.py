"""Faults, done for real: the collector killed with SIGKILL under load, a full disk, a read-only store.

The promise under every fault is the same: a report the collector
acknowledged is stored, one it could not store is not acknowledged (the
agent keeps it in its outbox and delivers it later), nothing is stored
twice, and the store stays consistent.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest
import requests

from agents.outbox import Outbox
from inventory.registry import load_registry

from conftest import ROOT, cli, free_port, need
from support.faults import (
    can_mount_tmpfs,
    fill,
    kill9,
    remount,
    run_agent,
    small_volume,
    start_at,
    stored_ids,
    write_agent_config,
)
from support.fuzz import FIGURES, TokenPool
from support.integrity import integrity_problems, store_rows

pytestmark = [pytest.mark.integration, pytest.mark.long]

AGENTS, RUNS_EACH, KILLS = 6, 3, 2


def save(name: str, figures: dict) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")


@dataclass
class FullDisk:
    """A collector whose store's filesystem filled up and was freed again, and what it and an agent said meanwhile."""

    db_url: str
    ward: str
    before: dict
    refused: list[requests.Response]
    agent: subprocess.CompletedProcess
    pending_while_full: int
    rows_while_full: dict
    outbox: Outbox
    config: Path
    freed_at: float
    held: Optional[float]


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory) -> Iterator[FullDisk]:
    """The disk fills, is refused and freed at the start of the module; the agent's Retry-After (60 s, set by the
    collector) then runs out during the kill -9 tests, and the module's last test sees the agent deliver."""
    tmp = tmp_path_factory.mktemp("full-disk")
    need(can_mount_tmpfs(tmp / "probe"), "cannot mount a tmpfs here (needs root and a permissive machine)")
    with small_volume(tmp / "volume", "3m") as volume:
        db_url = f"sqlite:///{volume / 'store.sqlite3'}"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_at(db_url, port)
        ward = "00070"
        token = TokenPool(db_url, ward, 1).next()
        try:
            assert post(url, token, valid_report(ward)).status_code == 201
            before = store_rows(db_url)
            filler = fill(volume)
            # Each report needs new pages; none fits any more.
            refused = [post(url, token, valid_report(ward)) for _ in range(20)] + [post_foreign(url, ward, token)]
            config = write_agent_config(tmp / "agent", url, ward, token)
            agent = run_agent(config)
            outbox = Outbox(tmp / "agent" / "outbox")
            pending, rows = len(outbox.pending()), store_rows(db_url)
            filler.unlink()
            yield FullDisk(db_url, ward, before, refused, agent, pending, rows, outbox, config, time.time(),
                           outbox.held_until())
        finally:
            kill9(proc)


def test_a_full_disk_is_answered_503_and_the_agent_keeps_its_report(full_disk):
    for answer in full_disk.refused:
        assert_unavailable(answer)
    assert full_disk.agent.returncode == 1 and "kept in" in full_disk.agent.stderr, full_disk.agent.stderr
    assert full_disk.pending_while_full == 1
    assert full_disk.rows_while_full == full_disk.before
    # The agent honours the 503's Retry-After: it holds its outbox until then (it delivers in the last test).
    assert full_disk.held is not None and full_disk.held > full_disk.freed_at + 30


def test_kill_9_under_load_loses_nothing_and_stores_nothing_twice(db_url, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_at(db_url, port)
    # Six agents of one unit, each with its own outbox and token: all run on this machine, which is one device,
    # and a device belongs to one unit (agents of other units would be refused taking it over).
    ward = next(iter(load_registry())).code
    wards = [ward]
    agents = [str(n) for n in range(AGENTS)]
    configs = [write_agent_config(tmp_path / f"agent-{n}", url, ward, TokenPool(db_url, ward, 1).next())
               for n in agents]
    runs = {n: 0 for n in agents}
    lock = threading.Lock()
    state = {"proc": proc, "kills": 0}

    killing = threading.Event()
    killing.set()

    def agent(name: str, config: Path, times: int) -> None:
        """Run ``times`` times, and on while the killer is still at work: the load lasts until the last kill."""
        done_runs = 0
        while done_runs < times or (killing.is_set() and done_runs < 10 * times):
            done_runs += 1
            done = run_agent(config)
            assert done.returncode in (0, 1), done.stderr  # delivered, or queued for the next run
            with lock:
                runs[name] += 1

    def killer() -> None:
        """Kill the collector each time a few more reports have arrived, then start it again."""
        for _ in range(KILLS):
            goal = len(stored_ids(db_url, wards)) + AGENTS
            deadline = time.monotonic() + 120
            while len(stored_ids(db_url, wards)) < goal and time.monotonic() < deadline:
                time.sleep(0.05)
            kill9(state["proc"])
            state["kills"] += 1
            time.sleep(1.0)  # agents meet a dead port meanwhile and keep their reports
            state["proc"] = start_at(db_url, port)
        killing.clear()

    threads = [threading.Thread(target=agent, args=(n, c, RUNS_EACH)) for n, c in zip(agents, configs)]
    threads.append(threading.Thread(target=killer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    try:
        assert state["kills"] == KILLS
        # Let every agent flush its outbox (each run also queues one new report).
        for _ in range(10):
            waiting = [c for c in configs if Outbox(c.parent / "outbox").pending()]
            if not waiting:
                break
            for config in waiting:
                agent(config.parent.name.split("-")[1], config, 1)
        pending = sum(len(Outbox(c.parent / "outbox").pending()) for c in configs)
        rejected = sum(1 for c in configs for p in (c.parent / "outbox").rglob("*") if "rejected" in str(p))
        ids = stored_ids(db_url, wards)
        figures = {"backend": db_url.split(":")[0], "agents": AGENTS, "reports_made": sum(runs.values()),
                   "reports_stored": len(ids), "lost": sum(runs.values()) - len(set(ids)),
                   "duplicates": len(ids) - len(set(ids)), "kill_9": state["kills"], "left_in_outboxes": pending,
                   "rejected": rejected}
        save(f"faults-kill9-{figures['backend']}", figures)
        assert pending == 0 and rejected == 0
        assert len(ids) == len(set(ids)) == sum(runs.values())
        assert integrity_problems(db_url) == []
    finally:
        kill9(state["proc"])


def valid_report(ward: str) -> dict:
    from inventory.report import empty_report

    doc = empty_report(ward, "hdc-agent", "0.1.0", "agent")
    doc["device"].update(id=f"disk-{uuid.uuid4()}", hostname="PC-01", **{"class": "workstation"})
    doc["software"] = [{"name": f"package {i}", "version": "1.0", "publisher": "x" * 100} for i in range(200)]
    return doc


def post(url: str, token: str, doc: dict) -> requests.Response:
    return requests.post(url + "/api/v1/reports", data=json.dumps(doc),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=60)


def post_foreign(url: str, ward: str, token: str) -> requests.Response:
    body = {"action": "inventory", "deviceid": f"pc-{uuid.uuid4()}",
            "content": {"hardware": {"name": "pc", "memory": 8000, "uuid": str(uuid.uuid4())},
                        "softwares": [{"name": f"p{i}", "version": "1"} for i in range(100)]}}
    return requests.post(url + "/inventory", data=json.dumps(body).encode(), auth=(ward, token), timeout=60)


@pytest.fixture
def volume(tmp_path):
    need(can_mount_tmpfs(tmp_path / "probe"), "cannot mount a tmpfs here (needs root and a permissive machine)")
    with small_volume(tmp_path / "volume", "3m") as directory:
        yield directory


def assert_unavailable(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    assert "retry" in answer.text.lower()


def test_a_collector_that_cannot_open_its_store_says_so_in_one_line(volume):
    """A read-only store with no write-ahead log to read through cannot be opened: one line, no traceback."""
    db_file = volume / "store.sqlite3"
    created = cli("collector.cli", "token", "create", "--ward", "00070", "--db", f"sqlite:///{db_file}")
    assert created.returncode == 0, created.stderr  # the store is created, migrated and closed cleanly
    remount(volume, "ro")
    try:
        done = subprocess.run([sys.executable, "-m", "collector.cli", "serve", "--db", f"sqlite:///{db_file}",
                               "--host", "127.0.0.1", "--port", str(free_port())], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
    finally:
        remount(volume, "rw")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert str(db_file) in done.stderr and "cannot open" in done.stderr, done.stderr


def test_a_read_only_postgresql_is_answered_503_and_nothing_is_acknowledged(postgres_server):
    """PostgreSQL refusing writes (a standby after a failover, or default_transaction_read_only): 503, not 500."""
    import sqlalchemy as sa

    db_url = postgres_server.new_database()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_at(db_url, port)
    ward = "00070"
    token = TokenPool(db_url, ward, 1).next()
    name = db_url.rsplit("/", 1)[1]
    admin = sa.create_engine(postgres_server.admin_url, isolation_level="AUTOCOMMIT")
    try:
        assert post(url, token, valid_report(ward)).status_code == 201
        before = store_rows(db_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        for _ in range(5):
            assert_unavailable(post(url, token, valid_report(ward)))
        assert_unavailable(post_foreign(url, ward, token))
        assert store_rows(db_url) == before
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        assert post(url, token, valid_report(ward)).status_code == 201
        assert integrity_problems(db_url) == []
        save("faults-read-only-postgresql", {"requests_refused_503": 6, "acknowledged_but_lost": 0})
    finally:
        admin.dispose()
        kill9(proc)


def test_after_the_full_disk_the_agent_waits_out_retry_after_and_delivers(full_disk):
    """Last in the module: the wait for the hold has passed during the tests before, or is waited out here."""
    assert full_disk.held is not None
    time.sleep(max(0.0, full_disk.held - time.time()) + 0.5)
    done = run_agent(full_disk.config)
    assert done.returncode == 0, done.stderr
    assert full_disk.outbox.pending() == []
    assert len(stored_ids(full_disk.db_url, [full_disk.ward])) == 1 + 2  # the first, and the agent's two runs
    assert integrity_problems(full_disk.db_url) == []
    save("faults-disk-full", {"requests_refused_503": len(full_disk.refused) + 1, "acknowledged_but_lost": 0})
