"""The read API on the simulated fleet: answers match the OpenAPI document; paging, filters and errors."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator


@pytest.fixture(scope="module")
def client(fleet):
    return fleet.client()


@pytest.fixture(scope="module")
def doc(client):
    return client.get("/api/v1/openapi.json").get_json()


def _check(doc: dict, path: str, body: dict, status: str = "200") -> None:
    """Validate ``body`` against the schema the document gives for ``path``'s GET answer."""
    schema = doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": doc["components"]}).validate(body)


def test_every_read_answer_matches_the_openapi_document(client, doc):
    wards = client.get("/api/v1/wards").get_json()
    _check(doc, "/api/v1/wards", wards)
    code = next(u["code"] for u in wards["units"] if u["status"] == "not_ready")
    unit = client.get(f"/api/v1/wards/{code}").get_json()
    _check(doc, "/api/v1/wards/{code}", unit)
    _check(doc, "/api/v1/wards/{code}/devices", client.get(f"/api/v1/wards/{code}/devices").get_json())
    device = unit["devices"][0]["device_id"]
    _check(doc, "/api/v1/devices/{device_id}", client.get(f"/api/v1/devices/{device}").get_json())
    _check(doc, "/api/v1/milestones", client.get("/api/v1/milestones").get_json())
    _check(doc, "/api/v1/summary", client.get("/api/v1/summary").get_json())
    _check(doc, "/api/v1/okr", client.get("/api/v1/okr").get_json())
    _check(doc, "/api/v1/history", client.get("/api/v1/history").get_json())
    _check(doc, "/api/v1/history", client.get(f"/api/v1/history?ward={code}").get_json())
    _check(doc, "/api/v1/wards", client.get("/api/v1/wards?sort=bad").get_json(), "400")


def test_the_document_refuses_an_answer_with_an_undescribed_field(client, doc):
    body = client.get("/api/v1/summary").get_json()
    body["units"]["extra"] = 1
    with pytest.raises(Exception, match="Additional properties"):
        _check(doc, "/api/v1/summary", body)


def test_wards_keep_the_official_order_and_page(client):
    everything = client.get("/api/v1/wards").get_json()
    codes = [u["code"] for u in everything["units"]]
    assert codes[0] == "00070" and everything["total"] == everything["count"] == 126
    page = client.get("/api/v1/wards?limit=10&offset=20").get_json()
    assert [u["code"] for u in page["units"]] == codes[20:30]
    assert (page["count"], page["total"], page["limit"], page["offset"]) == (10, 126, 10, 20)
    last = client.get("/api/v1/wards?limit=10&offset=120").get_json()
    assert last["count"] == 6


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=x", "limit"), ("offset=-1", "offset"),
                                          ("status=late", "status"), ("kind=city", "kind"), ("order=up", "order")])
def test_bad_parameters_are_refused_by_name(client, query, field):
    resp = client.get(f"/api/v1/wards?{query}")
    assert resp.status_code == 400 and f"'{field}'" in resp.get_json()["message"]


def test_unit_devices_filter_and_page(client):
    code = next(u["code"] for u in client.get("/api/v1/wards?sort=devices&order=desc").get_json()["units"])
    every = client.get(f"/api/v1/wards/{code}").get_json()["devices"]
    failing = client.get(f"/api/v1/wards/{code}/devices?verdict=not_ready").get_json()
    assert failing["total"] == sum(d["verdict"] == "not_ready" for d in every)
    assert all(d["verdict"] == "not_ready" for d in failing["devices"])
    active = client.get(f"/api/v1/wards/{code}/devices?silent=false&limit=2").get_json()
    assert active["count"] == min(2, active["total"]) and active["total"] == sum(not d["silent"] for d in every)
    assert client.get(f"/api/v1/wards/{code}/devices?verdict=late").status_code == 400
    assert client.get("/api/v1/wards/99999/devices").status_code == 404


def test_device_detail_has_its_history_in_order(client):
    code = next(u["code"] for u in client.get("/api/v1/wards?sort=devices&order=desc").get_json()["units"])
    device = client.get(f"/api/v1/wards/{code}").get_json()["devices"][0]
    body = client.get(f"/api/v1/devices/{device['device_id']}").get_json()
    assert body["device"]["ward_code"] == code and body["device"]["verdict"] == device["verdict"]
    history = body["history"]
    assert history[0]["from"] is None and history[-1]["to"] == device["verdict"]
    assert [h["changed_at"] for h in history] == sorted(h["changed_at"] for h in history)
    assert all(a["to"] == b["from"] for a, b in zip(history, history[1:]))
    assert client.get("/api/v1/devices/no-such-device").status_code == 404


def test_milestones_and_summary_agree_with_the_units(client):
    units = client.get("/api/v1/wards").get_json()["units"]
    summary = client.get("/api/v1/summary").get_json()
    milestones = client.get("/api/v1/milestones").get_json()["milestones"]
    assert summary["milestones"] == milestones
    first = milestones[0]
    assert first["id"] == "equipment_upgraded" and first["date"] == "2025-11-30"
    assert first["work_items"] == {s: sum(u["work_items"][s] for u in units) for s in first["work_items"]}
    assert summary["units"]["by_status"]["ready"] == sum(u["status"] == "ready" for u in units)
    assert summary["devices"]["passing"] == sum(u["verdicts"]["ready"] + u["verdicts"]["ready_with_conditions"]
                                                for u in units)
