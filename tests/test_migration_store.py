"""Migration tracking on a real store (SQLite and PostgreSQL), fed through the real ingest API.

Three units, with the evidence behind every expected number:

- 00070 Hoàn Kiếm: ten days ago a1 had the one-stop client (VNPT iGate) and HTKK (e_tax, stays local),
  a2 the civil-status client; today a1 has only HTKK and reaches motcua.hanoi.gov.vn, a2 has nothing.
  Inferred: one_stop_shop on_hdc, civil_status retired, e_tax local. In use 2, migrated 2, sprawl 1.
- 00082 Cửa Nam: b1 has ViLIS (land_records) and has not reached datdai.hanoi.gov.vn for ten days;
  operators declare land_records on_hdc: two contradictions (still installed, endpoint unreachable).
- 00004 Ba Đình: no device; declared one_stop_shop migrating, then on_hdc.
"""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from collector.app import create_app
from collector.cloud import queries as mq
from collector.context import build_context
from collector.i18n import HANOI
from collector.settings import Settings
from collector.store.tables import migration_declarations, migration_observations
from collector.store.tokens import create_token
from inventory.report import GiB, empty_report, rfc3339

from conftest import need

UNITS = "code,name,kind\n00070,Hoàn Kiếm,phuong\n00082,Cửa Nam,phuong\n00004,Ba Đình,phuong\n"
NOW = datetime.now(timezone.utc)
BEFORE = NOW - timedelta(days=10)
TODAY = NOW.astimezone(HANOI).date()


def report(ward: str, device: str, when: datetime, software: tuple[str, ...], reach: dict[str, bool]) -> dict:
    doc = empty_report(ward, "test", "1.0", "agent")
    doc["collected_at"] = rfc3339(when)
    doc["device"].update(id=device, hostname=device, **{"class": "workstation"})
    doc["hardware"]["memory_bytes"] = 8 * GiB
    doc["os"].update(family="linux", id="debian", name="Debian GNU/Linux 12 (bookworm)", version="12")
    doc["software"] = [{"name": n, "version": "1.0", "publisher": None} for n in software]
    doc["network"]["reachability"] = [{"target": t, "ok": ok} for t, ok in reach.items()]
    return doc


class Store:
    def __init__(self, db_url: str, tmp: Path):
        (tmp / "units.csv").write_text(UNITS, encoding="utf-8")
        self.context = build_context(Settings(db_url=db_url, registry_path=tmp / "units.csv"))
        self.client = create_app(context=self.context).test_client()
        with self.context.engine.begin() as conn:
            self.tokens = {w: create_token(conn, w, "test") for w in ("00070", "00082", "00004")}
            self.admin = create_token(conn, None, "operator", kind="admin")

    def post(self, doc: dict) -> None:
        answer = self.client.post("/api/v1/reports", json=doc,
                                  headers={"Authorization": f"Bearer {self.tokens[doc['ward_code']]}"})
        assert answer.status_code == 201, answer.get_json()

    def observe(self, when: datetime) -> int:
        c = self.context
        return mq.observe_now(c.engine, c.catalog, when, c.settings.active_since(when))

    def declare(self, body: dict, token: str = None):
        return self.client.post("/api/v1/migration/declarations", json=body,
                                headers={"Authorization": f"Bearer {token or self.admin}"})

    def rows(self) -> tuple[int, int]:
        with self.context.engine.connect() as conn:
            return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                         for t in (migration_declarations, migration_observations))


@pytest.fixture
def store(db_url, tmp_path) -> Store:
    s = Store(db_url, tmp_path)
    s.post(report("00070", "a1", BEFORE, ("VNPT iGate Scan Plugin", "HTKK"), {"motcua.hanoi.gov.vn": True}))
    s.post(report("00070", "a2", BEFORE, ("Phần mềm Hộ tịch",), {}))
    s.post(report("00082", "b1", BEFORE, ("ViLIS 2.0",), {"datdai.hanoi.gov.vn": False}))
    assert s.observe(BEFORE) == 4  # what each unit has installed, and the endpoints' answers
    s.post(report("00070", "a1", NOW - timedelta(minutes=5), ("HTKK",), {"motcua.hanoi.gov.vn": True}))
    s.post(report("00070", "a2", NOW - timedelta(minutes=5), (), {}))
    s.post(report("00082", "b1", NOW - timedelta(minutes=5), ("ViLIS 2.0",), {"datdai.hanoi.gov.vn": False}))
    assert s.observe(NOW - timedelta(minutes=1)) == 2  # one_stop_shop and civil_status left the PCs
    assert s.declare({"declarations": [
        {"ward_code": "00082", "app_id": "land_records", "state": "on_hdc", "declared_by": "Trần Thị B",
         "date": (TODAY - timedelta(days=2)).isoformat(), "note": "Chuyển theo kế hoạch",
         "reference": "KH 245/KH-UBND"},
        {"ward_code": "00004", "app_id": "one_stop_shop", "state": "migrating", "declared_by": "Lê C",
         "date": (TODAY - timedelta(days=30)).isoformat()},
        {"ward_code": "00004", "app_id": "one_stop_shop", "state": "on_hdc", "declared_by": "Lê C",
         "date": (TODAY - timedelta(days=3)).isoformat()},
    ]}).status_code == 201
    return s


