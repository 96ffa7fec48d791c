"""Never lose a report, never store one twice: the real agent process against the real collector.

The collector's SQLite file is the witness: what it holds is what was stored.
"""
from __future__ import annotations

import socket
import sqlite3
import threading
import time
from http.client import HTTPResponse
from pathlib import Path

import pytest
import requests

from agents.outbox import Outbox
from agents.sender import Sender, deliver

from conftest import cli, start_collector, stop

pytestmark = pytest.mark.integration
WARD = "00070"


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """Loopback traffic must not go through a proxy the environment names (the agent subprocesses inherit this)."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def write_config(tmp_path: Path, url: str, token: str, retry_initial: float) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(f'collector_url: {url}\nward_code: "{WARD}"\ntoken: {token}\nallow_insecure_http: true\n'
                    f"outbox_dir: {tmp_path / 'outbox'}\ntimeout_seconds: 10\nconnect_timeout_seconds: 2\n"
                    f"retry_initial_seconds: {retry_initial}\n")
    path.chmod(0o600)
    return path


def stored(db_file: Path) -> list:
    with sqlite3.connect(db_file) as conn:
        return [r[0] for r in conn.execute("SELECT report_id FROM reports WHERE ward_code = ?", (WARD,))]


def run_agent(config: Path):
    return cli("agents.cli", "run", "--config", str(config), timeout=60)


def test_reports_queued_while_the_collector_is_down_arrive_once_in_order(tmp_path):
    db_file = tmp_path / "store.sqlite3"
    collector = start_collector(f"sqlite:///{db_file}")
    token = collector.token(WARD)
    stop(collector.proc)
    config = write_config(tmp_path, collector.url, token, retry_initial=1)
    for attempt in range(3):
        done = run_agent(config)
        assert done.returncode == 1, done.stderr  # queued: the next run retries on its own
        assert f"{attempt + 1} report(s) kept in" in done.stderr
    queued = [q.report_id for q in Outbox(tmp_path / "outbox").pending()]
    assert len(queued) == 3 and stored(db_file) == []
    status = cli("agents.cli", "status", "--config", str(config))
    assert "queued:            3 report(s)" in status.stdout and "cannot reach" in status.stdout

    collector = start_collector(f"sqlite:///{db_file}")
    try:
        config = write_config(tmp_path, collector.url, token, retry_initial=1)  # same queue, the new port
        held = Outbox(tmp_path / "outbox").held_until()
        if held is not None:
            time.sleep(max(0.0, held - time.time()) + 0.05)  # the 1 s backoff, at most
        done = run_agent(config)
        assert (done.returncode, done.stderr) == (0, "")
        ids = stored(db_file)
        assert len(ids) == 4 and len(set(ids)) == 4 and set(queued) < set(ids)
        assert Outbox(tmp_path / "outbox").pending() == []
        with sqlite3.connect(db_file) as conn:
            order = [r[0] for r in conn.execute("SELECT report_id FROM reports ORDER BY received_at, rowid")]
        assert order[:3] == queued  # oldest first
        ward = requests.get(f"{collector.url}/api/v1/wards/{WARD}", timeout=10).json()
        assert len(ward["devices"]) == 1  # four reports, one machine
    finally:
        stop(collector.proc)


class AckDroppingProxy:
    """A TCP relay on 127.0.0.1 that hands each request to the collector, waits for its whole answer (so
    the report is stored), then, ``drops`` times, hangs up on the agent instead of relaying the answer."""

    def __init__(self, upstream_port: int, drops: int) -> None:
        self.upstream_port, self.drops, self.dropped = upstream_port, drops, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client:
                request = _read_request(client)
                with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10) as upstream:
                    upstream.sendall(request)
                    answer = HTTPResponse(upstream)
                    answer.begin()
                    body = answer.read()
                    if self.dropped < self.drops:
                        self.dropped += 1
                        continue  # the collector stored it; the agent never hears so
                    head = f"HTTP/1.1 {answer.status} {answer.reason}\r\n".encode("latin-1")
                    head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in answer.getheaders()
                                     if k.lower() not in ("transfer-encoding", "connection"))
                    client.sendall(head + b"Connection: close\r\n\r\n" + body)

    def close(self) -> None:
        self.server.close()


def _read_request(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += client.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_lost_acknowledgement_is_retried_and_stored_once(tmp_path):
    db_file = tmp_path / "store.sqlite3"
    collector = start_collector(f"sqlite:///{db_file}")
    proxy = AckDroppingProxy(int(collector.url.rsplit(":", 1)[1]), drops=1)
    try:
        token = collector.token(WARD)
        config = write_config(tmp_path, f"http://127.0.0.1:{proxy.port}", token, retry_initial=0)
        done = run_agent(config)
        assert done.returncode == 1 and "1 report(s) kept" in done.stderr, done.stderr
        [report_id] = [q.report_id for q in Outbox(tmp_path / "outbox").pending()]
        assert stored(db_file) == [report_id]  # stored, but the agent could not know

        outbox = Outbox(tmp_path / "outbox")
        summary = deliver(outbox, Sender(f"http://127.0.0.1:{proxy.port}/api/v1/reports", token, timeout=10))
        assert (summary.delivered, summary.remaining) == (1, 0)
        assert stored(db_file) == [report_id]
        assert proxy.dropped == 1
        metrics = requests.get(f"{collector.url}/metrics", timeout=10).text
        assert 'hdc_ingest_reports_total{result="duplicate"} 1.0' in metrics
    finally:
        proxy.close()
        stop(collector.proc)
