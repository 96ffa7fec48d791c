"""Rendering the dashboards to the JSON files Grafana loads, and telling when the committed files are stale.

The JSON is generated, committed and reviewed as a diff: keys sorted and a
fixed indentation so a change to one panel shows as a change to that panel.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import GENERATED, city, health, migration, okr, ward
from .panels import Board

BOARDS: tuple[Callable[[], Board], ...] = (city.build, ward.build, migration.build, health.build, okr.build)


def render() -> dict[str, str]:
    """File name -> JSON text, one per dashboard, named by its uid."""
    out = {}
    for build in BOARDS:
        dashboard = build().builder.build()
        out[f"{dashboard.uid}.json"] = json.dumps(dashboard, cls=JSONEncoder, indent=2, sort_keys=True,
                                                  ensure_ascii=False) + "\n"
    return out


def write(directory: Path = GENERATED) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render().items():
        (directory / name).write_text(text, encoding="utf-8")
        paths.append(directory / name)
    return paths


def stale(directory: Path = GENERATED) -> list[str]:
    """Files that differ from what the code renders now, are missing, or are left over from removed boards."""
    rendered = render()
    present = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    differing = [name for name, text in rendered.items()
                 if name not in present or (directory / name).read_text(encoding="utf-8") != text]
    return sorted(differing + sorted(present - set(rendered)))
