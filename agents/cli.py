"""``hdc-agent``: inventory this machine, queue the report, deliver the queue.

Runs from a systemd timer, cron or a Windows scheduled task, so the exit
code is the interface and every failure is one readable line on stderr,
never a traceback in a mail nobody reads.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Optional, Sequence

from . import __version__
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import AgentConfig
    from .outbox import Outbox
    from .sender import FlushSummary

# Each command imports what it uses when it runs: `inventory --print` never loads YAML, TLS or HTTP,
# which keeps the agent's start-up (its footprint on a ward PC) close to Python's own.

EXIT_OK = 0
EXIT_RETRY = 1  # queued; the next run will try again on its own
EXIT_ACTION = 2  # a person must act: bad configuration, token refused, report rejected

_EPILOG = f"""exit codes: {EXIT_OK} everything delivered (or printed); {EXIT_RETRY} reports queued, the next
run retries them; {EXIT_ACTION} a person must act (bad configuration, token or certificate
refused, report rejected by the collector)"""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's hook; one line instead of usage + message
        raise _UsageError(f"{message} (see {self.prog} --help)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        return _fail(str(exc), EXIT_ACTION)
    except SystemExit as exc:  # --help and --version end here
        return int(exc.code or 0)
    try:
        return args.handler(args)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_ACTION)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", EXIT_ACTION)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hdc-agent", epilog=_EPILOG,
                     description="Report this machine's readiness facts to the hdc-readiness collector.")
    parser.add_argument("--version", action="version", version=f"hdc-agent {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    inventory = commands.add_parser("inventory", help="read this machine and print its report; sends nothing")
    inventory.add_argument("--print", dest="print_report", action="store_true", required=True,
                           help="print the report as JSON on stdout")
    inventory.add_argument("--config", metavar="FILE",
                           help="use the ward code, device class and HDC endpoints of this configuration; "
                                "without it the ward code is the placeholder 00000")
    inventory.set_defaults(handler=_inventory)
    run = commands.add_parser("run", help="collect, queue in the outbox, then deliver the outbox",
                              epilog=_EPILOG)
    run.add_argument("--config", metavar="FILE", required=True, help="the agent's YAML configuration")
    run.set_defaults(handler=_run)
    status = commands.add_parser("status", help="show the outbox: reports waiting, oldest, last error, "
                                                "last success, next attempt; sends nothing")
    status.add_argument("--config", metavar="FILE", required=True, help="the agent's YAML configuration")
    status.add_argument("--json", action="store_true", help="print the status as one JSON object")
    status.set_defaults(handler=_status)
    ssh = commands.add_parser("probe-ssh", help="inventory agentless Linux hosts over SSH, queue and deliver "
                                                "their reports like this machine's own (needs hdc-readiness[ssh])",
                              epilog=_EPILOG + f"; {EXIT_ACTION} also when a host's key or login was refused, "
                                                f"{EXIT_RETRY} when a host could not be reached")
    ssh.add_argument("--targets", metavar="FILE", required=True,
                     help="YAML list of hosts: host, port, user, key_file, known_hosts, ward, device_class, "
                          "trust_on_first_use")
    ssh.add_argument("--config", metavar="FILE", required=True,
                     help="the agent's YAML configuration (collector, ward token, outbox)")
    ssh.set_defaults(handler=_probe_ssh)
    snmp = commands.add_parser("probe-snmp", help="inventory network and power equipment over SNMP (read-only), "
                                                  "queue and deliver one report per device (needs "
                                                  "hdc-readiness[snmp])",
                               epilog=_EPILOG + f"; {EXIT_ACTION} also when a device refused the credentials, "
                                                 f"{EXIT_RETRY} when a device did not answer")
    snmp.add_argument("--targets", metavar="FILE", required=True,
                      help="YAML list of devices: address, version (2c or 3), community_file or SNMPv3 user and "
                           "key files, name, location (see docs/snmp.md)")
    snmp.add_argument("--config", metavar="FILE", required=True,
                      help="the agent's YAML configuration (collector, unit token, outbox); reports go to its unit")
    snmp.set_defaults(handler=_probe_snmp)
    return parser


def _inventory(args: argparse.Namespace) -> int:
    config = _load_config(args.config) if args.config else None
    from .report_json import dumps

    print(dumps(_collect(config)))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from .sender import Sender, deliver

    config = _load_config(args.config)
    outbox = _outbox(config)
    dropped = outbox.dropped_unreported()
    notes = [f"outbox: {dropped} earlier report(s) dropped unsent because the outbox was full "
             f"(limit {config.outbox_max_reports} reports, {config.outbox_max_mb:g} MB)"] if dropped else []
    outbox.put(_collect(config, notes))
    outbox.forget_dropped(dropped)
    summary = deliver(outbox, Sender.from_config(config))
    if summary.remaining == 0 and summary.rejected == 0:
        return EXIT_OK
    code, reason = _explain(summary, outbox)
    return _fail(reason, code)


def _status(args: argparse.Namespace) -> int:
    from .status import outbox_status, render_status

    config = _load_config(args.config)
    status = outbox_status(_outbox(config))
    print(json.dumps(status, indent=2) if args.json else render_status(status))
    return EXIT_OK


def _probe_ssh(args: argparse.Namespace) -> int:
    """Every target is read (a failed host costs only itself), then the outbox is delivered once."""
    from .ssh_host import SshUnavailable, paramiko_module
    from .ssh_probe import probe_targets
    from .targets import load_targets

    config = _load_config(args.config)
    targets = load_targets(args.targets, config.ward_code)
    try:
        paramiko_module()
    except SshUnavailable as exc:
        return _fail(str(exc), EXIT_ACTION)
    outbox = _outbox(config)
    return _deliver_probed(probe_targets(targets, config, outbox), "hosts", config, outbox)


def _probe_snmp(args: argparse.Namespace) -> int:
    """Every device is read (a silent one costs only itself), then the outbox is delivered once."""
    from .snmp_probe import SnmpUnavailable, probe_snmp_targets, pysnmp_module
    from .snmp_targets import load_snmp_targets

    config = _load_config(args.config)
    targets = load_snmp_targets(args.targets)
    try:
        pysnmp_module()
    except SnmpUnavailable as exc:
        return _fail(str(exc), EXIT_ACTION)
    outbox = _outbox(config)
    return _deliver_probed(probe_snmp_targets(targets, config, outbox), "devices", config, outbox)


def _deliver_probed(results: list, what: str, config: "AgentConfig", outbox: "Outbox") -> int:
    """The probers' common end: a line per target and a count, the outbox delivered once, and the exit code of
    the worse of delivery and probing (a person must act for refused credentials, a retry will do otherwise)."""
    from .sender import Sender, deliver

    for result in results:
        print(result.line())
    failed = [r for r in results if not r.ok]
    print(f"{len(results) - len(failed)} of {len(results)} {what} read")
    summary = deliver(outbox, Sender.from_config(config))
    code = EXIT_OK
    if summary.remaining or summary.rejected:
        code, reason = _explain(summary, outbox)
        sys.stderr.write(f"hdc-agent: {reason}\n")
    if failed:
        code = max(code, EXIT_ACTION if any(r.action for r in failed) else EXIT_RETRY)
        sys.stderr.write(f"hdc-agent: {len(failed)} of {len(results)} {what} failed: "
                         f"{', '.join(r.target.label for r in failed)}\n")
    return code


def _load_config(path: str) -> "AgentConfig":
    """The configuration, with the agent's warnings routed to stderr from here on."""
    from .config import load_config

    _route_logging()
    return load_config(path)


