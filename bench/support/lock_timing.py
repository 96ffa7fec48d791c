"""Bench only: `hdc-collector serve` with each report's waits for the ingest turn and the store's write lock, and
its hold of that lock, timed (bench/ingest.py --lock-timing); the product's code is unchanged and untimed.

Run: python bench/support/lock_timing.py OUT_DIR serve ARGS... (from the source tree to serve, as ``-m`` would)

Before gunicorn forks, the built app gets wrappers: around gunicorn's gthread worker (the connection's way
between its main thread and its pool; one JSON line per ``POST /api/v1/reports`` into ``OUT_DIR/<pid>.jsonl``,
written once answered), the WSGI app, the context's ingest turn, the store's process lock and cross-process file
lock (``collector.store.engine``), ``Ingestor._store`` (the statements) and SQLAlchemy's ``commit`` event. Times
are wall seconds (``time.perf_counter``), the thread's CPU seconds (``time.thread_time``) and its seconds on
the kernel's run queue (/proc/thread-self/schedstat: ready, but the machine's cores ran other work); over the
write lock's hold, wall less CPU less run queue is the time the holder was blocked (for the interpreter lock
its process's other threads had, or for I/O). ``summary`` reads the lines back and prints median and p90 per
piece and round.
"""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

_local = threading.local()


def _runqueue() -> float:
    """Seconds this thread has waited on the kernel's run queue (ready, but the cores ran other work): the second
    figure of /proc/thread-self/schedstat, read through a descriptor opened once per thread."""
    fd = getattr(_local, "schedstat", None)
    if fd is None:
        fd = _local.schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    return int(os.pread(fd, 64, 0).split()[1]) / 1e9


def _record() -> dict[str, float] | None:
    return getattr(_local, "record", None)


def _add(name: str, seconds: float) -> None:
    record = _record()
    if record is not None:
        record[name] = record.get(name, 0.0) + seconds


class _TimedTurn:
    """The context's ingest turn (a ``threading.Lock``), its wait and hold added to the request's record."""

    def __init__(self, lock: Any):
        self._lock = lock

    def __enter__(self) -> None:
        start = time.perf_counter()
        self._lock.acquire()
        _local.turn_at = time.perf_counter()
        _add("turn_wait", _local.turn_at - start)

    def __exit__(self, *exc: object) -> None:
        _add("turn_hold", time.perf_counter() - _local.turn_at)
        self._lock.release()


class _TimedLock:
    """The store's per-process write lock, its wait added to the request's record."""

    def __init__(self, lock: Any):
        self._lock = lock

    def __enter__(self) -> None:
        start = time.perf_counter()
        self._lock.acquire()
        _add("process_lock_wait", time.perf_counter() - start)

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _timed_file_lock(original: Callable[..., Any]) -> Callable[..., Any]:
    """``engine._file_lock`` timed: the wait for it, then its hold (BEGIN IMMEDIATE to the commit done and the
    connection returned), wall and the holding thread's CPU."""
    @contextlib.contextmanager
    def timed(engine: Any) -> Iterator[None]:
        start = time.perf_counter()
        with original(engine):
            acquired, cpu, queued = time.perf_counter(), time.thread_time(), _runqueue()
            _local.acquired = acquired
            _add("file_lock_wait", acquired - start)
            try:
                yield
            finally:
                done = time.perf_counter()
                _add("hold", done - acquired)
                _add("hold_cpu", time.thread_time() - cpu)
                _add("hold_runqueue", _runqueue() - queued)
                commit_at = getattr(_local, "commit_at", None)
                if commit_at is not None:
                    _add("commit", done - commit_at)
                    _local.commit_at = None
    return timed


def _timed_store(original: Callable[..., Any]) -> Callable[..., Any]:
    def timed(self: Any, conn: Any, prepared: Any) -> Any:
        start, cpu = time.perf_counter(), time.thread_time()
        _add("begin", start - getattr(_local, "acquired", start))
        try:
            return original(self, conn, prepared)
        finally:
            _local.stored_at = time.perf_counter()
            _add("store", _local.stored_at - start)
            _add("store_cpu", time.thread_time() - cpu)
    return timed


def _on_commit(_conn: Any) -> None:
    _local.commit_at = time.perf_counter()
    stored_at = getattr(_local, "stored_at", None)
    if stored_at is not None:
        _add("after_store", _local.commit_at - stored_at)
        _local.stored_at = None


