"""``hdc-collector viewer``: who may read the page and the API when ``--login basic`` is on."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from collector.cli.options import clean_errors


@click.group()
def viewer() -> None:
    """Viewers of the page and the JSON API for --login basic: a 'name:hash' file, passwords never stored."""


_viewers_file = click.option("--viewers-file", "viewers_path", required=True,
                             type=click.Path(dir_okay=False, path_type=Path), help="The viewers file (mode 0600).")


def _read_password(from_stdin: bool) -> str:
    """From a hidden prompt, asked twice, or the first line of stdin: never from the command line, which
    ``ps`` and shell histories show to others."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1].removesuffix("\r") if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask the password on: pipe it in with --password-stdin")
    return click.prompt("Password (mật khẩu)", hide_input=True, confirmation_prompt=True)


@viewer.command("add")
@click.argument("name")
@_viewers_file
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@clean_errors
def viewer_add(name: str, viewers_path: Path, password_stdin: bool) -> None:
    """Add viewer NAME, or give NAME a new password; the file keeps only a werkzeug scrypt hash."""
    # The viewers file's module (werkzeug's hashes) is imported by the viewer commands alone (CLI start-up time).
    from collector.http.viewers import check_name, set_viewer

    check_name(name)
    new = set_viewer(viewers_path, name, _read_password(password_stdin))
    click.echo(f"{'added' if new else 'changed the password of'} viewer {name!r} in {viewers_path}", err=True)


@viewer.command("remove")
@click.argument("name")
@_viewers_file
@clean_errors
def viewer_remove(name: str, viewers_path: Path) -> None:
    """Take viewer NAME out of the file; a running collector notices on the next request."""
    from collector.http.viewers import remove_viewer  # imported by the viewer commands alone (CLI start-up time)

    remove_viewer(viewers_path, name)
    click.echo(f"removed viewer {name!r} from {viewers_path}", err=True)


@viewer.command("list")
@_viewers_file
@clean_errors
def viewer_list(viewers_path: Path) -> None:
    """The viewers' names, one a line (the file is checked as the collector would check it)."""
    from collector.http.viewers import load  # imported by the viewer commands alone (CLI start-up time)

    for name in load(viewers_path):
        click.echo(name)
