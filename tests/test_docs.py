"""The docs hold to the real CLIs: every command documented, every example parses, every link lands."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import click
import pytest

from agents.cli import _parser as agent_parser  # the parser hdc-agent's main() uses, built without running
from collector.cli import main as collector_main
from inventory.registry import load_registry

from conftest import ROOT, need

README = ROOT / "README.md"
DOC_FILES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
PROGRAMS = ("hdc-agent", "hdc-collector")
# Options whose values are unit codes: an example must name real units, not made-up codes.
UNIT_OPTIONS = ("--ward", "--units", "--unit")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\s*$")


def _texts() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in DOC_FILES}


def _click_commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _click_commands(command, (*path, name))


def _agent_commands() -> dict[str, str]:
    """hdc-agent's subcommands and the one-line help argparse shows for each."""
    parser = agent_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    return {name: helps.get(name, "") for name in sub.choices}


def _mentioned(words: tuple[str, ...], text: str) -> bool:
    pattern = r"\s+".join(re.escape(w) for w in words) + r"(?![\w-])"
    return re.search(pattern, text) is not None


def sh_blocks(text: str) -> Iterator[str]:
    """The logical lines of ```sh blocks, with backslash continuations joined."""
    in_sh, pending = False, ""
    for line in text.splitlines():
        fence = FENCE.match(line.strip())
        if fence:
            in_sh = not in_sh and fence.group(1) in ("sh", "bash", "shell", "console")
            pending = ""
            continue
        if not in_sh:
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""


def example_commands(text: str) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """Each simple command in sh blocks that runs hdc-agent or hdc-collector: (program, arguments, VAR=value)."""
    for line in sh_blocks(text):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        try:
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote: the line is not one our CLIs could be given
            continue
        yield from _simple_commands(tokens)


def _simple_commands(tokens: list[str]) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    words: list[str] = []
    env: dict[str, str] = {}
    skip_next = False
    for token in [*tokens, ";"]:
        if skip_next:
            skip_next = False
        elif token in (";", "|", "||", "&&", "&", "(", ")"):
            if words and Path(words[0]).name in PROGRAMS:
                yield Path(words[0]).name, words[1:], env
            words, env = [], {}
        elif token in (">", ">>", "<", "2>", ">&", "<&"):
            skip_next = True
        elif not words and re.match(r"^\w+=", token):  # VAR=value before the command
            name, _, value = token.partition("=")
            env[name] = value
        else:
            words.append(token)


@contextmanager
def _paths_need_not_exist(group: click.Group) -> Iterator[None]:
    """Examples name the reader's files; whether they exist here says nothing about the syntax."""
    types = [p.type for _, c in _click_commands(group) for p in c.params if isinstance(p.type, click.Path)]
    saved = [t.exists for t in types]
    for t in types:
        t.exists = False
    try:
        yield
    finally:
        for t, exists in zip(types, saved):
            t.exists = exists


def parse_collector(args: list[str]) -> click.Context:
    """Parse a command line with hdc-collector's real click objects without running it."""
    with _paths_need_not_exist(collector_main):
        ctx = collector_main.make_context("hdc-collector", list(args))
        command: click.Command = collector_main
        while isinstance(command, click.Group):
            # Click 8 keeps the subcommand and its arguments in _protected_args; Click 9 in args alone.
            rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
            if not rest:
                raise click.UsageError("a command is missing", ctx)
            name, sub, rest = command.resolve_command(ctx, rest)
            assert sub is not None and name is not None  # resolve_command raises on an unknown command
            command = sub
            ctx = command.make_context(name, rest, parent=ctx)
        return ctx


def unit_code_problems(ctx: click.Context, codes: frozenset[str]) -> list[str]:
    problems = []
    for param in ctx.command.params:
        if not set(param.opts) & set(UNIT_OPTIONS):
            continue
        value = ctx.params.get(param.name or "")
        if isinstance(value, str) and "$" not in value:
            problems += [f"{code} is not a unit code" for code in value.split(",") if code not in codes]
    return problems


def check_example(program: str, args: list[str], codes: frozenset[str], env: Optional[dict[str, str]] = None) -> str:
    """An empty string when the example parses and names real units, else why it does not.

    The example's own VAR=value assignments are in the environment while it is parsed, as the shell
    would put them (click reads options such as --token from $GRAFANA_TOKEN)."""
    with _environment(env or {}):
        return _parse_example(program, args, codes)


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def _parse_example(program: str, args: list[str], codes: frozenset[str]) -> str:
    try:
        if program == "hdc-agent":
            agent_parser().parse_args(args)
            return ""
        return "; ".join(unit_code_problems(parse_collector(args), codes))
    except click.ClickException as exc:
        return exc.format_message()
    except SystemExit as exc:  # only --help and --version exit while parsing
        return "" if exc.code == 0 else f"exit {exc.code}"
    except Exception as exc:  # the agent parser's own one-line usage error
        return str(exc)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found, in_code = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.add(_slug(line.lstrip("#")))
    return found


def broken_links(path: Path, text: str, root: Path = ROOT) -> list[str]:
    problems = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{path.relative_to(root)}: link {target}: {file_part} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(root)}: link {target}: no heading #{anchor} in {dest.name}")
    return problems


@pytest.fixture(scope="module")
def unit_codes() -> frozenset[str]:
    return frozenset(ward.code for ward in load_registry())


