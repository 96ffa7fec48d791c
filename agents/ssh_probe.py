"""``hdc-agent probe-ssh``: read agentless hosts over SSH and queue their reports like the agent's own.

Each host is read by the Linux probe's own parsers (through an
:class:`~agents.ssh_host.SshHost` and :class:`~agents.host_text.TextFacts`),
built into a report by the same builder (``agent.source`` = ``ssh``), put in
the same outbox and delivered by the same sender, so the collector sees an
ordinary report. Hosts are read a few at a time; one host's failure is
recorded in the summary and never stops the others.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple, Optional

from .builder import build_report
from .host_text import TextFacts
from .probe_linux import probe_host
from .ssh_host import HostFailure, connect
from .targets import Target, Targets

if TYPE_CHECKING:
    from .config import AgentConfig
    from .outbox import Outbox


class HostResult(NamedTuple):
    """How one target went: queued with its device and report id, or failed with the reason."""

    target: Target
    ok: bool
    message: str
    action: bool = False  # a person must act (host key, login, key file), not just wait
    device_id: Optional[str] = None
    report_id: Optional[str] = None

    def line(self) -> str:
        if self.ok:
            return f"ok      {self.target.label}  ward {self.target.ward}  device {self.device_id}  " \
                   f"report {self.report_id} queued"
        return f"FAILED  {self.message}"  # the message names the host


def probe_targets(targets: Targets, config: "AgentConfig", outbox: "Outbox") -> list:
    """Read every target (``targets.concurrency`` at a time) and queue each report; results in file order."""
    lock = threading.Lock()  # the outbox enforces its bounds on put; one writer at a time

    def one(target: Target) -> HostResult:
        try:
            report = read_target(target, targets, config)
        except HostFailure as exc:
            return HostResult(target, False, str(exc), action=exc.action)
        except Exception as exc:  # a bug or an unforeseen answer must cost this host only, said in one line
            return HostResult(target, False, f"{target.label}: unexpected {type(exc).__name__}: {exc}")
        with lock:
            outbox.put(report)
        return HostResult(target, True, "queued", device_id=report["device"]["id"], report_id=report["report_id"])

    with ThreadPoolExecutor(max_workers=targets.concurrency, thread_name_prefix="probe-ssh") as pool:
        return list(pool.map(one, targets.targets))


def read_target(target: Target, targets: Targets, config: "AgentConfig") -> dict:
    """One host's report; :class:`HostFailure` when it cannot be reached, verified or logged in to."""
    with connect(target, targets.connect_timeout, targets.command_timeout) as host:
        facts = probe_host(host, TextFacts(host))
        if not host.alive():
            raise HostFailure(f"{host.name}: connection lost while reading the host", action=False)
    facts.notes.append(f"read over SSH as {target.user}@{target.label} by hdc-agent probe-ssh")
    as_configured = replace(config, ward_code=target.ward, device_class=target.device_class)
    return build_report(facts, as_configured, source="ssh")
