"""A TCP relay on 127.0.0.1 that records the requests passing through it, as the bytes on the wire.

Put between a real agent and a real collector, it shows what the agent sent
(headers, compressed body, size) without changing either of them. The agent
opens one connection per request, so each connection's bytes are one request.
"""
from __future__ import annotations

import gzip
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from conftest import cli


@dataclass(frozen=True)
class WireRequest:
    """One request as it crossed the wire; ``body`` inflated when it came gzip-compressed."""

    raw: bytes
    request_line: str
    headers: dict
    wire_body: bytes

    @property
    def body(self) -> bytes:
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.wire_body)
        return self.wire_body


def parse_request(raw: bytes) -> WireRequest:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return WireRequest(raw, lines[0], headers, body)


class Relay:
    """Forwards every connection to ``target_port`` on 127.0.0.1 and keeps what the client sent."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._sent: list = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def requests(self) -> list:
        with self._lock:
            return [parse_request(bytes(raw)) for raw in self._sent if raw]

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        recorded = bytearray()
        with self._lock:
            self._sent.append(recorded)
        with client, socket.create_connection(("127.0.0.1", self.target_port), timeout=30) as upstream:
            back = threading.Thread(target=_pump, args=(upstream, client, None), daemon=True)
            back.start()
            _pump(client, upstream, recorded)
            back.join(30)


def _pump(source: socket.socket, sink: socket.socket, recorded) -> None:
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            if recorded is not None:
                recorded += chunk
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        return


WARD = "00070"


def write_config(tmp_path: Path, url: str, token: str) -> Path:
    """An agent configuration for unit WARD sending to ``url`` with ``token``."""
    path = tmp_path / "agent.yaml"
    path.write_text(f'collector_url: {url}\nward_code: "{WARD}"\ntoken: {token}\nallow_insecure_http: true\n'
                    f"outbox_dir: {tmp_path / 'outbox'}\ntimeout_seconds: 20\nconnect_timeout_seconds: 2\n"
                    "retry_initial_seconds: 0\n")
    path.chmod(0o600)
    return path


def run_agent(config: Path):
    """``hdc-agent run`` as a ward PC's schedule runs it."""
    return cli("agents.cli", "run", "--config", str(config), timeout=120)


def relay_to(collector) -> Relay:
    """A relay in front of a collector process, recording what crosses the wire."""
    return Relay(int(collector.url.rsplit(":", 1)[1]))