def test_readme_is_a_map_not_a_manual():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"
    for command in ("make demo", "make test"):
        assert command in "\n".join(lines)


def test_every_collector_command_has_help_and_is_documented():
    text = "\n".join(_texts().values())
    commands = list(_click_commands(collector_main))
    assert len(commands) >= 20, [p for p, _ in commands]
    for path, command in commands:
        with click.Context(command, info_name=" ".join(path)) as ctx:
            assert (command.help or "").strip(), f"hdc-collector {' '.join(path)} has no --help text"
            assert command.get_help(ctx).strip()
        assert _mentioned(("hdc-collector", *path), text), f"hdc-collector {' '.join(path)} is in no doc"


def test_every_agent_command_has_help_and_is_documented():
    text = "\n".join(_texts().values())
    commands = _agent_commands()
    assert {"inventory", "run", "status", "probe-ssh"} <= set(commands)
    for name, help_text in commands.items():
        assert help_text.strip(), f"hdc-agent {name} has no --help text"
        assert _mentioned(("hdc-agent", name), text), f"hdc-agent {name} is in no doc"


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_runs_for_real(program):
    """The installed console script, as a reader types it."""
    script = Path(sys.executable).with_name(program)
    need(script.exists(), f"{program} is not installed beside {sys.executable} (pip install -e .)")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    names = set(_agent_commands()) if program == "hdc-agent" else set(collector_main.commands)
    assert names and all(name in done.stdout for name in names), done.stdout


def test_every_example_command_parses(unit_codes):
    problems, seen = [], {"hdc-agent": 0, "hdc-collector": 0}
    for path, text in _texts().items():
        for program, args, env in example_commands(text):
            seen[program] += 1
            why = check_example(program, args, unit_codes, env)
            if why:
                problems.append(f"{path.relative_to(ROOT)}: {program} {shlex.join(args)}: {why}")
    assert not problems, "\n".join(problems)
    assert seen["hdc-agent"] >= 5 and seen["hdc-collector"] >= 20, seen


def test_every_relative_link_lands():
    problems = [p for path, text in _texts().items() for p in broken_links(path, text)]
    assert not problems, "\n".join(problems)


def test_docs_index_lists_every_doc():
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    linked = {target.partition("#")[0] for target in LINK.findall(index)}
    missing = [p.name for p in DOC_FILES if p.parent == ROOT / "docs" and p.name != "README.md"
               and p.name not in linked]
    assert not missing, f"docs/README.md does not link {missing}"


# The checks themselves: each must catch the mistake it exists for.

def test_check_catches_a_made_up_unit_code(unit_codes):
    assert check_example("hdc-collector", ["simulate", "--url", "http://x", "--units", "00070,00073"],
                         unit_codes) == "00073 is not a unit code"
    assert check_example("hdc-collector", ["simulate", "--url", "http://x", "--units", "00070,00082"],
                         unit_codes) == ""
    assert check_example("hdc-collector", ["token", "create", "--ward", "70"], unit_codes) == "70 is not a unit code"


def test_check_catches_unknown_commands_and_options(unit_codes):
    assert "No such command" in check_example("hdc-collector", ["serv"], unit_codes)
    assert "No such option" in check_example("hdc-collector", ["serve", "--workerz", "2"], unit_codes)
    assert "invalid choice" in check_example("hdc-agent", ["runn", "--config", "x"], unit_codes)
    assert "required" in check_example("hdc-agent", ["run"], unit_codes)
    assert check_example("hdc-collector", ["migration", "import", "no-such.xlsx", "--dry-run"], unit_codes) == ""


def test_examples_are_found_after_paths_pipes_and_assignments():
    text = "\n".join([
        "```sh",
        "/opt/hdc-agent/bin/hdc-agent status --config a.yaml  # a comment",
        "printf '%s\\n' \"$PW\" | hdc-collector viewer add x --password-stdin",
        "GRAFANA_TOKEN=t hdc-collector dashboards push \\",
        "    --url https://g.example",
        "hdc-collector token create --ward 00070 > token",
        "sudo -u hdc-collector true",
        "```",
        "hdc-agent run  # not in an sh block",
    ])
    assert list(example_commands(text)) == [
        ("hdc-agent", ["status", "--config", "a.yaml"], {}),
        ("hdc-collector", ["viewer", "add", "x", "--password-stdin"], {}),
        ("hdc-collector", ["dashboards", "push", "--url", "https://g.example"], {"GRAFANA_TOKEN": "t"}),
        ("hdc-collector", ["token", "create", "--ward", "00070"], {}),
    ]


def test_examples_are_parsed_with_their_own_environment(unit_codes):
    args = ["dashboards", "push", "--url", "https://g.example"]
    assert "Missing option '--token'" in check_example("hdc-collector", args, unit_codes, {})
    assert check_example("hdc-collector", args, unit_codes, {"GRAFANA_TOKEN": "t"}) == ""


def test_link_check_catches_missing_files_and_anchors(tmp_path):
    page = tmp_path / "a.md"
    (tmp_path / "b.md").write_text("# Rate limits\n", encoding="utf-8")
    page.write_text("x", encoding="utf-8")
    text = "[ok](b.md#rate-limits) [gone](c.md) [bad](b.md#tokens) [web](https://example.org/x)"
    assert broken_links(page, text, root=tmp_path) == ["a.md: link c.md: c.md does not exist",
                                                        "a.md: link b.md#tokens: no heading #tokens in b.md"]
