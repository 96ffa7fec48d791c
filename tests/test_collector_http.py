"""The ingest path end to end: the real agent's report, posted to a real collector process."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from conftest import cli
from support.store import count, snapshot

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agent_report() -> dict:
    done = cli("agents.cli", "inventory", "--print")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _for_ward(report: dict, ward: str) -> dict:
    doc = json.loads(json.dumps(report))
    doc["ward_code"] = ward
    return doc


def test_agent_report_twice_is_stored_once(collector, agent_report):
    token = collector.token("00070")
    doc = _for_ward(agent_report, "00070")
    headers = {"Authorization": f"Bearer {token}"}

    first = requests.post(collector.url + "/api/v1/reports", json=doc, headers=headers, timeout=30)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "accepted"
    assert first.json()["verdict"] in ("ready", "ready_with_conditions", "not_ready", "unknown")
    second = requests.post(collector.url + "/api/v1/reports", json=doc, headers=headers, timeout=30)
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "duplicate"

    assert count(collector.db_url, "reports") == 1
    assert count(collector.db_url, "devices") == 1
    ward = requests.get(collector.url + "/api/v1/wards/00070", timeout=10).json()
    assert ward["unit"]["devices"] == 1
    assert ward["devices"][0]["device_id"] == doc["device"]["id"]


def test_bad_requests_get_clear_errors_and_change_nothing(collector, agent_report):
    token = collector.token("00070")
    good = _for_ward(agent_report, "00070")
    url = collector.url + "/api/v1/reports"
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(url, json=good, headers=auth, timeout=30).status_code == 201
    before = snapshot(collector.db_url)

    fresh = dict(good, report_id=str(uuid.uuid4()))
    cases = [
        ("no token", dict(json=fresh), 401, "Bearer"),
        ("wrong token", dict(json=fresh, headers={"Authorization": "Bearer hdc_0123456789abcdef_" + "x" * 43}),
         401, "not valid"),
        ("malformed JSON", dict(data=b'{"schema_version": 1,', headers={**auth, "Content-Type": "application/json"}),
         400, "not JSON"),
        ("not UTF-8", dict(data=b'{"a": "\xff"}', headers={**auth, "Content-Type": "application/json"}),
         400, "UTF-8"),
        ("NaN", dict(data=b'{"schema_version": NaN}', headers={**auth, "Content-Type": "application/json"}),
         400, "NaN"),
        ("wrong type", dict(data=json.dumps(fresh), headers={**auth, "Content-Type": "text/plain"}),
         415, "application/json"),
        ("schema", dict(json={**fresh, "hardware": {**fresh["hardware"], "memory_bytes": "lots"}}, headers=auth),
         400, "hardware.memory_bytes"),
        ("missing field", dict(json={k: v for k, v in fresh.items() if k != "device"}, headers=auth),
         400, "device"),
        ("other ward", dict(json=_for_ward(fresh, "00082"), headers=auth), 403, "ward_code"),
        ("future", dict(json={**fresh, "collected_at": "2999-01-01T00:00:00Z"}, headers=auth), 400,
         "collected_at"),
        ("too large", dict(data=b"[" + b"0," * (5 * 1024 * 1024) + b"0]",
                           headers={**auth, "Content-Type": "application/json"}), 413, "larger"),
        ("deep nesting", dict(data=b"[" * 100000 + b"]" * 100000, headers={**auth, "Content-Type": "application/json"}),
         400, "JSON"),
        ("unknown version", dict(json={**fresh, "schema_version": 99}, headers=auth), 400, "schema_version"),
    ]
    for name, kwargs, status, needle in cases:
        resp = requests.post(url, timeout=30, **kwargs)
        assert resp.status_code == status, f"{name}: {resp.status_code} {resp.text[:300]}"
        body = resp.json()
        assert needle in body["message"], f"{name}: {body}"
    assert snapshot(collector.db_url) == before

    metrics = requests.get(collector.url + "/metrics", timeout=10).text
    assert 'hdc_ingest_reports_total{result="unauthenticated"} 2.0' in metrics
    assert 'hdc_ingest_reports_total{result="accepted"} 1.0' in metrics


def test_wards_lists_all_126_units(collector):
    body = requests.get(collector.url + "/api/v1/wards", timeout=10).json()
    assert body["count"] == 126
    codes = [u["code"] for u in body["units"]]
    assert codes[0] == "00070" and len(set(codes)) == 126
    assert all(u["status"] == "no_data" and u["devices"] == 0 for u in body["units"])
    assert requests.get(collector.url + "/api/v1/wards/99999", timeout=10).status_code == 404


def test_openapi_document_embeds_the_report_schema(collector):
    doc = requests.get(collector.url + "/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/reports" in doc["paths"]
    schemas = doc["components"]["schemas"]
    assert schemas["Report"] == {"oneOf": [{"$ref": f"#/components/schemas/ReportV{v}"} for v in (1, 2, 3)]}
    assert [schemas[f"ReportV{v}"]["properties"]["schema_version"] for v in (1, 2, 3)] == [
        {"const": 1}, {"const": 2}, {"const": 3}]


def test_token_is_stored_only_as_a_hash(collector):
    token = collector.token("00082")
    rows = snapshot(collector.db_url)["tokens"]
    secret = token.split("_", 2)[2]
    assert len(rows) == 1 and "00082" in rows[0]
    assert all(secret not in "|".join(map(str, r)) for r in rows)

