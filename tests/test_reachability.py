"""HDC reachability (report schema v2): each step measured against real loopback servers, the whole
check bounded by its timeout, the results in the agent's report (Linux and Windows), and the
collector storing, aggregating and showing them while v1 reports keep being stored as before.
"""
from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from agents import reachability as reach_module
from agents.builder import Facts, build_report
from agents.cli import main
from agents.config import Endpoint
from agents.reachability import GRACE_SECONDS, check_endpoint, check_endpoints
from collector.store.engine import make_engine
from collector.store.tables import reachability, reports
from inventory.schema import validate_report

from conftest import need
from support.agent_env import closed_port, write_config
from support.proxy import ForwardProxy
from support.windows import laptop_probe

pytestmark = pytest.mark.usefixtures("no_proxies")

V2_KEYS = {"target", "url", "ok", "latency_ms", "connect_ms", "tls_ok", "tls_error", "http_status",
           "failed_step", "via_proxy", "error"}


class _Answer(BaseHTTPRequestHandler):
    """Answers with the status named by the path (``/503`` -> 503), 200 otherwise."""

    def do_HEAD(self) -> None:
        tail = self.path.strip("/")
        self.send_response(int(tail) if tail.isdigit() else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, *args) -> None:
        pass


class Server:
    """A real HTTP(S) server on 127.0.0.1 in a thread."""

    def __init__(self, tls: ssl.SSLContext = None) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def rogue_certificate(tmp_path_factory) -> tuple:
    """A self-signed certificate for 127.0.0.1 that no CA the agent knows has issued."""
    need(shutil.which("openssl") is not None, "openssl command not installed")
    d = tmp_path_factory.mktemp("rogue")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], cwd=d, check=True, capture_output=True, timeout=30)
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def servers(certificates, rogue_certificate):
    """Plain HTTP, HTTPS with the test CA's certificate, HTTPS with the rogue one."""
    plain = Server()
    trusted = Server(_tls(certificates / "server.pem", certificates / "server.key"))
    rogue = Server(_tls(*rogue_certificate))
    yield plain, trusted, rogue
    for server in (plain, trusted, rogue):
        server.close()