def test_first_observation_records_what_the_reports_show(store):
    with store.context.engine.connect() as conn:
        first = conn.execute(sa.select(migration_observations.c.ward_code, migration_observations.c.app_id,
                                       migration_observations.c.state, migration_observations.c.endpoint)
                             .where(migration_observations.c.observed_at == BEFORE)).all()
    assert sorted(first) == [("00070", "civil_status", "local", "unchecked"),
                             ("00070", "e_tax", "local", "unchecked"),
                             ("00070", "one_stop_shop", "local", "ok"),
                             ("00082", "land_records", "local", "down")]


def test_inference_install_seen_local_install_gone_and_endpoint_reachable_on_hdc(store):
    unit = store.client.get("/api/v1/wards/00070/applications").get_json()
    by = {a["app_id"]: a for a in unit["applications"]}
    assert (by["one_stop_shop"]["state"], by["one_stop_shop"]["source"]) == ("on_hdc", "inferred")
    assert by["one_stop_shop"]["evidence"] == {"installed_devices": 0, "ever_installed": True, "endpoint": "ok"}
    assert by["civil_status"]["state"] == "retired"
    assert by["e_tax"]["state"] == "local" and by["e_tax"]["evidence"]["installed_devices"] == 1
    assert by["land_records"]["state"] == "not_used"
    assert (unit["migrated"], unit["in_use"], unit["contradictions"]) == (2, 2, 0)
    assert unit["sprawl"] == {"local_apps": 1, "target": 5, "over": 0}
    history = by["one_stop_shop"]["history"]["observations"]
    assert [o["state"] for o in history] == ["local", "on_hdc"]
    assert by["one_stop_shop"]["since"] == history[1]["observed_at"]


def test_declaration_wins_keeps_inference_and_contradictions_are_flagged(store):
    unit = store.client.get("/api/v1/wards/00082/applications").get_json()
    land = next(a for a in unit["applications"] if a["app_id"] == "land_records")
    assert (land["state"], land["source"], land["inferred_state"]) == ("on_hdc", "declared", "local")
    assert land["declared"]["declared_by"].startswith("Trần Thị B (token ")
    assert (land["declared"]["note"], land["declared"]["reference"]) == ("Chuyển theo kế hoạch", "KH 245/KH-UBND")
    codes = {c["code"]: c for c in land["contradictions"]}
    assert set(codes) == {"still_installed", "endpoint_unreachable"}
    assert codes["still_installed"]["devices"] == 1
    assert codes["endpoint_unreachable"]["since"] == BEFORE.isoformat()
    assert unit["contradictions"] == 2


def test_history_keeps_every_declaration_in_order(store):
    unit = store.client.get("/api/v1/wards/00004/applications").get_json()
    one = next(a for a in unit["applications"] if a["app_id"] == "one_stop_shop")
    assert [d["state"] for d in one["history"]["declarations"]] == ["migrating", "on_hdc"]
    assert one["state"] == "on_hdc" and one["since"].startswith((TODAY - timedelta(days=3)).isoformat())
    per_app = store.client.get("/api/v1/applications/one_stop_shop").get_json()
    assert per_app["by_state"] == {"on_hdc": 2, "not_used": 1}
    assert [u["ward_code"] for u in per_app["units"]] == ["00070", "00082", "00004"]
    assert store.client.get("/api/v1/applications/nope").status_code == 404
    assert store.client.get("/api/v1/wards/99999/applications").status_code == 404


