"""Coverage against the equipment register, read from a store a real collector fills: a unit cannot look ready
because the few machines that report pass."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from collector.store import queries
from collector.store.engine import make_engine
from inventory.readiness import unit_status_covered
from inventory.registry import load_registry

from conftest import cli
from support.reports import windows_pc

WARD = "00070"
REGISTRY = load_registry()


def passing_pc(n: int, at: datetime) -> dict:
    """A Windows 11 desktop meeting every hard workstation rule, as a distinct machine ``n``."""
    doc = windows_pc(WARD, device=f"4C4C4544-{n:04d}/SN{n:04d}", at=at.strftime("%Y-%m-%dT%H:%M:%SZ"), ram_gib=16)
    doc["device"]["hostname"] = f"HK-PC-{n:03d}"
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-12400", family=6, model_number=151, stepping=5,
                                  logical_cores=12, physical_cores=6)
    doc["hardware"]["system_disk"]["media"] = "ssd"
    doc["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                           bios={"vendor": "AMI", "version": "1.2", "date": "2023-03-01"})
    doc["os"].update(name="Windows 11 Pro", version="11", release="25H2", build="26200.1")
    return doc


def post(collector, token: str, doc: dict) -> None:
    r = requests.post(collector.url + "/api/v1/reports", json=doc, headers={"Authorization": f"Bearer {token}"},
                      timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["verdict"] in ("ready", "ready_with_conditions"), r.json()


def read(db_url: str):
    """The unit's summary, coverage, status and named assets, as the shared queries give them."""
    since = datetime.now(timezone.utc) - timedelta(days=30)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            summary = next(s for s in queries.unit_summaries(conn, REGISTRY, since) if s.code == WARD)
            found = queries.unit_coverage(conn, REGISTRY, since)[WARD]
            assets = queries.unit_assets(conn, WARD, since)
    finally:
        engine.dispose()
    return summary, found, unit_status_covered(summary.counts, found.ratio), assets


def test_one_passing_device_of_thirty_is_not_ready_and_thirty_are(collector, tmp_path: Path):
    token = collector.token(WARD)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    post(collector, token, passing_pc(1, now))
    summary, found, status, _ = read(collector.db_url)
    assert summary.status == "ready"  # what the verdicts alone say: the overstatement the register corrects
    assert (found.expected, found.reporting, found.ratio, status) == (0, 0, None, "no_register")

    sheet = tmp_path / "register.csv"
    sheet.write_text("unit_code,device_class,expected,asset_tag,serial,hostname,location,responsible\n"
                     "70,workstation,30,,,,,\n"
                     "70,workstation,,HK-TS-001,SN0001,,Bộ phận một cửa bàn 1,Nguyễn Văn A\n"
                     "70,workstation,,HK-TS-099,SN9999,,Phòng kế toán,Lê Thị C\n", encoding="utf-8")
    done = cli("collector.cli", "register", "import", str(sheet), "--db", collector.db_url, "--by", "test")
    assert done.returncode == 0, done.stderr
    summary, found, status, assets = read(collector.db_url)
    assert (found.expected, found.reporting, found.ratio) == (30, 1, 1 / 30)
    assert found.by_class["workstation"] == {"expected": 30, "reporting": 1, "ratio": 1 / 30}
    assert status == "incomplete"
    assert assets.matched == {"HK-TS-001": "4C4C4544-0001/SN0001"}
    assert [(a.asset_tag, a.location, a.responsible) for a in assets.missing] == [
        ("HK-TS-099", "Phòng kế toán", "Lê Thị C")]
    assert assets.unregistered == ()

    for n in range(2, 31):
        post(collector, token, passing_pc(n, now))
    summary, found, status, assets = read(collector.db_url)
    assert (found.expected, found.reporting, found.ratio, status) == (30, 30, 1.0, "ready")
    assert [a.asset_tag for a in assets.missing] == ["HK-TS-099"]
    assert len(assets.unregistered) == 29 and assets.unregistered[0].hostname == "HK-PC-002"
