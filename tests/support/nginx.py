"""Debian's nginx in front of a collector for tests: a private prefix, a loopback port, one server block.

The tests put nginx where the README puts it (TLS terminator, signing-in
proxy); only the ``server { ... }`` block differs between them.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Union

import requests


def start_nginx(directory: Path, server: str, url: str,
                verify: Union[bool, str] = True) -> subprocess.Popen:
    """nginx serving ``server`` (a server block) from ``directory``; returns once ``url``/healthz answers 200."""
    directory.mkdir()
    # Run as root (CI), nginx's workers would drop to nobody, who cannot read pytest's private folders.
    user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    d = directory
    (d / "nginx.conf").write_text(f"""
daemon off;
{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{server}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {proc.stdout.read()} {(d / 'error.log').read_text()}")
        try:
            if requests.get(url + "/healthz", timeout=1, verify=verify).status_code == 200:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError("nginx did not answer within 30 s")
