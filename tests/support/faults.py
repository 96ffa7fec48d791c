"""Faults done for real: a collector killed with SIGKILL and started again on the same port, a full or
read-only filesystem under the store, and agents that each keep their own outbox.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

import requests

ROOT = Path(__file__).resolve().parents[2]


def start_at(db_url: str, port: int, *extra: str, timeout: float = 60) -> subprocess.Popen:
    """``hdc-collector serve`` on a given loopback port (agents keep their URL across restarts)."""
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "serve", "--db", db_url, "--host", "127.0.0.1",
                             "--port", str(port), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"collector on port {port} did not become healthy within {timeout} s")


def kill9(proc: subprocess.Popen) -> None:
    """SIGKILL: no shutdown handler runs, open transactions are cut off wherever they are."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def write_agent_config(directory: Path, url: str, ward: str, token: str) -> Path:
    """An agent of its own: its token, its outbox, retries at once (the test, not a timer, paces it)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "agent.yaml"
    path.write_text(f'collector_url: {url}\nward_code: "{ward}"\ntoken: {token}\nallow_insecure_http: true\n'
                    f"outbox_dir: {directory / 'outbox'}\ntimeout_seconds: 20\nconnect_timeout_seconds: 2\n"
                    "retry_initial_seconds: 0\nretry_max_seconds: 1\n")
    path.chmod(0o600)
    return path


def run_agent(config: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``hdc-agent run --config``: collect this machine, queue the report, deliver the queue."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    return subprocess.run([sys.executable, "-m", "agents.cli", "run", "--config", str(config)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


def can_mount_tmpfs(probe_dir: Path) -> bool:
    """True when this process may mount a tmpfs (root on a machine that allows it, as CI is)."""
    probe_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe_dir)], capture_output=True)
    if done.returncode != 0:
        return False
    subprocess.run(["umount", str(probe_dir)], check=True)
    return True


@contextlib.contextmanager
def small_volume(directory: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``directory``: a real filesystem that really fills up."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(directory: Path) -> Path:
    """Write a filler file until the filesystem says ENOSPC; returns it (delete it to free the space)."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError:
                break
        while True:  # the last bytes a whole chunk did not fit in
            try:
                f.write(b"\0" * 512)
            except OSError:
                break
    return filler


def remount(directory: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(directory)], check=True)


def stored_ids(db_url: str, wards: Optional[list[str]] = None) -> list[str]:
    import sqlalchemy as sa

    from collector.store.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            query = "SELECT report_id FROM reports"
            if wards:
                query += " WHERE ward_code IN (" + ",".join(f"'{w}'" for w in wards) + ")"
            return [r[0] for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()
