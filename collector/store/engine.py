"""Opening a store: engine set-up per backend, and schema migrations.

SQLite gets WAL (readers never block the writer), a busy timeout, foreign
keys, and ``BEGIN IMMEDIATE`` for write transactions: a deferred transaction
that reads and then writes can fail at once with SQLITE_BUSY when another
writer committed in between, which under load would turn into lost reports.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any, ContextManager, Iterator, Optional

try:
    import fcntl
    _HAVE_FCNTL = True
except ImportError:  # Windows: one process serves, the Python lock suffices
    _HAVE_FCNTL = False

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from collector.store import counts, device_work, kept, reach_days, unit_days
from collector.store.units import sync_units
from inventory.registry import Registry

DEFAULT_DB_PATH = Path("var") / "hdc-readiness.sqlite3"
# The store, not the report, is at fault: locked, full, unreachable (OperationalError), or refusing
# writes, as a PostgreSQL standby does (read-only transaction, SQLSTATE 25006: an InternalError).
# The answer is 503 with Retry-After, so the agent keeps its copy.
STORE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InternalError)
WRITE = {"hdc_write": True}
# A connection for one read statement needs no snapshot of its own: SQLite runs it in autocommit, which
# spares a BEGIN and a ROLLBACK on every authenticated request.
ONE_READ = {"hdc_one_read": True}
_MIGRATION_LOCK = 0x68646372  # "hdcr": one advisory-lock key for this application


class StoreError(RuntimeError):
    """The store cannot be opened or migrated; the message says which URL and why."""


def default_url() -> str:
    """``$HDC_DB_URL`` or a SQLite file under ``./var``."""
    return os.environ.get("HDC_DB_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


def make_engine(url: Optional[str] = None) -> Engine:
    url = url or default_url()
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"--db {url!r}: not a database URL ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise StoreError(f"--db {parsed.render_as_string(hide_password=True)}: driver not installed ({exc})") from exc


def _sqlite_engine(url: sa.engine.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # On a new file only (it takes effect before the first table): pruned space goes back to the file system
        # (store/retention.py switches older stores with one VACUUM). Set on an existing file it would write a
        # page on every connection, and opening a store must leave it byte for byte as it was.
        if cur.execute("PRAGMA page_count").fetchone()[0] == 0:
            cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        options = conn.get_execution_options()
        if options.get("hdc_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get("hdc_one_read"):
            conn.exec_driver_sql("BEGIN")  # one snapshot for all of a reader's statements

    return engine


_WRITE_LOCKS: dict[int, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction that waits its turn without sleeping.

    SQLite admits one writer; a thread that finds the lock taken is put to
    sleep by the busy handler for up to 100 ms at a time, which under
    concurrent ingest wastes most of the time. Threads of one process
    therefore queue on a Python lock first, and processes sharing a SQLite
    file (``serve --workers``) on an exclusive ``flock`` of a lock file
    beside it, where the kernel wakes the next writer as soon as the lock
    is free; other programs still meet the busy timeout. PostgreSQL needs
    no such queue.
    """
    lock: ContextManager[Any]
    file_lock: ContextManager[Any]
    if engine.dialect.name != "sqlite":
        lock, file_lock = contextlib.nullcontext(), contextlib.nullcontext()
    else:
        lock, file_lock = _process_lock(engine), _file_lock(engine)
    with lock, file_lock, engine.connect().execution_options(**WRITE) as conn, conn.begin():
        yield conn


def _process_lock(engine: Engine) -> threading.Lock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())


_LOCK_FILES: dict[tuple[int, int], int] = {}


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive flock of ``<database>.write-lock``, held by at most one thread per process (see above).

    The file is opened once per process: a descriptor inherited across
    fork shares its lock with the parent, so a forked worker opens its own.
    """
    path = engine.url.database
    if not _HAVE_FCNTL or not path or path == ":memory:" or path.startswith("file:"):
        yield
        return
    key = (os.getpid(), id(engine))
    with _WRITE_LOCKS_GUARD:
        fd = _LOCK_FILES.get(key)
        if fd is None:
            try:
                fd = _LOCK_FILES[key] = os.open(f"{path}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                fd = None  # a read-only directory: SQLite's busy timeout still orders the writers
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, count devices stored before counts were kept and keep the
    units' history (verdicts, reach of the HDC) from the changes stored before it was kept (idempotent; safe on
    every start)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "collector.store:alembic")
    try:
        with engine.connect().execution_options(**WRITE) as conn:
            if conn.dialect.name == "postgresql":
                # Collectors starting together must not race to create the same tables.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
            counts.backfill(conn)
            unit_days.backfill(conn)
            reach_days.backfill(conn)
            device_work.backfill(conn)
            kept.stamp_missing(conn, kept.LIVES, counts.counted_units(conn))
            conn.commit()
    except sa.exc.OperationalError as exc:
        # Unreachable, read-only or full: one line naming the store, not a traceback.
        raise StoreError(f"{describe(engine)}: cannot open and migrate the store ({exc.orig})") from None


def describe(engine: Engine) -> str:
    """The URL without its password, for logs and messages."""
    return engine.url.render_as_string(hide_password=True)


def open_store(url: Optional[str], registry: Optional[Registry] = None, engine: Optional[Engine] = None) -> Engine:
    """The one way to open a store (serve, the CLI, the benchmarks and the tests): an engine for ``url``
    (or the one given), migrated to the newest schema, its units table in step with ``registry``."""
    engine = engine or make_engine(url)
    migrate(engine)
    if registry is not None:
        with engine.begin() as conn:
            sync_units(conn, registry)
    return engine
