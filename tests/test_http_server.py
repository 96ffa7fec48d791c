"""The in-process server of `hdc-collector demo` (collector.http.server.Server), closed while requests arrive."""
from __future__ import annotations

import http.client
import socket
import threading
import time

from flask import Flask

from collector.http.server import Server


def _ask(port: int, stop: threading.Event) -> None:
    """Requests on keep-alive connections until ``stop``, as agents would send them; a refused or cut connection
    is the server closing and starts the next one."""
    while not stop.is_set():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for _ in range(50):
                connection.request("GET", "/")
                connection.getresponse().read()
        except (OSError, http.client.HTTPException):
            time.sleep(0.01)


def test_closing_under_requests_ends_the_loop_frees_the_port_and_raises_in_no_thread(monkeypatch):
    """Closed while 8 clients keep every thread busy (the demo's Ctrl-C during its load): the sockets close only
    after the loop has ended, so no thread raises on a closed socket, and the port is free again."""
    app = Flask(__name__)

    @app.route("/")
    def answer():
        time.sleep(0.002)
        return "x" * 1000

    raised: list = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    for _ in range(5):
        server = Server(app, "127.0.0.1", 0)
        server.start_in_background()
        stop = threading.Event()
        clients = [threading.Thread(target=_ask, args=(server.port, stop)) for _ in range(8)]
        for client in clients:
            client.start()
        time.sleep(0.3)
        server.close()
        loops = [t for t in threading.enumerate() if t.name == "hdc-collector-http"]
        stop.set()
        for client in clients:
            client.join(10)
        assert not loops, "the server's loop thread outlived close()"
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", server.port))
    assert not raised, [(r.thread.name, r.exc_value) for r in raised]
