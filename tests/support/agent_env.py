"""What the hdc-agent tests share: a stand-in collector on 127.0.0.1, a throwaway CA, an agent run against them."""
from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.cli import main
from agents.outbox import Outbox

from conftest import need

TOKEN = "w4rd-00070-t0k3n"


@pytest.fixture
def no_proxies(monkeypatch):
    """Loopback traffic must not be sent through a proxy configured in the environment.

    Not autouse: a module that wants it says ``pytestmark = pytest.mark.usefixtures("no_proxies")``.
    """
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


class Collector:
    """A stand-in collector on 127.0.0.1: records every request (``body`` inflated, ``wire`` as sent), answers
    from a script (default 201)."""

    def __init__(self, tls: ssl.SSLContext = None) -> None:
        self.received = []
        self.answers = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                wire = self.rfile.read(length) if length else b""
                body = gzip.decompress(wire) if self.headers.get("Content-Encoding") == "gzip" else wire
                collector.received.append({"method": self.command, "path": self.path,
                                           "headers": dict(self.headers), "body": body, "wire": wire})
                status, headers, payload = collector.answers.pop(0) if collector.answers else (201, {}, b"{}")
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_POST = do_HEAD = do_GET = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def posts(self) -> list:
        return [r for r in self.received if r["method"] == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_collector():
    """A plain-HTTP stand-in collector. Not named ``collector``: that is conftest's real collector process,
    so the agent test modules define ``collector`` as this one for themselves."""
    server = Collector()
    yield server
    server.close()


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command."""
    need(shutil.which("openssl") is not None, "openssl command not installed")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=hdc test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                               "authorityKeyIdentifier=keyid\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d


@pytest.fixture
def tls_collector(certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    server = Collector(tls=context)
    yield server
    server.close()


def write_config(tmp_path: Path, url: str, extra: str = "", retry_initial: float = 0) -> Path:
    """A configuration holding the token, so private; no backoff unless a test is about it."""
    insecure = "allow_insecure_http: true\n" if url.startswith("http://") else ""
    path = tmp_path / "agent.yaml"
    path.write_text(f'collector_url: {url}\nward_code: "00070"\ntoken: {TOKEN}\n'
                    f"outbox_dir: {tmp_path / 'outbox'}\ntimeout_seconds: 5\n"
                    f"retry_initial_seconds: {retry_initial}\n{insecure}{extra}")
    path.chmod(0o600)
    return path


def run_agent(config: Path, capsys) -> tuple:
    code = main(["run", "--config", str(config)])
    captured = capsys.readouterr()
    return code, captured.err


def queued(tmp_path: Path) -> list:
    return [q.report_id for q in Outbox(tmp_path / "outbox").pending()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