def test_declarations_need_an_admin_token(store):
    body = {"ward_code": "00070", "app_id": "e_office", "state": "local", "declared_by": "X"}
    before = store.rows()
    assert store.client.post("/api/v1/migration/declarations", json=body).status_code == 401
    assert store.declare(body, token="hdc_0000000000000000_" + "x" * 43).status_code == 401
    refused = store.declare(body, token=store.tokens["00070"])
    assert refused.status_code == 403 and "admin token" in refused.get_json()["message"]
    assert store.rows() == before
    assert store.declare(body).status_code == 201
    assert store.rows()[0] == before[0] + 1


def test_a_bad_declaration_refuses_the_whole_batch_and_names_each_problem(store):
    before = store.rows()
    answer = store.declare({"declarations": [
        {"ward_code": "00070", "app_id": "e_office", "state": "local", "declared_by": "X"},
        {"ward_code": "00070", "app_id": "civil_status", "state": "local", "declared_by": "X"},
        {"ward_code": "00070", "app_id": "e_office", "state": "on_hdc", "declared_by": "X",
         "date": (TODAY + timedelta(days=3)).isoformat()},
        {"ward_code": "00999", "app_id": "e_office", "state": "on_hdc", "declared_by": "X"},
    ]})
    assert answer.status_code == 422
    messages = [(p["index"], p["message"]) for p in answer.get_json()["problems"]]
    assert messages[0] == (1, "impossible state change for civil_status: retired -> local (retired is final)")
    assert messages[1][0] == 2 and "in the future" in messages[1][1]
    assert messages[2] == (3, "unknown unit code '00999'")
    assert store.rows() == before
    malformed = store.declare({"ward_code": "00070", "app_id": "e_office", "state": "local", "date": "31/02/2026",
                               "declared_by": "X"})
    assert malformed.status_code == 400 and "field 'date'" in malformed.get_json()["message"]
    assert store.declare({"ward_code": "00070", "state": "local", "declared_by": "X"}).get_json()["message"] == \
        "declaration 0: field 'app_id': required, a non-empty string"
    long = store.declare({"ward_code": "00070", "app_id": "e_office", "state": "local", "declared_by": "X",
                          "reference": "QĐ " * 200})
    assert long.status_code == 422 and long.get_json()["problems"][0]["message"] == \
        "reference longer than 512 characters"
    assert store.rows() == before


def _samples(text: str) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def test_metrics_values_are_exact(store):
    text = store.client.get("/metrics").get_data(as_text=True)
    m = _samples(text)

    def value(name, **labels):
        return m[(name, tuple(sorted(labels.items())))]

    assert {w: value("hdc_ward_applications_migrated", ward=w) for w in ("00070", "00082", "00004")} == \
        {"00070": 2, "00082": 1, "00004": 1}
    assert {w: value("hdc_ward_applications_in_use", ward=w) for w in ("00070", "00082", "00004")} == \
        {"00070": 2, "00082": 1, "00004": 1}
    assert {w: value("hdc_ward_local_applications", ward=w) for w in ("00070", "00082", "00004")} == \
        {"00070": 1, "00082": 1, "00004": 0}
    assert value("hdc_local_applications_target") == 5
    assert value("hdc_migration_contradictions", ward="00082", kind="still_installed") == 1
    assert value("hdc_migration_contradictions", ward="00082", kind="endpoint_unreachable") == 1
    assert value("hdc_migration_contradictions", ward="00070", kind="still_installed") == 0
    apps = {(dict(k)["ward"], dict(k)["app"]): dict(k)["state"] for (n, k), v in m.items()
            if n == "hdc_applications" and v == 1}
    assert len(apps) == sum(1 for (n, _) in m if n == "hdc_applications") == 3 * 20
    assert value("hdc_ward_applications", ward="00070", state="not_used") == 17
    assert value("hdc_ward_applications", ward="00004", state="local") == 0
    assert sum(v for (n, _), v in m.items() if n == "hdc_ward_applications") == 3 * 20
    assert {k: v for k, v in apps.items() if v != "not_used"} == {
        ("00070", "one_stop_shop"): "on_hdc", ("00070", "civil_status"): "retired", ("00070", "e_tax"): "local",
        ("00082", "land_records"): "on_hdc", ("00004", "one_stop_shop"): "on_hdc"}
    if shutil.which("promtool"):
        done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    else:
        need(False, "promtool not installed (Debian package 'prometheus')")


