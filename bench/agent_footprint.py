"""What one inventory costs a ward PC: `hdc-agent inventory --print` against the peers, as whole processes.

Each command runs as its own process, a warm-up first, then --runs times
(the commands taking turns); the figures are medians of wall time, user+system CPU and peak resident
memory (from os.wait4, so a helper the command starts, such as dpkg-query,
counts too). The peers are those Debian packages when they are installed:
FusionInventory (`fusioninventory-inventory`, package fusioninventory-agent)
and OCS Inventory (`ocsinventory-agent --local`, package ocsinventory-agent).
The floor is what any Python agent pays before it reads anything:
`python -c "import psutil"`. Software counts show the lists are comparable.

    python bench/agent_footprint.py [--runs 5] [--check]

--check exits 1 when hdc-agent misses the targets against FusionInventory
(median wall at most 0.15 of it, peak RSS at most 0.4 of it, at least as
many programs listed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

WALL_TARGET = 0.15
RSS_TARGET = 0.4


@dataclass
class Command:
    name: str
    argv: List[str]
    count_software: Optional[Callable[[bytes], Optional[int]]] = None


@dataclass
class Figures:
    name: str
    wall: float
    cpu: float
    rss_mb: float
    software: Optional[int]


def run_once(argv: List[str], stdout_path: Path) -> tuple:
    """(wall s, user+sys CPU s, peak RSS MiB) of one whole process, its children included.

    Python may cache bytecode: pip compiles an installed agent, so a ward PC
    never pays for compiling it, and neither should a measurement (an
    editable install is compiled by the warm-up run instead).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with open(stdout_path, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux counts KiB


def measure(commands: list, runs: int, workdir: Path) -> list:
    """Figures per command. Runs take turns (a, b, c, a, b, c, ...), so a machine that gets busier
    halfway through slows every command alike and the ratios stay fair."""
    outputs = {c.name: workdir / f"output-{i}" for i, c in enumerate(commands)}
    for command in commands:
        run_once(command.argv, outputs[command.name])  # warm-up: page cache, Python's bytecode cache
    samples: dict = {c.name: [] for c in commands}
    for _ in range(runs):
        for command in commands:
            samples[command.name].append(run_once(command.argv, outputs[command.name]))
    figures = []
    for command in commands:
        runs_of = samples[command.name]
        software = command.count_software(outputs[command.name].read_bytes()) if command.count_software else None
        figures.append(Figures(command.name, *(statistics.median(s[i] for s in runs_of) for i in range(3)),
                               software))
    return figures


def hdc_agent_argv() -> List[str]:
    """The console script beside this interpreter (a venv's), else the module run by this interpreter."""
    script = shutil.which("hdc-agent", path=str(Path(sys.executable).parent))
    if script:
        return [script, "inventory", "--print"]
    return [sys.executable, "-m", "agents.cli", "inventory", "--print"]


def _report_software(output: bytes) -> Optional[int]:
    try:
        return len(json.loads(output)["software"])
    except (ValueError, KeyError):
        return None


def _xml_software(output: bytes) -> int:
    return len(re.findall(rb"<SOFTWARES>", output))


def commands(workdir: Path) -> list:
    found = [Command("hdc-agent", hdc_agent_argv(), _report_software)]
    if shutil.which("fusioninventory-inventory"):
        found.append(Command("fusioninventory-inventory", ["fusioninventory-inventory"], _xml_software))
    if shutil.which("ocsinventory-agent"):
        local = workdir / "ocs"
        local.mkdir(exist_ok=True)
        found.append(Command("ocsinventory-agent --local", ["ocsinventory-agent", f"--local={local}"],
                             lambda _out: _ocs_software(local)))
    found.append(Command("floor: python -c 'import psutil'", [sys.executable, "-c", "import psutil"]))
    return found


def _ocs_software(local: Path) -> Optional[int]:
    files = sorted(local.glob("*.ocs"), key=lambda p: p.stat().st_mtime)
    return _xml_software(files[-1].read_bytes()) if files else None


def machine() -> str:
    model = "unknown CPU"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    distro = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    return (f"{model}, {os.cpu_count()} logical CPUs, {memory:.0f} GiB RAM, {distro}, "
            f"Python {platform.python_version()}")


def table(rows: list) -> str:
    """A Markdown table, as `make bench` collects every benchmark's output."""
    lines = ["| command | wall s | CPU s | peak RSS MiB | programs listed |", "| --- | ---: | ---: | ---: | ---: |"]
    for row in rows:
        software = "" if row.software is None else str(row.software)
        lines.append(f"| `{row.name}` | {row.wall:.3f} | {row.cpu:.3f} | {row.rss_mb:.1f} | {software} |")
    return "\n".join(lines)


def ratios(rows: list) -> tuple:
    """Lines comparing hdc-agent with each other command, and whether the FusionInventory targets hold."""
    agent = rows[0]
    lines, met = [], None
    for other in rows[1:]:
        lines.append(f"- hdc-agent / `{other.name}`: wall {agent.wall / other.wall:.3f}, "
                     f"CPU {agent.cpu / other.cpu:.3f}, peak RSS {agent.rss_mb / other.rss_mb:.3f}")
        if other.name == "fusioninventory-inventory":
            complete = (agent.software or 0) >= (other.software or 0)
            met = agent.wall <= WALL_TARGET * other.wall and agent.rss_mb <= RSS_TARGET * other.rss_mb and complete
            lines.append(f"- targets against FusionInventory (wall <= {WALL_TARGET}, peak RSS <= {RSS_TARGET}, "
                         f"programs >= its {other.software}): **{'met' if met else 'not met'}**")
    if met is None:
        lines.append("- FusionInventory not installed (Debian package fusioninventory-agent): targets not checked")
    return lines, met


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per command, after one warm-up "
                                                            "(default 5, at least 5)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the targets are not met")
    args = parser.parse_args(argv)
    runs = max(5, args.runs)
    with tempfile.TemporaryDirectory(prefix="hdc-footprint-") as tmp:
        rows = measure(commands(Path(tmp)), runs, Path(tmp))
    print(f"Agent footprint on {machine()}; medians of {runs} runs after one warm-up.\n")
    print(table(rows))
    print()
    lines, met = ratios(rows)
    print("\n".join(lines))
    return 1 if args.check and met is not True else 0


if __name__ == "__main__":
    sys.exit(main())
