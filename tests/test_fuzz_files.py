"""Generated broken versions of the files people write: agent configuration, baseline, catalog, milestones.

Each real file (the shipped data, a README-style agent configuration) is cut
short, given a value of the wrong type, a duplicated key, broken
indentation, bytes that are not UTF-8, or nesting thousands deep. Loading it
either succeeds (the change was harmless) or fails with the module's own
error whose message starts with the file's path and, where YAML could parse
the line, names it; never another exception. A sample of the refused files
then goes through the real command lines (``hdc-collector serve --baseline``
..., ``hdc-agent run --config``): one line on stderr, no traceback.
"""
from __future__ import annotations

import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agents.config import load_config
from agents.errors import ConfigError
from inventory.baseline import BaselineError, load_baseline
from inventory.catalog import CatalogError, load_catalog
from inventory.datafile import MAX_DEPTH, DataFile, DataFileError
from inventory.milestones import MilestoneError, load_milestones

from conftest import ROOT
from support.fuzz import examples, fuzz_settings

AGENT_CONFIG = """collector_url: https://hdc-collector.example:8443
ward_code: "00070"
token: hdc_0123456789abcdef_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ
ca_bundle: null
hdc_endpoints:
  - {name: hdc-portal, url: https://dichvucong.example/}
outbox_dir: outbox
proxy: null
connect_timeout_seconds: 10
timeout_seconds: 30
retry_initial_seconds: 60
retry_max_seconds: 3600
outbox_max_reports: 500
outbox_max_mb: 100
"""


def shipped(name: str) -> str:
    return resources.files("inventory").joinpath(f"data/{name}").read_text("utf-8")


KINDS = {  # what the file is: its loader, its error, a valid text, and the command line option that reads it
    "agent": (load_config, ConfigError, AGENT_CONFIG, None),
    "baseline": (load_baseline, BaselineError, shipped("baseline.yaml"), "--baseline"),
    "catalog": (load_catalog, CatalogError, shipped("catalog.yaml"), "--catalog"),
    "milestones": (load_milestones, MilestoneError, shipped("milestones.yaml"), None),
}
WRONG_VALUES = ["", "null", "~", "[]", "{}", "[1, 2]", "{a: 1}", "yes", "no", "-1", "0", "1e400", "0x1F", "0o17",
                "00070", "2025-13-45", "'unterminated", '"\\xZZ"', "!!python/object:os.system ls", "*anchor",
                "&a [*a]", "x" * 5000, "\t", "|", ">-", "@", "`", "%YAML 1.1", "---", "..."]


@st.composite
def broken(draw, text: str) -> tuple[bytes, bool]:
    """A broken copy of ``text``, and whether the break is one a line number can point at."""
    lines = text.splitlines(keepends=True)
    kind = draw(st.sampled_from(["truncate", "wrong-value", "duplicate", "indent", "not-utf8", "deep", "tabs"]))
    at = draw(st.integers(0, len(lines) - 1))
    if kind == "truncate":
        return text[:draw(st.integers(0, len(text) - 1))].encode(), False
    if kind == "wrong-value":
        valued = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?[\w.]+:\s*\S", line)]
        i = draw(st.sampled_from(valued))
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {draw(st.sampled_from(WRONG_VALUES) | st.text(max_size=40).map(repr))}\n"
        return "".join(lines).encode(), True
    if kind == "duplicate":
        keyed = [i for i, line in enumerate(lines) if re.match(r"^\w+:", line)]
        i = draw(st.sampled_from(keyed))
        return ("".join(lines) + ("" if text.endswith("\n") else "\n") + lines[i]).encode(), True
    if kind == "indent":
        lines[at] = " " * draw(st.integers(1, 7)) + lines[at]
        return "".join(lines).encode(), False
    if kind == "not-utf8":
        raw = text.encode()
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x80"])) + raw[cut:], False
    if kind == "deep":
        depth = draw(st.integers(50, 3000))
        return (text + ("" if text.endswith("\n") else "\n") + "deep: " + "[" * depth + "]" * depth + "\n").encode(), \
            False
    lines[at] = "\t" + lines[at]
    return "".join(lines).encode(), False


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_broken_files_are_refused_naming_file_and_line(kind, tmp_path):
    loader, error, text, _ = KINDS[kind]
    path = tmp_path / f"{kind}.yaml"
    refused = {"n": 0}

    @fuzz_settings(100)
    @given(case=broken(text))
    def check(case):
        data, has_line = case
        path.write_bytes(data)
        try:
            loader(path)
        except error as exc:
            refused["n"] += 1
            message = str(exc)
            assert message.startswith(str(path)), message
            assert "Traceback" not in message and len(message) < 2000, message
            if has_line:
                assert re.match(rf"{re.escape(str(path))}(:\d+|: )", message), message
        except RecursionError:
            pytest.fail(f"{kind}: nesting exhausted the stack instead of a clear error")

    check()
    assert refused["n"] > 0


