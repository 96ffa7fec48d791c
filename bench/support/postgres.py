"""A throwaway PostgreSQL server for benchmarks: the one the tests start (``tests/support/postgres.py``).

Loaded from its file: ``tests/support`` and ``bench/support`` are both
imported as ``support`` by their own scripts.
"""
from __future__ import annotations

import contextlib
import importlib.util
import socket
from pathlib import Path
from typing import Iterator, Optional

_TESTS_POSTGRES = Path(__file__).resolve().parents[2] / "tests" / "support" / "postgres.py"


def _module():
    spec = importlib.util.spec_from_file_location("hdc_tests_postgres", _TESTS_POSTGRES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def available() -> bool:
    """Whether Debian's PostgreSQL server binaries are installed (package ``postgresql``)."""
    return _module().binaries() is not None


@contextlib.contextmanager
def throwaway_server(durable: bool = False) -> Iterator[Optional[object]]:
    """A started server on a free loopback port, stopped and removed afterwards; None without the binaries.

    Its ``new_database()`` gives the URL of a fresh, empty database. ``durable``: fsync and synchronous commit
    on, as production runs it (the tests' setting is fsync off).
    """
    module = _module()
    bindir = module.binaries()
    if bindir is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = module.PostgresServer(bindir, port, durable)
    server.start()
    try:
        yield server
    finally:
        server.stop()
