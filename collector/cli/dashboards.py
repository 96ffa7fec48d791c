"""``hdc-collector dashboards``: the Grafana dashboards generated and pushed."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

import click

from collector import __version__


def _dashboards_module(name: str):
    """The dashboards tooling is an extra: say how to install it instead of failing on an import."""

    try:
        return importlib.import_module(f"dashboards.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("grafana_foundation_sdk", "grafana_client"):
            raise click.ClickException(f"{exc.name} is not installed: pip install 'hdc-readiness[dashboards]'") from exc
        raise


@click.group()
def dashboards() -> None:
    """Grafana dashboards: generate their JSON, push them to a Grafana."""


@dashboards.command("generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for the JSON files (default: dashboards/generated in the package).")
@click.option("--check", is_flag=True, help="Write nothing; fail when the files differ from the code.")
def dashboards_generate(out: Optional[Path], check: bool) -> None:
    """Render every dashboard to <uid>.json."""
    build = _dashboards_module("build")
    directory = out or build.GENERATED
    if check:
        stale = build.stale(directory)
        if stale:
            raise click.ClickException(f"out of date in {directory}: {', '.join(stale)} "
                                       "(run 'hdc-collector dashboards generate')")
        click.echo(f"{directory}: up to date")
        return
    for path in build.write(directory):
        click.echo(str(path))


@dashboards.command("push")
@click.option("--url", required=True, envvar="GRAFANA_URL", metavar="URL",
              help="Grafana base URL, e.g. https://grafana.example:3000 ($GRAFANA_URL).")
@click.option("--token", required=True, envvar="GRAFANA_TOKEN", metavar="TOKEN",
              help="A service-account token with the Editor role ($GRAFANA_TOKEN keeps it out of ps).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Directory of dashboard JSON (default: the generated dashboards shipped with the package).")
@click.option("--folder-uid", default="hdc-readiness", show_default=True)
@click.option("--folder-title", default="HDC readiness", show_default=True)
def dashboards_push(url: str, token: str, directory: Optional[Path], folder_uid: str, folder_title: str) -> None:
    """Create or update the dashboards in Grafana by uid; unchanged ones are left as they are."""
    push = _dashboards_module("push")
    from grafana_client.client import GrafanaException
    from niquests.exceptions import RequestException

    from dashboards import GENERATED

    try:
        results = push.push(url, token, directory or GENERATED, folder_uid=folder_uid, folder_title=folder_title,
                            message=f"hdc-collector {__version__} dashboards push")
    except GrafanaException as exc:
        raise click.ClickException(f"Grafana at {url} refused: {exc.message}") from exc
    except RequestException as exc:
        raise click.ClickException(f"cannot reach Grafana at {url}: {exc}") from exc
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    for r in results:
        click.echo(f"{r.action:<9} {r.uid:<14} {r.title}  {r.url or ''}")
