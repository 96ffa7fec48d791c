"""The agent sends only what it queued itself: an unsafe outbox directory is refused, planted links are set aside.

A real ``hdc-agent run`` against a real collector, through a relay that
records every byte the agent sent; the secret must never be among them.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from agents.outbox import Outbox

from conftest import cli
from support.relay import WARD, Relay, relay_to, run_agent, write_config

pytestmark = pytest.mark.integration
SECRET = b"root-only-secret-" + uuid.uuid4().hex.encode()


def plant(outbox: Path, tmp_path: Path) -> Path:
    """A root-only file, and a link to it named like a queued report."""
    secret = tmp_path / "shadow"
    secret.write_bytes(b'{"report_id": "x", "secret": "' + SECRET + b'"}')
    secret.chmod(0o600)
    link = outbox / f"20250101T000000Z-{0:020d}-{uuid.uuid4()}.json"
    link.symlink_to(secret)
    return link


def sent(relay: Relay) -> bytes:
    return b"".join(r.raw + r.body for r in relay.requests())


def test_a_world_writable_outbox_is_refused_and_nothing_is_sent(tmp_path, collector):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    outbox.chmod(0o777)
    plant(outbox, tmp_path)
    relay = relay_to(collector)
    done = run_agent(write_config(tmp_path, relay.url, collector.token(WARD)))
    assert done.returncode == 2
    assert done.stderr == (f"hdc-agent: outbox_dir {outbox} is writable by group or others (mode 0777); refused, "
                           f"anyone could queue files the agent would send: run chmod 700 {outbox}\n")
    assert relay.requests() == []
    status = cli("agents.cli", "status", "--config", str(tmp_path / "agent.yaml"))
    assert status.returncode == 2 and "chmod 700" in status.stderr
    relay.close()


def test_a_planted_link_is_set_aside_never_read_and_the_agents_own_report_delivered(tmp_path, collector):
    outbox = tmp_path / "outbox"
    outbox.mkdir(mode=0o700)
    link = plant(outbox, tmp_path)
    relay = relay_to(collector)
    done = run_agent(write_config(tmp_path, relay.url, collector.token(WARD)))
    assert done.returncode == 2  # a person should look at what was set aside
    assert "1 report(s) rejected" in done.stderr and "a symbolic link, not a report the agent queued" in done.stderr
    [own] = relay.requests()
    assert b'"ward_code":"00070"' in own.body
    assert SECRET not in sent(relay)
    assert Outbox(outbox).pending() == []
    aside = outbox / "rejected" / link.name
    assert aside.is_symlink() and "symbolic link" in aside.with_suffix(".reason.txt").read_text()
    relay.close()


def test_a_fifo_in_the_outbox_does_not_hang_the_agent(tmp_path, collector):
    outbox = tmp_path / "outbox"
    outbox.mkdir(mode=0o700)
    os.mkfifo(outbox / f"20250101T000000Z-{0:020d}-{uuid.uuid4()}.json")
    done = run_agent(write_config(tmp_path, collector.url, collector.token(WARD)))
    assert done.returncode == 2 and "not a regular file the agent queued" in done.stderr
    assert Outbox(outbox).pending() == []
