"""Security headers on every answer of the real collector, and a CSP the real page lives with.

Chromium reports a CSP violation on its console; the browser tests in
test_page_browser.py fail on any such line. The control case here shows the
console does carry them, so that check can fail.
"""
from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from collector.http.security_headers import CONTENT_SECURITY_POLICY, HEADERS

from conftest import ROOT, need, start_collector, stop
from support.fleet import parse

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0")


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    c = start_collector(f"sqlite:///{tmp_path_factory.mktemp('headers') / 'store.sqlite3'}")
    try:
        yield c
    finally:
        stop(c.proc)


def _answers(url: str) -> dict[str, requests.Response]:
    get, post = requests.get, requests.post
    return {
        "page": get(url + "/", timeout=30),
        "unit page": get(url + "/units/00070?lang=en", timeout=30),
        "unknown unit page": get(url + "/units/99999", timeout=30),
        "stylesheet": get(url + "/static/page.css", timeout=30),
        "csv": get(url + "/export/units.csv", timeout=30),
        "api": get(url + "/api/v1/wards?limit=1", timeout=30),
        "openapi": get(url + "/api/v1/openapi.json", timeout=30),
        "metrics": get(url + "/metrics", timeout=30),
        "healthz": get(url + "/healthz", timeout=30),
        "no such path": get(url + "/api/v1/nowhere", timeout=30),
        "wrong method": post(url + "/", timeout=30),
        "ingest refused": post(url + "/api/v1/reports", json={}, timeout=30),
        "foreign refused": post(url + "/inventory", data=b"x", timeout=30),
        "admin refused": get(url + "/api/v1/admin/tokens", timeout=30),
    }


def test_every_answer_carries_the_security_headers(collector):
    answers = _answers(collector.url)
    assert answers["page"].status_code == 200 and answers["wrong method"].status_code == 405
    assert answers["no such path"].status_code == 404 and answers["admin refused"].status_code == 401
    for name, answer in answers.items():
        missing = {h: answer.headers.get(h) for h, v in HEADERS.items() if answer.headers.get(h) != v}
        assert not missing, (name, answer.status_code, missing)


def test_the_policy_allows_no_script_and_no_framing():
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'" and "script-src" not in directives
    assert directives["frame-ancestors"] == "'none'" and HEADERS["X-Frame-Options"] == "DENY"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and HEADERS["X-Content-Type-Options"] == "nosniff"


def test_the_rendered_pages_need_nothing_the_policy_forbids(collector):
    for path in ("/", "/units/00070", "/work-items", "/?lang=en"):
        answer = requests.get(collector.url + path, timeout=30)
        assert answer.status_code == 200, path
        page = parse(answer.text)
        inline = [n.tag for n in page.iter() if n.tag in ("script", "style", "iframe", "object", "embed")
                  or "style" in n.attrs or any(a.startswith("on") for a in n.attrs)]
        assert not inline, (path, inline)
        linked = [n.attrs.get("href") or n.attrs.get("src") or "" for n in page.iter() if n.tag in ("link", "img")]
        external = [ref for ref in linked if not ref.startswith("/")]
        assert not external, (path, external)


def _chromium(tmp_path: Path, url: str) -> subprocess.CompletedProcess:
    done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _violations(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if "Content Security Policy" in line]


class _InlinePage(http.server.BaseHTTPRequestHandler):
    """A page with inline script and style, served with the collector's policy: the control case."""

    def do_GET(self) -> None:
        body = (b"<!doctype html><html><head><style>p{color:red}</style></head><body><p>x</p>"
                b"<script>document.title='ran'</script></body></html>")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_chromium_reports_violations_on_a_page_that_has_them_and_none_on_ours(collector, tmp_path):
    need(CHROMIUM is not None, "Chromium not installed (Debian package 'chromium')")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _InlinePage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        control = _chromium(tmp_path, f"http://127.0.0.1:{server.server_address[1]}/")
    finally:
        server.shutdown()
        server.server_close()
    found = _violations(control)
    assert any("inline script" in line for line in found) and any("inline style" in line for line in found), \
        control.stderr[-2000:]
    for path in ("/", "/units/00070?lang=en"):
        done = _chromium(tmp_path, collector.url + path)
        assert "<h1" in done.stdout and _violations(done) == [], (path, _violations(done))


def test_templates_have_no_inline_script_or_style():
    for template in (ROOT / "collector" / "templates").glob("*.html"):
        text = template.read_text(encoding="utf-8").lower()
        assert "<script" not in text and "<style" not in text and " style=" not in text, template.name