class _Recorder:
    """The WSGI app: marks the handled request as a report's (``POST /api/v1/reports``) and times the app's call."""

    def __init__(self, app: Callable[..., Any]):
        self._app = app

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Any:
        record = _record()
        if record is None or environ.get("PATH_INFO") != "/api/v1/reports":
            return self._app(environ, start_response)
        record["report"] = 1.0
        start, cpu, queued = time.perf_counter(), time.thread_time(), _runqueue()
        try:
            return self._app(environ, start_response)
        finally:
            record["request"], record["request_cpu"] = time.perf_counter() - start, time.thread_time() - cpu
            record["request_runqueue"] = _runqueue() - queued


class _Gunicorn:
    """gunicorn's gthread worker timed around each request of a kept-alive connection: the main thread puts the
    connection in the thread pool's queue (``enqueue_req``), a pool thread reads, runs and answers the request
    (``handle``), the main thread takes the connection back (``finish_request``, through its method queue) into
    its poller until the client's next request makes it readable. One JSON line per report request into
    ``<out>/<pid>.jsonl`` (opened in each forked worker), written once it is answered."""

    def __init__(self, out: Path):
        self._out, self._fd, self._pid = out, -1, 0

    def install(self, worker: Any) -> None:
        enqueue, handle, finish = worker.enqueue_req, worker.handle, worker.finish_request

        def enqueue_req(self_: Any, conn: Any) -> Any:
            conn.bench_enqueued = time.perf_counter()
            return enqueue(self_, conn)

        def timed_handle(self_: Any, conn: Any) -> Any:
            start, cpu, queued = time.perf_counter(), time.thread_time(), _runqueue()
            record: dict[str, float] = {"t": time.monotonic(), "pid": os.getpid()}
            if hasattr(conn, "bench_finished"):  # a kept-alive connection's next request
                record["handoff"] = conn.bench_finished - conn.bench_done
                record["client"] = conn.bench_enqueued - conn.bench_finished
            record["pool_wait"] = start - getattr(conn, "bench_enqueued", start)
            _local.record = record
            try:
                return handle(self_, conn)
            finally:
                _local.record = None
                conn.bench_done = time.perf_counter()
                record["handle"], record["handle_cpu"] = conn.bench_done - start, time.thread_time() - cpu
                record["handle_runqueue"] = _runqueue() - queued
                if record.get("report"):
                    self._write(record)

        def finish_request(self_: Any, conn: Any, fs: Any) -> Any:
            conn.bench_finished = time.perf_counter()
            return finish(self_, conn, fs)

        worker.enqueue_req, worker.handle, worker.finish_request = enqueue_req, timed_handle, finish_request

    def _write(self, record: dict[str, float]) -> None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._fd = os.open(self._out / f"{self._pid}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._fd, (json.dumps(record) + "\n").encode())


def install(out: Path) -> None:
    """Wrap what is timed, then hand the app to the real ``serve_with_gunicorn``."""
    import sqlalchemy as sa
    from gunicorn.workers.gthread import ThreadWorker

    import collector.cli.serve as serve
    import collector.http.server as server
    import collector.store.engine as store_engine
    from collector.ingest.ingestor import Ingestor

    real_serve = server.serve_with_gunicorn

    def serve_timed(app: Any, *args: Any, **kwargs: Any) -> None:
        c = app.extensions["hdc"]
        object.__setattr__(c, "ingest_turn", _TimedTurn(c.ingest_turn))  # a frozen dataclass
        process_lock = store_engine._process_lock
        store_engine._process_lock = lambda engine: _TimedLock(process_lock(engine))
        store_engine._file_lock = _timed_file_lock(store_engine._file_lock)
        Ingestor._store = _timed_store(Ingestor._store)  # type: ignore[method-assign]
        sa.event.listen(c.engine, "commit", _on_commit)
        app.wsgi_app = _Recorder(app.wsgi_app)
        _Gunicorn(out).install(ThreadWorker)
        real_serve(app, *args, **kwargs)

    server.serve_with_gunicorn = serve_timed
    if hasattr(serve, "serve_with_gunicorn"):  # imported by name when the command's module is
        serve.serve_with_gunicorn = serve_timed  # type: ignore[attr-defined]


# What is printed, in a request's order: (key in the records, label); "blocked" is worked out (``_value``).
_PIECES = (
    ("client", "(gunicorn) connection in the poller until its next request (client, network, main thread)"),
    ("pool_wait", "(gunicorn) request in the thread pool's queue"),
    ("handle", "(gunicorn) a pool thread reads, runs and answers it (ThreadWorker.handle)"),
    ("handle_cpu", "  its CPU (thread_time)"),
    ("handle_runqueue", "  its time on the run queue (ready; the cores ran other work)"),
    ("request", "  of which the app's call (WSGI)"),
    ("request_cpu", "    its CPU"),
    ("turn_wait", "    wait for the process's ingest turn"),
    ("turn_hold", "    ingest turn held (parse .. commit)"),
    ("process_lock_wait", "      wait for the process's write lock"),
    ("file_lock_wait", "      wait for the cross-process write lock (flock)"),
    ("hold", "      write lock held (flock .. commit done)"),
    ("hold_cpu", "        of which the holder's CPU (thread_time)"),
    ("hold_runqueue", "        of which on the run queue"),
    ("blocked", "        of which blocked (wall - CPU - run queue: the GIL, I/O)"),
    ("begin", "        connect + BEGIN IMMEDIATE"),
    ("store", "        statements (Ingestor._store)"),
    ("store_cpu", "          their CPU"),
    ("after_store", "        token's last use + kept.flush"),
    ("commit", "        COMMIT + connection back to the pool"),
    ("handoff", "(gunicorn) answered until the main thread takes the connection back (method queue)"),
)


def _value(record: dict[str, float], key: str) -> float | None:
    if key == "blocked":
        return record["hold"] - record["hold_cpu"] - record["hold_runqueue"] if "hold" in record else None
    return record.get(key)


def _cell(records: list[dict[str, float]], key: str) -> str:
    """Median / p90 in ms of ``key`` over the records that have it."""
    values = sorted(1000 * v for v in (_value(r, key) for r in records) if v is not None)
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {values[int(0.9 * (len(values) - 1))]:.2f}"


def summary(out: Path, windows: dict[str, tuple[float, float]]) -> None:
    """Median and p90 of each piece per kind of round (``windows``: round name -> its monotonic start and end)
    and the rate one write lock holder at a time allows; then, round by round, how busy the write lock was and
    how the reports fell to the processes (a kept-alive connection stays with the process that accepted it)."""
    records = [json.loads(line) for path in out.glob("*.jsonl") for line in path.read_text().splitlines()]
    rounds = {name: [r for r in records if start <= r["t"] <= end] for name, (start, end) in windows.items()}
    # A round's wall time from its first request taken to its last answered (the window also holds the load
    # generator's preparing of the requests).
    spans = {name: (max(r["t"] + r["handle"] for r in inside) - min(r["t"] for r in inside)) if inside else 1.0
             for name, inside in rounds.items()}
    kinds: dict[str, list[dict[str, float]]] = {}
    for name, inside in rounds.items():
        kinds.setdefault(name.rstrip("0123456789 "), []).extend(inside)
    print("\nWhere a report's wall time goes in `serve --workers 2` around the store's write lock (SQLite; ms, "
          "median / p90 per report)\n")
    print("| piece | " + " | ".join(f"{kind} ({len(rs)})" for kind, rs in kinds.items()) + " |")
    print("| --- |" + " ---: |" * len(kinds))
    for key, label in _PIECES:
        print(f"| {label} | " + " | ".join(_cell(rs, key) for rs in kinds.values()) + " |")
    holds = [statistics.mean(r.get("hold", 0.0) for r in rs) if rs else 0.0 for rs in kinds.values()]
    print("| one write lock holder at a time allows (1 / mean hold) | " +
          " | ".join(f"{1 / hold:.0f}/s" if hold else "-" for hold in holds) + " |")
    print("\n| round | reports/s | write lock held | reports served by each process | its ingest turn held | "
          "its pool threads busy in handle (of 2) | its requests' median wait in its pool's queue (ms) |")
    print("| --- | ---: | ---: | --- | --- | --- | --- |")
    for name, inside in rounds.items():
        wall = spans[name]
        mine = [[r for r in inside if r["pid"] == pid] for pid in sorted({r["pid"] for r in inside})]
        mine += [[]] * (2 - len(mine))  # a process that accepted none of the round's connections
        cells = [", ".join(_process_cell(rs, len(inside), wall)[i] for rs in mine) for i in range(4)]
        print(f"| {name} | {len(inside) / wall:.0f} | {sum(r.get('hold', 0.0) for r in inside) / wall:.0%} | " +
              " | ".join(cells) + " |")


def _process_cell(mine: list[dict[str, float]], served: int, wall: float) -> tuple[str, str, str, str]:
    """One process's part of a round: its share of the reports, its ingest turn's share of the round's wall time,
    its pool threads busy in handle, its requests' median wait in its pool's queue."""
    wait = f"{1000 * statistics.median(r['pool_wait'] for r in mine):.1f}" if mine else "-"
    return (f"{len(mine) / max(served, 1):.0%}", f"{sum(r.get('turn_hold', 0.0) for r in mine) / wall:.0%}",
            f"{sum(r['handle'] for r in mine) / wall:.2f}", wait)


if __name__ == "__main__":
    target = Path(sys.argv.pop(1))
    sys.path[0] = os.getcwd()  # the source tree to serve first, as ``python -m`` puts it, not bench/support
    install(target)
    from collector.cli import main

    main()