def test_page_api_and_export_agree_with_the_migration_store(store):
    units = {u["code"]: u["applications"] for u in store.client.get("/api/v1/wards").get_json()["units"]}
    assert units == {"00070": {"migrated": 2, "in_scope": 2}, "00082": {"migrated": 1, "in_scope": 1},
                     "00004": {"migrated": 1, "in_scope": 1}}
    assert store.client.get("/api/v1/summary").get_json()["applications"] == {"migrated": 4, "in_scope": 4}
    page = store.client.get("/units/00082?lang=en").get_data(as_text=True)
    assert 'data-app="land_records" data-state="on_hdc" data-source="declared" data-contradictions="2"' in page
    assert "Contradiction: declared moved but still installed on 1 PC(s)" in page
    assert "Applications installed locally: 1 (city target: at most 5)" in page
    vi = store.client.get("/units/00070").get_data(as_text=True)
    assert 'data-app="one_stop_shop" data-state="on_hdc" data-source="inferred"' in vi
    assert "Đã chạy trên HDC" in vi
    csv_text = store.client.get("/export/units.csv?lang=en").get_data().decode("utf-8-sig")
    rows = {line.split(",")[0]: line.split(",") for line in csv_text.splitlines()[1:]}
    header = csv_text.splitlines()[0].split(",")
    at = header.index("Applications moved")
    assert {code: (int(r[at]), int(r[at + 1])) for code, r in rows.items()} == \
        {code: (u["migrated"], u["in_scope"]) for code, u in units.items()}


def test_answers_match_the_openapi_document(store):
    from jsonschema import Draft202012Validator

    doc = store.client.get("/api/v1/openapi.json").get_json()

    def check(path: str, method: str, status: str, body: dict) -> None:
        schema = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": doc["components"]}).validate(body)

    for code in ("00070", "00082", "00004"):
        check("/api/v1/wards/{code}/applications", "get", "200",
              store.client.get(f"/api/v1/wards/{code}/applications").get_json())
    check("/api/v1/applications/{app_id}", "get", "200",
          store.client.get("/api/v1/applications/land_records").get_json())
    body = {"ward_code": "00070", "app_id": "e_office", "state": "local", "declared_by": "X"}
    request = doc["paths"]["/api/v1/migration/declarations"]["post"]["requestBody"]["content"]["application/json"]
    Draft202012Validator({**request["schema"], "components": doc["components"]}).validate(body)
    check("/api/v1/migration/declarations", "post", "201", store.declare(body).get_json())
    check("/api/v1/migration/declarations", "post", "422", store.declare(body | {"state": "moved"}).get_json())


def test_unit_applications_export_matches_the_api(store):
    import io

    from openpyxl import load_workbook

    api = {a["app_id"]: a for a in store.client.get("/api/v1/wards/00082/applications").get_json()["applications"]}
    answer = store.client.get("/units/00082/applications.csv?lang=en")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    lines = answer.get_data().decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:5] == ["Application id", "Application", "Target", "State", "Source"]
    land = next(line for line in lines if line.startswith("land_records,"))
    assert ",Runs on the HDC,declared," in land and "Contradiction: declared moved but still installed" in land
    book = load_workbook(io.BytesIO(store.client.get("/units/00082/applications.xlsx").get_data()))
    rows = {r[0]: r for r in book.active.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == set(api)
    assert rows["land_records"][6] == api["land_records"]["evidence"]["installed_devices"] == 1
    assert rows["land_records"][3] == "Đã chạy trên HDC"
    assert store.client.get("/units/00082/applications.pdf").status_code == 404


def test_the_collector_records_inferred_changes_by_itself(store):
    """The observer thread a served collector starts writes the change down; here it runs every few milliseconds."""
    import time

    from collector.cloud.observer import Observer

    store.post(report("00082", "b1", NOW, (), {"datdai.hanoi.gov.vn": True}))  # ViLIS gone, endpoint answers
    before = store.rows()[1]
    c = store.client.application.extensions["hdc"]
    observer = Observer(c.engine, c.catalog, c.settings, every=0.01)
    observer.start()
    try:
        deadline = time.monotonic() + 60
        while store.rows()[1] == before and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        observer.stop()
    unit = store.client.get("/api/v1/wards/00082/applications").get_json()
    land = next(a for a in unit["applications"] if a["app_id"] == "land_records")
    assert land["inferred_state"] == "on_hdc" and land["state"] == "on_hdc" and land["contradictions"] == []
    assert [o["state"] for o in land["history"]["observations"]] == ["local", "on_hdc"]


def test_observing_again_without_change_adds_nothing(store):
    before = store.rows()
    assert store.observe(NOW) == 0
    assert store.rows() == before