class Drip:
    """Accepts, then sends an HTTP answer one byte every 100 ms, never finishing it: each read succeeds."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self.stop.wait(0.1):
                    conn.sendall(b"X")
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def _facts() -> Facts:
    return Facts(device={"id": "x", "id_source": "hostname", "hostname": "x", "class": "other"},
                 hardware={}, firmware={}, os={"family": "linux", "name": "x", "id": "x"})


# --- each step, measured ----------------------------------------------------------------------

def test_every_step_is_measured_and_named(servers, certificates):
    plain, trusted, rogue = servers
    endpoints = [Endpoint("plain", plain.url + "/"), Endpoint("secure", trusted.url + "/"),
                 Endpoint("rogue", rogue.url + "/"), Endpoint("closed", f"http://127.0.0.1:{closed_port()}/"),
                 Endpoint("broken", plain.url + "/503"), Endpoint("auth", trusted.url + "/401"),
                 Endpoint("plain-as-tls", plain.url.replace("http://", "https://") + "/"),
                 Endpoint("wrong-name", trusted.url.replace("127.0.0.1", "localhost") + "/"),
                 Endpoint("dns-port", f"tcp://127.0.0.1:{plain.port}")]
    results = check_endpoints(endpoints, timeout=5, ca_bundle=certificates / "ca.pem")
    by = {r["target"]: r for r in results}
    assert [r["target"] for r in results] == [e.name for e in endpoints]
    assert all(set(r) == V2_KEYS for r in results)

    assert by["plain"] | {"latency_ms": 0, "connect_ms": 0} == {
        "target": "plain", "url": plain.url + "/", "ok": True, "latency_ms": 0, "connect_ms": 0, "tls_ok": None,
        "tls_error": None, "http_status": 200, "failed_step": None, "via_proxy": False, "error": None}
    assert by["plain"]["connect_ms"] >= 0 and by["plain"]["latency_ms"] >= by["plain"]["connect_ms"]
    assert (by["secure"]["ok"], by["secure"]["tls_ok"], by["secure"]["http_status"]) == (True, True, 200)
    assert (by["auth"]["ok"], by["auth"]["http_status"]) == (True, 401)  # it answered: reachable

    rogue_result = by["rogue"]
    assert (rogue_result["ok"], rogue_result["tls_ok"], rogue_result["failed_step"]) == (False, False, "tls")
    assert rogue_result["tls_error"].startswith("certificate not trusted (")
    assert "self-signed" in rogue_result["tls_error"] and rogue_result["error"] == "TLS " + rogue_result["tls_error"]
    assert rogue_result["connect_ms"] is not None and rogue_result["http_status"] is None
    assert by["wrong-name"]["tls_ok"] is False and "mismatch" in by["wrong-name"]["tls_error"].lower()
    assert by["plain-as-tls"]["tls_ok"] is False
    assert by["plain-as-tls"]["tls_error"].startswith("handshake failed")

    assert by["closed"] == {
        "target": "closed", "url": endpoints[3].url, "ok": False, "latency_ms": None, "connect_ms": None,
        "tls_ok": None, "tls_error": None, "http_status": None, "failed_step": "connect", "via_proxy": False,
        "error": "connection refused"}
    assert (by["broken"]["ok"], by["broken"]["http_status"], by["broken"]["failed_step"]) == (False, 503, "http")
    assert by["broken"]["error"] == "HTTP 503" and by["broken"]["connect_ms"] is not None
    assert (by["dns-port"]["ok"], by["dns-port"]["http_status"], by["dns-port"]["tls_ok"]) == (True, None, None)
    assert by["dns-port"]["latency_ms"] == by["dns-port"]["connect_ms"]

    report = build_report(_facts(), reachability=results)
    assert report["schema_version"] == 2 and validate_report(report) == []


def test_without_the_city_ca_the_test_ca_is_not_trusted(servers):
    _, trusted, _ = servers
    result = check_endpoint(Endpoint("secure", trusted.url + "/"), 5)
    assert (result.ok, result.tls, result.failed_step) == (False, False, "tls")
    assert result.tls_error.startswith("certificate not trusted")


# --- never hangs ------------------------------------------------------------------------------

def test_one_timeout_covers_the_whole_check():
    """A server dribbling its answer passes every per-read timeout; the check's own deadline still ends it."""
    drip = Drip()
    try:
        started = time.monotonic()
        (result,) = check_endpoints([Endpoint("drip", drip.url)], timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        drip.close()
    assert (result["ok"], result["failed_step"], result["http_status"]) == (False, "http", None)
    assert result["error"] == "timed out after 0.5 s" and result["connect_ms"] is not None
    assert elapsed < 0.5 + GRACE_SECONDS + 5  # generous for a loaded machine; the drip alone never ends


def test_a_silent_server_and_a_hung_resolver_cannot_hold_the_agent(monkeypatch):
    """A name server that never answers cannot be started here (network stays on loopback), so the
    resolver call itself is made to hang; the check is reported as timed out in the resolve step."""
    release = threading.Event()
    real = socket.getaddrinfo

    def hung(host, *args, **kwargs):
        if host != "hdc.example":
            return real(host, *args, **kwargs)
        release.wait(60)  # never asks a real name server: the network stays on loopback
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(reach_module.socket, "getaddrinfo", hung)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # the handshake completes in the backlog; nothing is ever answered
    try:
        started = time.monotonic()
        hung_result, silent_result = check_endpoints(
            [Endpoint("hung-dns", "https://hdc.example/"), Endpoint("silent", f"http://127.0.0.1:{silent.getsockname()[1]}/")],
            timeout=0.5)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        silent.close()
    assert hung_result == {**hung_result, "ok": False, "failed_step": "resolve", "connect_ms": None,
                           "error": "timed out after 0.5 s"}
    assert (silent_result["ok"], silent_result["failed_step"]) == (False, "http")
    assert silent_result["error"] == "timed out after 0.5 s" and silent_result["connect_ms"] is not None
    assert elapsed < 0.5 + GRACE_SECONDS + 5


# --- in the agent's report, on Linux and on Windows -------------------------------------------

def _config(tmp_path: Path, endpoints: dict, certificates: Path) -> Path:
    lines = "".join(f"  - {{name: {name}, url: '{url}'}}\n" for name, url in endpoints.items())
    return write_config(tmp_path, "https://collector.invalid", f"ca_bundle: {certificates / 'ca.pem'}\n"
                                                                f"hdc_endpoints:\n{lines}")


def test_inventory_print_reports_the_steps(tmp_path, servers, certificates, capsys):
    plain, trusted, rogue = servers
    config = _config(tmp_path, {"portal": trusted.url + "/", "legacy": plain.url + "/503", "rogue": rogue.url + "/"},
                     certificates)
    assert main(["inventory", "--print", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == 2 and validate_report(report) == []
    got = {r["target"]: (r["ok"], r["tls_ok"], r["http_status"], r["failed_step"])
           for r in report["network"]["reachability"]}
    assert got == {"portal": (True, True, 200, None), "legacy": (False, None, 503, "http"),
                   "rogue": (False, False, None, "tls")}


def test_windows_agent_reports_the_same_shape(tmp_path, servers, certificates, capsys, monkeypatch):
    plain, trusted, rogue = servers
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr("agents.probe_windows.probe", lambda: laptop_probe(tmp_path))
    config = _config(tmp_path, {"portal": trusted.url + "/", "rogue": rogue.url + "/"}, certificates)
    assert main(["inventory", "--print", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["os"]["family"] == "windows" and report["schema_version"] == 2
    assert validate_report(report) == []
    assert [set(r) for r in report["network"]["reachability"]] == [V2_KEYS, V2_KEYS]
    assert [(r["tls_ok"], r["failed_step"]) for r in report["network"]["reachability"]] == [(True, None),
                                                                                           (False, "tls")]


# --- stored, aggregated and shown by the collector; v1 as before ------------------------------

def _v1_copy(report: dict, device: str) -> dict:
    """The same machine as an agent of schema v1 would have reported it."""
    doc = json.loads(json.dumps(report))
    doc.update(schema_version=1, report_id=str(uuid.uuid4()))
    doc["device"].update(id=device, id_source="hostname", hostname=device)
    doc["network"]["reachability"] = [{"target": "hdc-portal", "url": "https://portal.example/", "ok": True,
                                       "latency_ms": 40.0, "error": None}]
    return doc


@pytest.mark.integration
def test_collector_stores_and_shows_v2_steps_and_keeps_v1(collector, tmp_path, servers, certificates, capsys):
    plain, trusted, rogue = servers
    config = _config(tmp_path, {"hdc-portal": trusted.url + "/", "rogue": rogue.url + "/"}, certificates)
    assert main(["inventory", "--print", "--config", str(config)]) == 0
    v2 = json.loads(capsys.readouterr().out)
    v2["ward_code"] = "00070"
    v1 = _v1_copy(v2, "old-pc")
    headers = {"Authorization": f"Bearer {collector.token('00070')}"}
    for doc in (v1, v2):
        answer = requests.post(collector.url + "/api/v1/reports", json=doc, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text

    engine = make_engine(collector.db_url)
    try:
        with engine.connect() as conn:
            versions = dict(conn.execute(sa.select(reports.c.device_id, reports.c.schema_version)).all())
            rows = {(r.device_id, r.target): r for r in conn.execute(sa.select(reachability))}
    finally:
        engine.dispose()
    assert versions == {"old-pc": 1, v2["device"]["id"]: 2}
    old = rows[("old-pc", "hdc-portal")]
    assert (old.ok, old.latency_ms, old.connect_ms, old.tls_ok, old.http_status, old.failed_step) == (
        True, 40.0, None, None, None, None)
    measured = {r["target"]: r for r in v2["network"]["reachability"]}
    portal, bad = rows[(v2["device"]["id"], "hdc-portal")], rows[(v2["device"]["id"], "rogue")]
    assert (portal.ok, portal.connect_ms, portal.tls_ok, portal.http_status, portal.failed_step) == (
        True, measured["hdc-portal"]["connect_ms"], True, 200, None)
    assert (bad.ok, bad.tls_ok, bad.http_status, bad.failed_step) == (False, False, None, "tls")

    unit = requests.get(collector.url + "/api/v1/wards/00070", timeout=30).json()
    shown = {r["target"]: r for r in unit["reachability"]}
    assert shown["hdc-portal"] == {"target": "hdc-portal", "reachable": 2, "checked": 2, "failed_steps": {},
                               "connect_ms": round(measured["hdc-portal"]["connect_ms"], 1)}  # the v1 device has none
    assert shown["rogue"]["failed_steps"] == {"tls": 1} and shown["rogue"]["reachable"] == 0

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(requests.get(collector.url + "/metrics", timeout=30).text)
               for s in family.samples if s.name.startswith("hdc_endpoint_")}
    # "rogue" is no name this deployment configured: its series are counted as "other", the page still names it.
    assert samples[("hdc_endpoint_failed_devices", (("step", "tls"), ("target", "other"), ("ward", "00070")))] == 1
    assert not any(("target", "rogue") in labels for _, labels in samples)
    assert samples[("hdc_endpoint_connect_seconds", (("target", "hdc-portal"), ("ward", "00070")))] == pytest.approx(
        shown["hdc-portal"]["connect_ms"] / 1000)
    assert not any(name == "hdc_endpoint_failed_devices" and ("target", "hdc-portal") in labels
                   for name, labels in samples)

    page = requests.get(collector.url + "/units/00070", timeout=30).text
    assert 'data-target="rogue"' in page and "chứng chỉ TLS: 1" in page


def test_an_answer_that_is_no_http_status_is_a_failed_http_step():
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    try:
        (result,) = check_endpoints([Endpoint("odd", f"http://127.0.0.1:{listener.getsockname()[1]}/")], timeout=5)
    finally:
        listener.close()
    assert (result["ok"], result["http_status"], result["failed_step"]) == (False, None, "http")
    assert result["error"] == "not an HTTP status: 999"
    assert validate_report(build_report(_facts(), reachability=[result])) == []


def test_through_a_proxy_the_steps_say_so(servers, certificates):
    plain, trusted, _ = servers
    proxy = ForwardProxy()
    try:
        tunnelled, refused = check_endpoints(
            [Endpoint("secure", trusted.url + "/"), Endpoint("gone", f"https://127.0.0.1:{closed_port()}/")],
            timeout=5, ca_bundle=certificates / "ca.pem", proxy=proxy.url)
    finally:
        proxy.close()
    assert (tunnelled["ok"], tunnelled["via_proxy"], tunnelled["tls_ok"], tunnelled["http_status"]) == (
        True, True, True, 200)
    assert tunnelled["connect_ms"] is not None  # to the proxy
    assert (refused["ok"], refused["via_proxy"], refused["failed_step"], refused["tls_ok"]) == (
        False, True, "proxy", None)
    assert refused["error"] == "proxy refused the tunnel (HTTP 502)"


def test_upgrading_the_store_keeps_the_rows_of_v1_reports(db_url):
    """A store from before schema v2 gets the new columns empty; what it held is untouched."""
    from datetime import datetime, timezone

    from alembic import command
    from alembic.config import Config

    from collector.store.engine import WRITE, migrate
    from collector.store.tables import devices, wards

    engine = make_engine(db_url)
    try:
        cfg = Config()
        cfg.set_main_option("script_location", "collector.store:alembic")
        with engine.connect().execution_options(**WRITE) as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0001")
            conn.commit()
        at = datetime(2025, 11, 1, 8, 0, tzinfo=timezone.utc)
        with engine.begin() as conn:
            conn.execute(wards.insert().values(code="00070", name="Hoàn Kiếm", kind="phuong"))
            conn.execute(devices.insert().values(
                device_id="d1", ward_code="00070", hostname="pc-1", device_class="workstation", os_family="windows",
                os_name="Windows 10 Pro", system_disk_media="hdd", software_count=0, agent_source="agent",
                agent_version="0.1", first_seen_at=at, last_collected_at=at, last_received_at=at, last_report_id="r1"))
            conn.execute(reachability.insert().values(device_id="d1", target="hdc-portal", ward_code="00070", ok=True,
                                                      latency_ms=12.5, checked_at=at))
        migrate(engine)
        with engine.connect() as conn:
            (row,) = conn.execute(sa.select(reachability)).all()
    finally:
        engine.dispose()
    assert row._asdict() == {"device_id": "d1", "target": "hdc-portal", "ward_code": "00070", "ok": True,
                             "latency_ms": 12.5, "checked_at": at, "connect_ms": None, "tls_ok": None,
                             "http_status": None, "failed_step": None}
