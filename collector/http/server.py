"""Serving the app: waitress by default (a production WSGI server that also runs on Windows), gunicorn
for several worker processes or TLS without a terminator (Linux and other POSIX systems).

One Python process runs one request's Python at a time, so on a machine with
several cores ``--workers N`` forks N processes from one loaded app; SQLite
writers of all of them then queue on a file lock (``store.engine``). TLS
comes from gunicorn's ``certfile``/``keyfile``; waitress has none.
"""
from __future__ import annotations

import errno
import gc
import logging
import ssl
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from flask import Flask
from waitress.server import create_server

log = logging.getLogger("hdc.collector")

# Threads per process (``serve --threads``). Waitress reads every request whole in its own loop before a
# thread runs the app, so threads wait on nothing slow; a gunicorn worker's thread reads its request itself,
# and every extra one also takes turns at the interpreter lock with the thread storing a report (paired runs
# of bench/tools/compare_ingest.py: 2 threads stored 8-15% more reports/s than 8, 1 another 7%).
WAITRESS_THREADS, GUNICORN_THREADS = 8, 2


class Server:
    """A started (listening) server; ``port`` is the real one when 0 was asked for."""

    def __init__(self, app: Flask, host: str, port: int, threads: int = WAITRESS_THREADS,
                 proxy_headers: bool = False):
        # Waitress drops X-Forwarded-For & co. unless told otherwise; with trusted proxies configured the app
        # reads them itself, from those proxies only (``auth.client_address``).
        self._sockets: dict = {}  # waitress's socket map: the listening socket, its trigger, the connections
        self._server = create_server(app, map=self._sockets, host=host, port=port, threads=threads,
                                     ident="hdc-collector", clear_untrusted_proxy_headers=not proxy_headers)
        self.host = host
        self.port = int(self._server.effective_port)  # waitress gives it as text
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
        """Block until the background server stops (Ctrl-C interrupts the wait).

        Joined in short waits rather than one: a Ctrl-C the kernel hands to
        another thread only sets a flag, which the main thread acts on when it
        next wakes, and an endless join would never wake it.
        """
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def close(self) -> None:
        """Stop answering: requests being answered finish (5 s at most), waiting ones are dropped, then the sockets
        close.

        Closing the sockets first left a thread answering into a closed loop, and waitress printed its traceback
        (a Ctrl-C while the demo loads its fleet). A dropped request is no loss: its sender keeps the report
        until the collector acknowledges it, and waitress's "Canceling N pending task(s)" is muted here for that.
        The sockets are closed once the background loop has ended: closed while it still selected on them, its
        thread printed a traceback as the process exited. Emptying its socket map ends it at its next turn
        (waitress's loop runs while the map holds a socket, and skips one it no longer finds there).
        """
        with quiet("waitress"):
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        sockets = dict(self._sockets)
        deadline = time.monotonic() + 5
        while self._thread is not None and self._thread.is_alive() and time.monotonic() < deadline:
            sockets.update(self._sockets)  # one accepted meanwhile
            self._sockets.clear()
            self._thread.join(0.1)
        for dispatcher in sockets.values():
            dispatcher.close()


@contextmanager
def quiet(logger: str) -> Iterator[None]:
    """``logger``'s warnings muted for the block (its errors still shown): for waitress's notices of what the
    caller does on purpose."""
    muted = logging.getLogger(logger)
    level = muted.level
    muted.setLevel(logging.ERROR)
    try:
        yield
    finally:
        muted.setLevel(level)


def listening(app: Flask, host: str, port: int, instead: str, threads: int = WAITRESS_THREADS,
              proxy_headers: bool = False) -> Server:
    """A Server on ``host:port``, or one line saying the port is taken and what to do ``instead``."""
    try:
        return Server(app, host, port, threads=threads, proxy_headers=proxy_headers)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"port {port} on {host} is already in use by another program; stop it or choose "
                             f"another port ({instead})") from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def settle_heap() -> None:
    """Take what start-up built (catalogs, registry, baseline, compiled queries) out of the garbage collector's
    rounds, for good: they live as long as the process.

    A scrape or a page allocates tens of thousands of short-lived objects,
    which set off collections that would otherwise walk all of start-up's
    objects each time: a third of a /metrics scrape on the benchmark fleet.
    Frozen before forking, they also stay shared between gunicorn workers
    (see ``gc.freeze``).
    """
    gc.collect()
    gc.freeze()


def keep_overview_ready(app: Flask, start: bool = True) -> None:
    """Compose the page's overview and plan and compile the templates now and, with ``start``, keep recomposing the
    overview in the background for as long as the process serves (see ``readiness/cache.py``): no reader of a
    served collector waits for either. A gunicorn master does this before forking and each worker starts its
    own refresher (``_in_worker``)."""
    c = app.extensions["hdc"]
    c.overview_cache.warm(c)
    c.plan()  # every device planned now, so the first reader of the page or /metrics does not wait for it
    for name in app.jinja_env.list_templates():  # compiled now (a tenth of a second), not by the first reader
        app.jinja_env.get_template(name)
    # The plan and the overview are the largest things the process keeps (millions of objects at 150,000
    # devices): left in the collector's rounds, a full collection walking them stalled a reader for 2 s.
    settle_heap()
    if start:
        c.overview_cache.keep_fresh(c, for_good=True)


class ServeError(RuntimeError):
    """The server cannot start as asked; the message names the option and the reason."""


@dataclass(frozen=True)
class TLSFiles:
    cert: Path
    key: Path

    def check(self) -> None:
        """Load the pair once before forking, so a wrong file is one clear line, not a worker crash loop."""
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ServeError(f"--tls-cert {self.cert} / --tls-key {self.key}: cannot be used as the server's "
                             f"certificate and key ({exc})") from exc


def multiprocess_available() -> bool:
    return sys.platform != "win32"


def serve_with_gunicorn(app: Flask, host: str, port: int, workers: int, threads: int,
                        tls: Optional[TLSFiles] = None) -> None:
    """Serve ``app`` (already built: migrations ran once) from ``workers`` forked processes until stopped."""
    if not multiprocess_available():
        raise ServeError("--workers and --tls-cert need gunicorn, which does not run on Windows; there, run one "
                         "process and put a TLS terminator (IIS, nginx) in front of it")
    from gunicorn.app.base import BaseApplication

    if tls is not None:
        tls.check()
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {"bind": bind, "workers": workers, "worker_class": "gthread", "threads": threads,
               "preload_app": True, "control_socket_disable": True, "proc_name": "hdc-collector",
               "post_fork": lambda _arbiter, _worker: _in_worker(app), "accesslog": None, "errorlog": "-",
               "loglevel": "warning"}
    if tls is not None:
        options.update(certfile=str(tls.cert), keyfile=str(tls.key))

    class _App(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # control_socket_disable exists from gunicorn 24 on
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    _App().run()


def _in_worker(app: Flask) -> None:
    """A forked worker must not share the parent's database connections (it opens its own), and has none of
    its threads: it starts its own overview refresher."""
    c = app.extensions["hdc"]
    c.engine.dispose(close=False)
    c.overview_cache.keep_fresh(c, for_good=True)
