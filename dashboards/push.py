"""Pushing the generated dashboards to a Grafana over its HTTP API (grafana-client).

Idempotent by uid: a dashboard Grafana already holds with the same content is
left alone (no new version in its history), one that differs is overwritten
in place, and a missing one is created, all in one folder with a fixed uid.
Reads only the generated JSON, so operators need neither the dashboard code
nor its SDK to push.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

FOLDER_UID = "hdc-readiness"
FOLDER_TITLE = "HDC readiness"
# What Grafana adds or bumps on save; the rest is the dashboard as generated.
_SERVER_FIELDS = ("id", "version")


@dataclass(frozen=True)
class Pushed:
    uid: str
    title: str
    action: str  # created, updated or unchanged
    url: Optional[str]


def push(url: str, token: str, directory: Path, folder_uid: str = FOLDER_UID, folder_title: str = FOLDER_TITLE,
         message: str = "hdc-collector dashboards push", timeout: float = 30.0) -> list[Pushed]:
    """Push every ``*.json`` of ``directory`` into the folder, creating the folder if it is missing."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no dashboard JSON in {directory}")
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    _ensure_folder(api, folder_uid, folder_title)
    return [_push_one(api, json.loads(p.read_text(encoding="utf-8")), folder_uid, message) for p in files]


def _ensure_folder(api: GrafanaApi, uid: str, title: str) -> None:
    try:
        api.folder.get_folder(uid)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(title, uid=uid)


def _push_one(api: GrafanaApi, dashboard: dict[str, Any], folder_uid: str, message: str) -> Pushed:
    uid, title = dashboard["uid"], dashboard["title"]
    current = _current(api, uid)
    if current is not None and current["meta"].get("folderUid") == folder_uid \
            and _content(current["dashboard"]) == _content(dashboard):
        return Pushed(uid, title, "unchanged", current["meta"].get("url"))
    answer = api.dashboard.update_dashboard({"dashboard": _content(dashboard), "folderUid": folder_uid,
                                             "overwrite": True, "message": message})
    return Pushed(uid, title, "created" if current is None else "updated", answer.get("url"))


def _current(api: GrafanaApi, uid: str) -> Optional[dict[str, Any]]:
    try:
        return api.dashboard.get_dashboard(uid)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise


def _content(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in _SERVER_FIELDS}
