"""``hdc-agent``: inventory this machine, queue the report, deliver the queue.

Runs from a systemd timer, cron or a Windows scheduled task, so the exit
code is the interface and every failure is one readable line on stderr,
never a traceback in a mail nobody reads.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Optional, Sequence

from . import __version__
from .builder import build_report
from .config import AgentConfig, ConfigError, load_config
from .outbox import MiB, Outbox
from .probe_linux import probe
from .reachability import check_endpoints
from .sender import FlushSummary, Outcome, Sender, deliver

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


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time, so captured and redirected runs see the lines."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"hdc-agent: {record.getMessage()}\n")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the console script; returns the exit code."""
    _route_logging()
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
    return parser


def _inventory(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config else None
    print(json.dumps(_collect(config), indent=2, ensure_ascii=False))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    outbox = Outbox(config.outbox_dir, config.outbox_max_reports, int(config.outbox_max_mb * MiB))
    outbox.put(_collect(config))
    summary = deliver(outbox, Sender.from_config(config))
    if summary.remaining == 0 and summary.rejected == 0:
        return EXIT_OK
    code, reason = _explain(summary, outbox)
    return _fail(reason, code)


def _collect(config: Optional[AgentConfig]) -> dict:
    reachability = check_endpoints(config.hdc_endpoints, ca_bundle=config.ca_bundle) if config else []
    return build_report(probe(), config, reachability)


def _explain(summary: FlushSummary, outbox: Outbox) -> tuple:
    """The exit code and the one line that says why not everything was delivered."""
    code, parts = EXIT_RETRY, []
    stop = summary.stopped_by
    if stop is not None:
        parts.append(stop.message)
        if stop.outcome is Outcome.MISCONFIGURED:
            code = EXIT_ACTION
    if summary.held_until is not None:
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(summary.held_until))
        parts.append(f"collector asked not to send before {until} (Retry-After)")
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
    logger = logging.getLogger("agents")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler(logging.WARNING))
        logger.setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
