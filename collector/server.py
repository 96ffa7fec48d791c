"""Serving the app with waitress, a production WSGI server that also runs on Windows."""
from __future__ import annotations

import logging
import threading

from flask import Flask
from waitress.server import create_server

log = logging.getLogger("hdc.collector")


class Server:
    """A started (listening) server; ``port`` is the real one when 0 was asked for."""

    def __init__(self, app: Flask, host: str, port: int, threads: int = 8):
        self._server = create_server(app, host=host, port=port, threads=threads,
                                     ident="hdc-collector", clear_untrusted_proxy_headers=True)
        self.host = host
        self.port = self._server.effective_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.run()

    def start_in_background(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="hdc-collector-http", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Block until the background server stops (Ctrl-C interrupts the wait)."""
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self._server.close()