def _outbox(config: "AgentConfig") -> "Outbox":
    from .delivery_state import RetryPolicy
    from .outbox import MiB, Outbox

    return Outbox(config.outbox_dir, config.outbox_max_reports, int(config.outbox_max_mb * MiB),
                  RetryPolicy(config.retry_initial_seconds, config.retry_max_seconds))


def _collect(config: Optional["AgentConfig"], notes: Sequence[str] = ()) -> dict:
    facts = _probe()
    from .builder import build_report

    reachability = []
    if config is not None and config.hdc_endpoints:
        from .reachability import check_endpoints
        reachability = check_endpoints(config.hdc_endpoints, ca_bundle=config.ca_bundle, proxy=config.proxy)
    facts.notes.extend(notes)
    return build_report(facts, config, reachability)


def _probe():
    """This platform's facts; only its own probe is imported.

    On Linux the package query starts first and answers while Python loads
    the probe (psutil and the rest): the run then takes about as long as
    the slower of the two, not their sum.
    """
    if sys.platform == "win32":
        from .probe_windows import probe
        return probe()
    from .linux_software import prefetch
    packages = prefetch()
    from .probe_linux import probe
    return probe(run=packages)


def _explain(summary: "FlushSummary", outbox: "Outbox") -> tuple:
    """The exit code and the one line that says why not everything was delivered."""
    from .delivery_state import RETRY_AFTER
    from .sender import Outcome

    code, parts = EXIT_RETRY, []
    stop = summary.stopped_by
    if stop is not None:
        parts.append(stop.message)
        if stop.outcome is Outcome.MISCONFIGURED:
            code = EXIT_ACTION
    if summary.held_until is not None:
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(summary.held_until))
        if summary.hold_reason == RETRY_AFTER:
            parts.append(f"collector asked not to send before {until} (Retry-After)")
        else:
            parts.append(f"next attempt not before {until} (backing off after failed attempts)")
    if summary.rejected:
        code = EXIT_ACTION
        parts.append(f"{summary.rejected} report(s) rejected by the collector (last: {summary.last_rejection}), "
                     f"moved with the reasons to {outbox.rejected_dir}")
    if summary.remaining:
        parts.append(f"{summary.remaining} report(s) kept in {outbox.directory} for the next run")
    return code, "; ".join(parts)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"hdc-agent: {message}\n")
    return code


def _route_logging() -> None:
    """Warnings of the agent's modules (outbox full, token file readable by others) as stderr lines."""
    import logging

    class StderrHandler(logging.Handler):
        """Writes to whatever sys.stderr is at the time, so captured and redirected runs see the lines."""

        def emit(self, record: logging.LogRecord) -> None:
            sys.stderr.write(f"hdc-agent: {record.getMessage()}\n")

    logger = logging.getLogger("agents")
    if not any(type(h).__name__ == "StderrHandler" for h in logger.handlers):
        logger.addHandler(StderrHandler(logging.WARNING))
        logger.setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
