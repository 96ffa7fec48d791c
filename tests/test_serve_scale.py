"""`hdc-collector serve --workers N` and `--tls-cert/--tls-key`: real processes, a real agent, a test CA."""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import ROOT, free_port, need, start_collector, stop, ward_token
from support.nginx import start_nginx
from support.output import Output
from support.reports import windows_pc
from support.store import count

pytestmark = pytest.mark.integration


def _ingest_counter(url: str, **kw) -> float:
    text = requests.get(url + "/metrics", timeout=30, **kw).text
    line = next(row for row in text.splitlines() if row.startswith('hdc_ingest_reports_total{result="accepted"}'))
    return float(line.split()[-1])


@pytest.mark.skipif(sys.platform == "win32", reason="gunicorn workers are POSIX-only")
def test_two_workers_on_sqlite_store_every_report_once_and_count_them_all(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    token = ward_token(db_url, "00070")
    collector = start_collector(db_url, "--workers", "2", "--threads", "4", "--token-rate-limit", "0")
    try:
        docs = []
        for i in range(60):
            doc = copy.deepcopy(windows_pc(device=f"dev-{i % 20}", at=f"2025-10-01T{8 + i // 20:02d}:00:00Z"))
            doc["report_id"] = str(uuid.uuid4())
            docs.append(doc)
        headers = {"Authorization": f"Bearer {token}"}

        def post(doc):
            return requests.post(collector.url + "/api/v1/reports", json=doc, headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(8) as pool:
            first = list(pool.map(post, docs))
            again = list(pool.map(post, docs[:10]))  # retries after lost acknowledgements
        assert first == [201] * 60 and again == [200] * 10
        # Whichever worker answers the scrape, the counters are those of both.
        assert {_ingest_counter(collector.url) for _ in range(6)} == {60.0}
    finally:
        stop(collector.proc)
    assert count(db_url, "reports") == 60 and count(db_url, "devices") == 20
    assert count(db_url, "software_lists") == 1


def _start_tls(db_url: str, certs: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "serve", "--db", db_url, "--port", str(port),
                             "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    output = Output(proc.stdout)
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited: {output.text(settle=5)}")
        try:
            if requests.get(url + "/healthz", timeout=1, verify=str(certs / "ca.pem")).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("collector did not become healthy within 60 s")


def _agent(tmp_path: Path, url: str, token: str, extra: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "token").write_text(token)
    (tmp_path / "token").chmod(0o600)
    config = tmp_path / "agent.yaml"
    config.write_text(f'collector_url: "{url}"\nward_code: "00070"\ntoken_file: "{tmp_path / "token"}"\n'
                      f'outbox_dir: "{tmp_path / "outbox"}"\ntimeout_seconds: 20\n{extra}', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "agents.cli", "run", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.skipif(sys.platform == "win32", reason="TLS serving uses gunicorn, POSIX-only")
def test_collector_serves_tls_and_the_agent_trusts_it_only_through_its_ca(tmp_path, certificates):
    need(certificates is not None, "no test certificates")
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    token = ward_token(db_url, "00070")
    proc, url = _start_tls(db_url, certificates)
    try:
        # Plain HTTP to the TLS port gets no answer a client could mistake for the API.
        with pytest.raises(requests.RequestException):
            requests.get(url.replace("https://", "http://") + "/healthz", timeout=5).raise_for_status()
        # Without the CA the real agent refuses the server and keeps its report for later.
        refused = _agent(tmp_path, url, token)
        assert refused.returncode != 0 and "not trusted" in refused.stderr, refused.stderr
        assert count(db_url, "reports") == 0
        # With the CA configured it sends its report, and the queued one as well.
        sent = _agent(tmp_path, url, token, f'ca_bundle: "{certificates / "ca.pem"}"\n')
        assert sent.returncode == 0, sent.stderr
        assert count(db_url, "reports") == 2
        assert _ingest_counter(url, verify=str(certificates / "ca.pem")) == 2.0
    finally:
        stop(proc)


def test_tls_options_are_checked_before_serving(tmp_path, certificates):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    base = [sys.executable, "-m", "collector.cli", "serve", "--db", db_url, "--port", str(free_port())]
    half = subprocess.run(base + ["--tls-cert", str(certificates / "server.pem")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert half.returncode != 0 and "--tls-cert and --tls-key go together" in half.stderr
    swapped = subprocess.run(base + ["--tls-cert", str(certificates / "server.key"),
                                     "--tls-key", str(certificates / "server.pem")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert swapped.returncode != 0 and "cannot be used as the server's certificate and key" in swapped.stderr
    assert "Traceback" not in swapped.stderr


def _nginx(tmp_path: Path, certs: Path, upstream: str) -> tuple[subprocess.Popen, str]:
    """Debian's nginx as the TLS terminator in front of a plain-HTTP collector, as the README shows it."""
    need(shutil.which("nginx") is not None, "nginx not installed (Debian package 'nginx-light')")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    proc = start_nginx(tmp_path / "nginx", f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate     {certs}/server.pem;
        ssl_certificate_key {certs}/server.key;
        client_max_body_size 8m;
        client_body_buffer_size 8m;
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}""", url, verify=str(certs / "ca.pem"))
    return proc, url


def test_behind_a_tls_terminator_the_agent_delivers_through_it(tmp_path, certificates):
    need(certificates is not None, "no test certificates")
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    collector = start_collector(db_url)
    try:
        proxy, url = _nginx(tmp_path, certificates, collector.url)
        try:
            refused = _agent(tmp_path, url, collector.token("00070"))
            assert refused.returncode != 0 and "not trusted" in refused.stderr, refused.stderr
            sent = _agent(tmp_path, url, collector.token("00070"), f'ca_bundle: "{certificates / "ca.pem"}"\n')
            assert sent.returncode == 0, sent.stderr
            assert count(db_url, "reports") == 2
            # The collector's own answers pass through unchanged, security headers included.
            page = requests.get(url + "/", timeout=30, verify=str(certificates / "ca.pem"))
            assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        finally:
            stop(proxy)
    finally:
        stop(collector.proc)
