"""The simulated 126-unit fleet (the ``fleet`` fixture of support/fleet.py) covers every unit and verdict.

The page, API and export tests use the same fixture. Reports go through the
collector's own Ingestor (the ingest path minus HTTP and tokens, which
test_collector_http covers), with few devices per unit so the whole history
of first reports, upgrades and current reports loads in seconds.
"""
from __future__ import annotations


def test_fleet_covers_every_unit_and_verdict(fleet):
    body = fleet.client().get("/api/v1/wards").get_json()
    assert body["total"] == 126 and all(u["devices"] >= 1 for u in body["units"])
    for verdict in ("ready", "ready_with_conditions", "not_ready", "unknown"):
        assert sum(u["verdicts"][verdict] for u in body["units"]) > 0, verdict
    assert fleet.reports > sum(u["devices"] for u in body["units"])
