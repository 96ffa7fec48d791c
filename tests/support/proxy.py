"""An HTTP forward proxy on 127.0.0.1 for tests: relays requests and CONNECT tunnels, and records them."""
from __future__ import annotations

import select
import socket
import threading


class ForwardProxy:
    """An HTTP forward proxy: absolute-form requests are relayed, CONNECT opens a byte tunnel.

    It records what it was asked, so a test can tell traffic went through it.
    """

    def __init__(self) -> None:
        self.requests: list = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = request_line.split(" ", 2)
            self.requests.append((method, target))
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                try:
                    upstream = socket.create_connection((host, int(port)), timeout=5)
                except OSError:
                    client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    return
                with upstream:
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    _pipe(client, upstream)
                return
            rest = target.split("://", 1)[1]
            hostport, _, path = rest.partition("/")
            host, port = hostport.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                upstream.sendall(head.replace(target.encode(), b"/" + path.encode(), 1))
                _pipe(client, upstream)

    def close(self) -> None:
        self.server.close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Relay both ways until either side closes or resets (a client refusing a certificate resets)."""
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 5)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
