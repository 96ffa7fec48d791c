"""A throwaway PostgreSQL server for tests: Debian's binaries, a temp directory, a loopback port.

PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` system user that Debian's package creates.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Optional


def binaries() -> Optional[Path]:
    """The newest installed server's bin directory, or None when no server is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """``durable``: fsync and synchronous commit on, as production runs it; off (the default) for the tests,
    where a commit need not survive a power cut and the disk's flushes would only slow them."""

    def __init__(self, bindir: Path, port: int, durable: bool = False):
        self.bindir, self.port, self.durable = bindir, port, durable
        self.datadir = Path(tempfile.mkdtemp(prefix="hdc-pg-"))
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.datadir, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"), "-l", str(self.datadir / "log"),
                  "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 "
                  f"-c fsync={'on' if self.durable else 'off'} -c max_connections=200", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """A fresh, empty database; tests never share state."""
        import sqlalchemy as sa

        name = "t_" + uuid.uuid4().hex[:12]
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                deadline = time.monotonic() + 10
                while True:
                    try:
                        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                        break
                    except sa.exc.OperationalError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)
        finally:
            engine.dispose()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"
