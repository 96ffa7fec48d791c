"""Bytes on the wire per hourly report: plain full (an old agent), gzip, and digest + gzip (hdc-agent now).

The report is this machine's own (`hdc-agent inventory --print`), queued as
the outbox queues it. Each variant is sent by the agent's own Sender (the
plain one by urllib with the same headers) to a loopback server that counts
every byte of the request (request line, headers, body) and answers as the
collector does. "Unchanged" is the next hour with the same software list;
"changed" has one package upgraded, so its list goes whole again (gzip),
and the digest goes from the report after that.

    python bench/wire.py [--check]

--check exits 1 when an unchanged machine's report takes more than 5 KB.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.sender import Sender  # noqa: E402
from agents.wire import compact, software_part  # noqa: E402

TARGET_BYTES = 5000


class CountingServer:
    """Reads each request whole, counts its bytes, answers 201 with the digest the request named."""

    def __init__(self) -> None:
        self.sizes: list = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/v1/reports"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with client:
                self._answer(client)

    def _answer(self, client: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += client.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            body += client.recv(65536)
        self.sizes.append(len(head) + 4 + len(body))
        reply = b'{"status":"accepted"}'
        client.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(reply), reply))


def this_machines_report() -> dict:
    done = subprocess.run([sys.executable, "-m", "agents.cli", "inventory", "--print"], capture_output=True,
                          text=True, check=True, cwd=ROOT, timeout=300)
    return json.loads(done.stdout)


def next_hour(report: dict) -> bytes:
    """The report as the outbox would queue the next one (a fresh id), compact JSON."""
    doc = copy.deepcopy(report)
    doc["report_id"] = str(uuid.uuid4())
    return compact(doc).encode("utf-8")


def upgraded(report: dict) -> dict:
    doc = copy.deepcopy(report)
    doc["software"][0] = {**doc["software"][0], "version": str(doc["software"][0].get("version")) + "+1"}
    return doc


def measure(server: CountingServer, body: bytes) -> dict:
    """Request bytes of one report sent three ways."""
    plain = urllib.request.Request(server.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {'x' * 43}", "User-Agent": "hdc-agent"})
    urllib.request.urlopen(plain, timeout=30).read()
    sender = Sender(server.url, "x" * 43)
    sender.send(body)
    part = software_part(body)
    sender.send(part.without_software, part.sha256)
    full, gzipped, digest = server.sizes[-3:]
    return {"full, uncompressed": full, "gzip": gzipped, "digest + gzip": digest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the 5 KB target is missed")
    args = parser.parse_args()
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1"  # loopback only, whatever the environment says
    report = this_machines_report()
    server = CountingServer()
    unchanged = measure(server, next_hour(report))
    changed = measure(server, next_hour(upgraded(report)))
    # A changed list goes whole (gzip) once; the digest is what an unchanged hour costs.
    hourly = {"unchanged": unchanged["digest + gzip"], "changed": changed["gzip"]}
    print(f"This machine's report: {len(report['software'])} packages, "
          f"{len(next_hour(report))} bytes of compact JSON.\n")
    print("| machine | full, uncompressed | gzip | digest + gzip | hdc-agent sends | ratio to full |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in (("unchanged", unchanged), ("changed", changed)):
        sends = hourly[name]
        # The collector does not hold a changed list yet, so its digest alone cannot be sent.
        digest = row["digest + gzip"] if name == "unchanged" else "n/a"
        print(f"| {name} | {row['full, uncompressed']} | {row['gzip']} | {digest} | {sends} | "
              f"{sends / row['full, uncompressed']:.3f} |")
    met = hourly["unchanged"] <= TARGET_BYTES
    print(f"\nTarget: an unchanged machine's hourly report <= {TARGET_BYTES} bytes on the wire "
          f"(request line, headers and body): {hourly['unchanged']} bytes, {'met' if met else 'MISSED'}.")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
