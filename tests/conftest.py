"""Shared fixtures: reference data from ../shared/data and a real collector process."""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from collector.ingest.ingestor import Ingestor
from collector.store.engine import make_engine, migrate
from collector.store.units import sync_units
from inventory.baseline import load_baseline
from inventory.catalog import load_catalog
from inventory.lifecycle import load_lifecycle
from inventory.registry import load_registry

from support.output import Output

pytest_plugins = ["support.agent_env", "support.ansible_run", "support.fleet"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
REQUIRE_REAL = os.environ.get("HDC_REQUIRE_REAL") == "1"


def pytest_configure(config: pytest.Config) -> None:
    """Name the missing real components at the start and the end of the run (tests/support/missing_components.py)."""
    from support.missing_components import register

    register(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a ``long`` test first, the rest in their order. ``make test`` hands out whole files to two
    workers in this order (``--dist loadfile --no-loadscope-reorder``): a file of minutes handed out last (the
    demo, the Ansible roles) kept one worker busy for minutes after the other had finished."""
    long_files = {item.path for item in items if item.get_closest_marker("long")}
    items.sort(key=lambda item: item.path not in long_files)


def need(condition: bool, reason: str) -> None:
    """Skip when a real component is absent, but fail in CI where HDC_REQUIRE_REAL=1 promises it."""
    if condition:
        return
    if REQUIRE_REAL:
        pytest.fail(f"required component missing (HDC_REQUIRE_REAL=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    need(SHARED_DATA.is_dir(), f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run one of the project's console scripts the way a user would."""
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def ward_token(db_url: str, ward: str) -> str:
    """A new token of ``ward``, made as ``hdc-collector token create --ward`` makes it: the command's own store
    functions, called here. The command itself, as a process, is tested in tests/test_tokens.py; a process
    for each token cost every test that needs one more than a second of interpreter start-up."""
    from collector.cli.options import migrated_engine
    from collector.store.engine import write_transaction
    from collector.store.tokens import WARD, create_token

    registry = load_registry()
    assert ward in registry, f"{ward!r} is not a unit code of {registry.source}"
    engine = migrated_engine(db_url)
    try:
        with write_transaction(engine) as conn:
            sync_units(conn, registry)
            return create_token(conn, ward, None, WARD)
    finally:
        engine.dispose()


class CollectorProcess:
    def __init__(self, db_url: str, proc: subprocess.Popen, url: str, output: Output):
        self.db_url, self.proc, self.url, self.output = db_url, proc, url, output

    def token(self, ward: str) -> str:
        return ward_token(self.db_url, ward)


def start_collector(db_url: str, *extra: str) -> CollectorProcess:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "serve", "--db", db_url,
                             "--host", "127.0.0.1", "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    output = Output(proc.stdout)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited: {output.text(settle=5)}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return CollectorProcess(db_url, proc, url, output)
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("collector did not become healthy within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server for the whole run (Debian's package, started here)."""
    from support.postgres import PostgresServer, binaries

    bindir = binaries()
    need(bindir is not None, "PostgreSQL server binaries not installed (Debian package 'postgresql')")
    need(importlib.util.find_spec("psycopg") is not None, "psycopg not installed (pip install '.[postgresql]')")
    server = PostgresServer(bindir, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sshd_server():
    """One real OpenSSH server on a loopback port for the whole run (Debian's openssh-server)."""
    from support.sshd import SshServer, available

    need(available(), "OpenSSH server not installed (Debian package 'openssh-server')")
    server = SshServer(free_port()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty store on each backend the collector supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def ingestor(db_url) -> Iterator[Ingestor]:
    """The Ingestor on a fresh store of each backend, with the shipped baseline, catalog and lifecycle: what
    stores a report, without HTTP."""
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_units(conn, load_registry())
    yield Ingestor(engine, load_baseline(), load_catalog(), load_lifecycle())
    engine.dispose()


@pytest.fixture
def collector(db_url) -> Iterator[CollectorProcess]:
    """A real collector process on a free loopback port, on a fresh store."""
    c = start_collector(db_url)
    try:
        yield c
    finally:
        stop(c.proc)
