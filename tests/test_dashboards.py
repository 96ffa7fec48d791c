"""Dashboards as code: committed JSON matches the code, panels follow the house rules, push is idempotent.

No Grafana can run here, so push is proven against ``FakeGrafana``: a small
HTTP server on 127.0.0.1 that answers the real API's paths with the real
API's shapes and rules (overwrite, version mismatch, folders, Bearer tokens)
and records every request.
"""
from __future__ import annotations

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import yaml

from dashboards import GENERATED, build, panels
from dashboards.push import FOLDER_UID

from conftest import ROOT, cli, free_port
from support.exposition import exposed_names

UIDS = {"hdc-city", "hdc-ward", "hdc-migration", "hdc-collector", "hdc-okr"}
TOKEN = "glsa_test_0123456789abcdef"


def boards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GENERATED.glob("*.json"))]


def all_panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for board in boards():
        for panel in board["panels"]:
            yield board["uid"], panel


def exprs() -> list[str]:
    return [t["expr"] for _, p in all_panels() for t in p["targets"]]


def test_generated_json_is_up_to_date():
    assert build.stale() == [], "run: hdc-collector dashboards generate"
    assert {b["uid"] for b in boards()} == UIDS


def test_generate_check_names_the_stale_file(tmp_path):
    done = cli("collector.cli", "dashboards", "generate", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert cli("collector.cli", "dashboards", "generate", "--check", "--out", str(tmp_path)).returncode == 0
    (tmp_path / "hdc-ward.json").write_text("{}", encoding="utf-8")
    (tmp_path / "old-board.json").write_text("{}", encoding="utf-8")
    done = cli("collector.cli", "dashboards", "generate", "--check", "--out", str(tmp_path))
    assert done.returncode == 1
    assert "hdc-ward.json" in done.stderr and "old-board.json" in done.stderr and "hdc-city" not in done.stderr


@pytest.mark.parametrize("uid, panel", list(all_panels()), ids=[f"{u}-{p['id']}" for u, p in all_panels()])
def test_panel_has_unit_datasource_and_queries(uid, panel):
    assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
    assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert panel["description"] and " / " in panel["title"]  # Vietnamese / English
    assert panel["targets"] and len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
    for target in panel["targets"]:
        assert target["datasource"]["uid"] == "${datasource}"
        # Every rate() over a counter adapts its window to the scrape interval.
        windows = re.findall(r"\brate\([^\[]*\[([^\]]+)\]", target["expr"])
        assert all(w == "$__rate_interval" for w in windows), target["expr"]


def test_dashboards_have_fixed_ids_and_their_variables():
    for board in boards():
        names = [v["name"] for v in board["templating"]["list"]]
        assert names[0] == "datasource"
        ids = [p["id"] for p in board["panels"]]
        assert ids == list(range(1, len(ids) + 1))
        uses_ward = any("$ward" in t["expr"] for p in board["panels"] for t in p["targets"])
        assert ("ward" in names) == uses_ward, board["uid"]
    assert {b["uid"] for b in boards() if "ward" in [v["name"] for v in b["templating"]["list"]]} == {
        "hdc-ward", "hdc-migration"}


def test_queries_name_only_metrics_the_collector_exposes(tmp_path):
    names = exposed_names(tmp_path / "names.sqlite3") | {"scrape_duration_seconds"}
    code = [re.sub(r'"[^"]*"', '""', e) for e in exprs()]  # label values are no metric names
    used = {m for e in code for m in re.findall(r"\b(?:hdc_[a-z0-9_]+|scrape_duration_seconds)\b", e)}
    assert used and used <= names, used - names


def test_provisioning_points_at_the_dashboards_uids():
    datasources = yaml.safe_load((ROOT / "dashboards/provisioning/datasources/prometheus.yaml").read_text("utf-8"))
    (ds,) = datasources["datasources"]
    assert ds["uid"] == panels.DATASOURCE_UID and ds["type"] == "prometheus"
    for board in boards():
        variable = board["templating"]["list"][0]
        assert variable["current"]["value"] == ds["uid"] and variable["current"]["text"] == ds["name"]
    providers = yaml.safe_load((ROOT / "dashboards/provisioning/dashboards/hdc.yaml").read_text("utf-8"))
    (provider,) = providers["providers"]
    assert provider["folderUid"] == FOLDER_UID and provider["type"] == "file"


class FakeGrafana:
    """Grafana's folder and dashboard endpoints, in memory, recording each request."""

    def __init__(self, token: str):
        self.token = token
        self.requests: list[tuple[str, str, Any]] = []
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeGrafana":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, auth: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        if auth != f"Bearer {self.token}":
            return 401, {"message": "Invalid API key", "messageId": "api-keys.invalid", "statusCode": 401}
        if method == "GET" and (m := re.fullmatch(r"/api/folders/([^/]+)", path)):
            folder = self.folders.get(m[1])
            return (200, folder) if folder else (404, {"message": "folder not found"})
        if method == "POST" and path == "/api/folders":
            if body["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            folder = {"id": len(self.folders) + 1, "uid": body["uid"], "title": body["title"],
                      "url": f"/dashboards/f/{body['uid']}/", "version": 1}
            self.folders[body["uid"]] = folder
            return 200, folder
        if method == "GET" and (m := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)):
            saved = self.dashboards.get(m[1])
            if saved is None:
                return 404, {"message": "Dashboard not found"}
            return 200, {"dashboard": saved["dashboard"], "meta": {
                "type": "db", "url": f"/d/{m[1]}/", "folderUid": saved["folderUid"],
                "version": saved["dashboard"]["version"]}}
        if method == "POST" and path == "/api/dashboards/db":
            return self._save(body)
        return 404, {"message": "Not found"}

    def _save(self, body: dict[str, Any]) -> tuple[int, Any]:
        dashboard, folder_uid = dict(body["dashboard"]), body.get("folderUid", "")
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        uid = dashboard.get("uid")
        existing = self.dashboards.get(uid)
        if dashboard.get("id") is not None and (existing is None or existing["dashboard"]["id"] != dashboard["id"]):
            return 404, {"message": "Dashboard not found"}
        if existing is not None and not body.get("overwrite") \
                and dashboard.get("version") != existing["dashboard"]["version"]:
            return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
        dashboard["id"] = existing["dashboard"]["id"] if existing else len(self.dashboards) + 1
        dashboard["version"] = existing["dashboard"]["version"] + 1 if existing else 1
        self.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder_uid}
        return 200, {"id": dashboard["id"], "uid": uid, "url": f"/d/{uid}/", "status": "success",
                     "version": dashboard["version"], "slug": uid}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, payload = fake.answer(self.command, self.path, self.headers.get("Authorization", ""), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler


def push(url: str, *extra: str, token: str = TOKEN):
    return cli("collector.cli", "dashboards", "push", "--url", url, "--token", token, *extra)


def saves(grafana: FakeGrafana) -> list[str]:
    return [body["dashboard"]["uid"] for method, path, body in grafana.requests if path == "/api/dashboards/db"]


def test_push_creates_then_leaves_unchanged_then_updates_in_place(tmp_path):
    with FakeGrafana(TOKEN) as grafana:
        first = push(grafana.url)
        assert first.returncode == 0, first.stderr
        assert sorted(saves(grafana)) == sorted(UIDS)
        assert set(grafana.folders) == {FOLDER_UID}
        assert all(d["folderUid"] == FOLDER_UID and d["dashboard"]["version"] == 1
                   for d in grafana.dashboards.values())
        assert sorted(re.findall(r"^created\s+(\S+)", first.stdout, re.M)) == sorted(UIDS)
        generated = {b["uid"]: b for b in boards()}
        assert all({k: v for k, v in d["dashboard"].items() if k not in ("id", "version")} == generated[uid]
                   for uid, d in grafana.dashboards.items())

        grafana.requests.clear()
        again = push(grafana.url)
        assert again.returncode == 0, again.stderr
        assert saves(grafana) == [] and len(re.findall(r"^unchanged", again.stdout, re.M)) == len(UIDS)
        assert not any(path == "/api/folders" for _, path, _ in grafana.requests)

        edited = tmp_path / "boards"
        shutil.copytree(GENERATED, edited)
        ward = json.loads((edited / "hdc-ward.json").read_text(encoding="utf-8"))
        ward["title"] = "HDC – renamed"
        (edited / "hdc-ward.json").write_text(json.dumps(ward), encoding="utf-8")
        grafana.requests.clear()
        third = push(grafana.url, "--dir", str(edited))
        assert third.returncode == 0, third.stderr
        assert saves(grafana) == ["hdc-ward"]
        assert len(grafana.dashboards) == len(UIDS)
        assert grafana.dashboards["hdc-ward"]["dashboard"]["version"] == 2
        assert grafana.dashboards["hdc-ward"]["dashboard"]["title"] == "HDC – renamed"


def test_push_with_a_bad_token_says_so_without_a_traceback():
    with FakeGrafana(TOKEN) as grafana:
        done = push(grafana.url, token="wrong")
    assert done.returncode == 1
    assert "refused: Unauthorized" in done.stderr and "Traceback" not in done.stderr
    assert grafana.dashboards == {}


def test_push_to_nothing_listening_says_so():
    done = push(f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 1
    assert "cannot reach Grafana" in done.stderr and "Traceback" not in done.stderr