def flow_nesting(levels: int) -> str:
    """A root key holding ``levels`` lists in brackets, on one line."""
    return "deep: " + "[" * levels + "]" * levels + "\n"


def block_nesting(levels: int) -> str:
    """A root key holding ``levels`` mappings by indentation, one line each."""
    return "".join(" " * i + f"k{i}:\n" for i in range(levels)) + " " * levels + "k: x\n"


def test_nesting_is_refused_just_past_the_limit_naming_file_and_line(tmp_path):
    text = shipped("baseline.yaml")
    end = text.count("\n") + 1  # the first line added
    path = tmp_path / "baseline.yaml"
    lists: list = []
    for _ in range(MAX_DEPTH - 2):
        lists = [lists]
    assert DataFile(flow_nesting(MAX_DEPTH - 1), "at-limit.yaml", DataFileError).root == {"deep": lists}
    for nesting, refused_at in [(flow_nesting, end), (block_nesting, end + MAX_DEPTH)]:
        path.write_text(text + nesting(MAX_DEPTH - 1))  # the root mapping and 31 more: read, then judged as a baseline
        with pytest.raises(BaselineError) as judged:
            load_baseline(path)
        assert re.match(rf"{re.escape(str(path))}: line {end}: field '(deep|k0)': unknown key", str(judged.value))
        path.write_text(text + nesting(MAX_DEPTH))
        with pytest.raises(BaselineError) as refused:
            load_baseline(path)
        assert str(refused.value) == f"{path}: line {refused_at}: not valid YAML: nested deeper than 32 levels"
    path.write_text(text + flow_nesting(3000))
    with pytest.raises(BaselineError, match=rf"line {end}: not valid YAML: nested deeper than 32 levels$"):
        load_baseline(path)
    # Aliases do not nest deeper: each anchored tree is built once, so 120 trees of 10 lists, each holding
    # the one before, are read (and judged as a baseline) without recursing 1,200 levels past Python's limit.
    chain = "".join(f"a{i}: &a{i} " + "[" * 10 + (f"*a{i - 1}" if i else "0") + "]" * 10 + "\n" for i in range(120))
    path.write_text(chain)
    with pytest.raises(BaselineError, match=r": line 1: field 'a0': unknown key"):
        load_baseline(path)
    agent = tmp_path / "agent.yaml"
    agent.write_text(AGENT_CONFIG + flow_nesting(MAX_DEPTH))
    with pytest.raises(ConfigError) as refused:
        load_config(agent)
    line = AGENT_CONFIG.count("\n") + 1
    assert str(refused.value) == f"{agent}:{line}: not valid YAML (nested deeper than 32 levels)"


def refused_by_loader(kind: str, data: bytes, path: Path) -> str:
    """The loader's message for ``data``; the case is dropped when the file happens to be acceptable."""
    loader, error, _, _ = KINDS[kind]
    path.write_bytes(data)
    try:
        loader(path)
    except error as exc:
        return str(exc)
    assume(False)
    return ""


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["baseline", "catalog"])
def test_the_collector_refuses_a_broken_file_in_one_line(kind, tmp_path):
    path = tmp_path / f"{kind}.yaml"

    @settings(max_examples=max(3, examples(8) // 10), deadline=None, database=None)
    @given(case=broken(KINDS[kind][2]))
    def check(case):
        message = refused_by_loader(kind, case[0], path)
        done = subprocess.run([sys.executable, "-m", "collector.cli", "serve", "--db",
                               f"sqlite:///{tmp_path / 'store.sqlite3'}", "--port", "0", KINDS[kind][3], str(path)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        # One line naming the file.
        assert done.stderr.startswith(f"Error: {path}") and done.stderr.count("\n") == 1, (message, done.stderr)

    check()


@pytest.mark.integration
def test_the_agent_refuses_a_broken_configuration_in_one_line(tmp_path):
    path = tmp_path / "agent.yaml"

    @settings(max_examples=max(3, examples(8) // 10), deadline=None, database=None)
    @given(case=broken(AGENT_CONFIG))
    def check(case):
        message = refused_by_loader("agent", case[0], path)
        path.chmod(0o600)  # it holds a token: readable by others would add the agent's warning line
        done = subprocess.run([sys.executable, "-m", "agents.cli", "run", "--config", str(path)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 2, done.stderr
        # Nesting is refused at a fixed depth, not where a stack runs out: the same line here as in this process.
        assert done.stderr == f"hdc-agent: {message}\n", done.stderr

    check()
