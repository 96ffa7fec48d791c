"""Who may do what: ward and admin tokens, rotation with a grace period, revocation, the audit log.

The store functions run on SQLite and PostgreSQL; the CLI and the HTTP
management endpoints are driven the way an operator would (console script,
real collector process), and the collector's own output is searched for
secrets afterwards.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from collector.app import create_app
from collector.settings import Settings
from collector.store import audit
from collector.store.engine import make_engine, migrate
from collector.store.tables import audit_log, tokens
from collector.store.tokens import (
    ADMIN,
    TokenError,
    TokenNotFound,
    check_token,
    create_token,
    list_tokens,
    note_use,
    revoke_token,
    rotate_token,
    verify_token,
)
from collector.store.units import sync_units
from inventory.registry import load_registry

from conftest import cli, start_collector, stop

WARD = "00070"
OTHER = "00004"


@pytest.fixture
def engine(db_url):
    e = make_engine(db_url)
    migrate(e)
    with e.begin() as conn:
        sync_units(conn, load_registry())
    yield e
    e.dispose()


def _audit_rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(audit_log).order_by(audit_log.c.id)))


def _token_id(token: str) -> str:
    return token.split("_", 2)[1]


# --- the store ---------------------------------------------------------------

def test_list_shows_everything_but_the_secret(engine):
    with engine.begin() as conn:
        ward = create_token(conn, WARD, "pc group A")
        admin = create_token(conn, None, "operators", kind=ADMIN)
    with engine.connect() as conn:
        listed = list_tokens(conn)
        only_ward = list_tokens(conn, WARD)
        stored = {r.token_id: r for r in conn.execute(sa.select(tokens))}
    assert [t.token_id for t in listed] == [_token_id(ward), _token_id(admin)]
    assert [t.token_id for t in only_ward] == [_token_id(ward)]
    by_id = {t.token_id: t.to_dict() for t in listed}
    assert by_id[_token_id(ward)]["kind"] == "ward" and by_id[_token_id(ward)]["ward_code"] == WARD
    assert by_id[_token_id(admin)]["kind"] == "admin" and by_id[_token_id(admin)]["ward_code"] is None
    assert all(t["state"] == "active" and t["created_at"] for t in by_id.values())
    text = json.dumps(list(by_id.values()))
    for secret in (ward, admin):
        assert secret.split("_", 2)[2] not in text
    for row in stored.values():
        assert row.secret_hash not in text and row.salt not in text


def test_admin_token_contract_and_kind_rules(engine):
    with engine.begin() as conn:
        token = create_token(conn, None, "migration operators", kind="admin")
        with pytest.raises(TokenError, match="needs the unit code"):
            create_token(conn, None, "no unit")
        with pytest.raises(TokenError, match="belongs to no unit"):
            create_token(conn, WARD, "admin of a unit", kind=ADMIN)
        with pytest.raises(TokenError, match="kind 'root'"):
            create_token(conn, None, "x", kind="root")
        with pytest.raises(TokenError, match="U\\+001B"):
            create_token(conn, WARD, "\x1b]0;owned\x07")  # a terminal escape, shown later by `token list`
        with pytest.raises(TokenError, match="at most 256"):
            create_token(conn, WARD, "x" * 257)
    with engine.connect() as conn:
        identity = verify_token(conn, token)
    assert identity is not None and identity.kind == "admin" and identity.ward_code is None


def test_rotated_token_works_within_grace_and_not_after(engine):
    start = datetime.now(timezone.utc)
    with engine.begin() as conn:
        old = create_token(conn, WARD, "pc group A", now=start)
        rotation = rotate_token(conn, _token_id(old), timedelta(days=7), actor="cli:tester", now=start)
    assert rotation.replaces == _token_id(old) and rotation.old_expires_at == start + timedelta(days=7)
    with engine.connect() as conn:
        for moment, old_valid in ((start + timedelta(days=6, hours=23), True), (start + timedelta(days=7), False),
                                  (start + timedelta(days=8), False)):
            assert (verify_token(conn, old, now=moment) is not None) is old_valid, moment
            assert verify_token(conn, rotation.token, now=moment).ward_code == WARD
            # The requests' own read (the driver's cursor, moments as text) says the same.
            assert (check_token(engine, old, now=moment) is not None) is old_valid, moment
            assert check_token(engine, rotation.token, now=moment) == verify_token(conn, rotation.token, now=moment)
        states = {t.token_id: t for t in list_tokens(conn, now=start + timedelta(days=1))}
    assert states[_token_id(old)].state == "expiring"
    new = states[rotation.token_id]
    assert new.state == "active" and new.replaces == _token_id(old) and new.label == "pc group A"
    with engine.connect() as conn:
        later = {t.token_id: t.state for t in list_tokens(conn, now=start + timedelta(days=8))}
    assert later == {_token_id(old): "expired", rotation.token_id: "active"}
    with engine.begin() as conn, pytest.raises(TokenError, match="only an active token can be rotated"):
        rotate_token(conn, _token_id(old), now=start + timedelta(days=1))
    rows = _audit_rows(engine)
    assert [r.action for r in rows] == ["token.create", "token.rotate"]
    assert rows[1].actor == "cli:tester" and rows[1].token_id == _token_id(old) and rows[1].ward_code == WARD
    assert rows[1].detail["new_token_id"] == rotation.token_id and rows[1].detail["grace_seconds"] == 7 * 86400


def test_revoked_token_is_refused_and_revoking_twice_says_so(engine):
    with engine.begin() as conn:
        token = create_token(conn, WARD)
    assert check_token(engine, token).ward_code == WARD
    assert check_token(engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    with engine.begin() as conn:
        info = revoke_token(conn, _token_id(token), actor="token:0123456789abcdef")
    assert info.state == "revoked" and info.revoked_at is not None
    with engine.connect() as conn:
        assert verify_token(conn, token) is None
    assert check_token(engine, token) is None  # at once, on the pooled connection that read it valid before
    with engine.begin() as conn, pytest.raises(TokenError, match="already revoked"):
        revoke_token(conn, _token_id(token))
    with engine.begin() as conn, pytest.raises(TokenNotFound):
        revoke_token(conn, "0000000000000000")
    rows = _audit_rows(engine)
    assert [(r.action, r.actor) for r in rows] == [("token.create", audit.cli_actor()),
                                                  ("token.revoke", "token:0123456789abcdef")]


def test_a_failed_change_leaves_no_audit_entry(engine):
    with pytest.raises(TokenError):
        with engine.begin() as conn:
            create_token(conn, WARD)
            raise TokenError("the caller gives up: the whole transaction is rolled back")
    assert _audit_rows(engine) == []


def test_last_use_is_written_at_most_once_a_minute(engine):
    with engine.begin() as conn:
        token = create_token(conn, WARD)
    start = datetime.now(timezone.utc)

    def identity():
        with engine.connect() as conn:
            return verify_token(conn, token)

    assert identity().last_used_at is None
    assert note_use(engine, identity(), now=start) is True
    assert identity().last_used_at == start
    assert note_use(engine, identity(), now=start + timedelta(seconds=59)) is False
    assert note_use(engine, identity(), now=start + timedelta(seconds=61)) is True
    assert identity().last_used_at == start + timedelta(seconds=61)


def test_a_report_records_its_tokens_use_in_its_own_transaction(tmp_path, agent_report):
    """One write transaction per stored report, the token's last use in it; a duplicate (whose transaction is
    rolled back) still records it, and a refused report leaves it as it was."""
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"))
    engine = app.extensions["hdc"].engine
    with engine.begin() as conn:
        token = create_token(conn, WARD)
    begun: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda _c, _cur, statement, *_: begun.append(statement) if statement == "BEGIN IMMEDIATE" else None)
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}

    def last_used():
        with engine.connect() as conn:
            return verify_token(conn, token).last_used_at

    doc = _report(agent_report, WARD)
    assert client.post("/api/v1/reports", json=doc, headers=headers).status_code == 201
    assert len(begun) == 1 and last_used() is not None
    with engine.begin() as conn:
        conn.execute(tokens.update().values(last_used_at=datetime.now(timezone.utc) - timedelta(minutes=5)))
    stale = last_used()
    assert client.post("/api/v1/reports", json=_report(agent_report, OTHER), headers=headers).status_code == 403
    assert last_used() == stale
    assert client.post("/api/v1/reports", json=doc, headers=headers).status_code == 200
    assert last_used() > stale


# --- the command line ----------------------------------------------------------

def test_cli_create_list_rotate_revoke_and_audit(db_url):
    done = cli("collector.cli", "token", "create", "--admin", "--label", "operators", "--db", db_url)
    assert done.returncode == 0, done.stderr
    admin = done.stdout.strip()
    ward = cli("collector.cli", "token", "create", "--ward", WARD, "--db", db_url).stdout.strip()
    both = cli("collector.cli", "token", "create", "--ward", WARD, "--admin", "--db", db_url)
    assert both.returncode == 2 and "either --ward CODE or --admin" in both.stderr

    rotated = cli("collector.cli", "token", "rotate", _token_id(ward), "--grace-days", "0", "--db", db_url)
    assert rotated.returncode == 0, rotated.stderr
    successor = rotated.stdout.strip()
    assert successor.startswith("hdc_") and "stays valid until" in rotated.stderr
    again = cli("collector.cli", "token", "rotate", _token_id(ward), "--db", db_url)
    assert again.returncode == 1 and "expired; only an active token can be rotated" in again.stderr
    revoked = cli("collector.cli", "token", "revoke", _token_id(successor), "--db", db_url)
    assert revoked.returncode == 0 and _token_id(successor) in revoked.stdout
    unknown = cli("collector.cli", "token", "revoke", "ffffffffffffffff", "--db", db_url)
    assert unknown.returncode == 1 and "no token with id 'ffffffffffffffff'" in unknown.stderr

    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert verify_token(conn, admin).kind == "admin"
        assert verify_token(conn, ward) is None and verify_token(conn, successor) is None
    engine.dispose()

    table = cli("collector.cli", "token", "list", "--db", db_url)
    listed = json.loads(cli("collector.cli", "token", "list", "--json", "--db", db_url).stdout)
    assert {t["token_id"]: t["state"] for t in listed} == {
        _token_id(admin): "active", _token_id(ward): "expired", _token_id(successor): "revoked"}
    only = json.loads(cli("collector.cli", "token", "list", "--ward", WARD, "--json", "--db", db_url).stdout)
    assert {t["ward_code"] for t in only} == {WARD} and len(only) == 2
    log = json.loads(cli("collector.cli", "audit", "--json", "--db", db_url).stdout)
    assert [e["action"] for e in log] == ["token.revoke", "token.rotate", "token.create", "token.create"]
    assert all(e["actor"].startswith("cli:") for e in log)
    assert log[1]["detail"]["new_token_id"] == _token_id(successor) and log[1]["detail"]["grace_seconds"] == 0
    printed = table.stdout + json.dumps(listed) + json.dumps(log) + cli("collector.cli", "audit", "--db", db_url).stdout
    for secret in (admin, ward, successor):
        assert secret.split("_", 2)[2] not in printed
    assert _token_id(ward) in table.stdout and "expired" in table.stdout


# --- over HTTP, against the real collector ---------------------------------------

@pytest.fixture(scope="module")
def agent_report() -> dict:
    done = cli("agents.cli", "inventory", "--print")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _report(template: dict, ward: str) -> dict:
    doc = json.loads(json.dumps(template))
    doc.update(ward_code=ward, report_id=str(uuid.uuid4()))
    return doc


@pytest.mark.integration
def test_admin_endpoints_manage_tokens_and_ward_tokens_cannot(db_url, agent_report):
    collector = start_collector(db_url)
    secrets_seen: list[str] = []
    try:
        base = collector.url + "/api/v1/admin"
        done = cli("collector.cli", "token", "create", "--admin", "--db", db_url)
        admin = done.stdout.strip()
        secrets_seen.append(admin)
        as_admin = {"Authorization": f"Bearer {admin}"}

        def ingest(token: str) -> int:
            return requests.post(collector.url + "/api/v1/reports", json=_report(agent_report, WARD),
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code

        created = requests.post(base + "/tokens", json={"ward_code": WARD, "label": "reception PCs"},
                                headers=as_admin, timeout=10)
        assert created.status_code == 201, created.text
        assert created.headers["Cache-Control"] == "no-store"
        ward = created.json()["token"]
        secrets_seen.append(ward)
        assert created.json()["kind"] == "ward" and created.json()["token_id"] == _token_id(ward)
        assert ingest(ward) == 201

        # A ward token, a missing one, a wrong one, a report for another unit.
        as_ward = {"Authorization": f"Bearer {ward}"}
        for method, path in (("get", "/tokens"), ("post", "/tokens"), ("get", "/audit"),
                             ("post", f"/tokens/{_token_id(ward)}/revoke")):
            answer = requests.request(method, base + path, json={"ward_code": OTHER}, headers=as_ward, timeout=10)
            assert answer.status_code == 403 and "admin token" in answer.json()["message"], (method, path)
        nobody = requests.get(base + "/tokens", timeout=10)
        assert nobody.status_code == 401 and nobody.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = requests.get(base + "/tokens", headers={"Authorization": "Bearer " + ward[:-1] + "x"}, timeout=10)
        assert wrong.status_code == 401
        assert requests.post(collector.url + "/api/v1/reports", json=_report(agent_report, WARD),
                             headers=as_admin, timeout=30).status_code == 403  # admin tokens file no reports

        # Bad management requests name the field.
        for body, field in (({"ward_code": "99999"}, "ward_code"), ({"kind": "root"}, "kind"),
                            ({"kind": "admin", "ward_code": WARD}, "ward_code"), ({"ward": WARD}, "'ward'"),
                            ({"ward_code": WARD, "label": 5}, "label"),
                            ({"ward_code": WARD, "label": "PCs\ud800"}, "U+D800"),
                            ({"ward_code": WARD, "label": "\u001b[2J"}, "U+001B")):
            answer = requests.post(base + "/tokens", json=body, headers=as_admin, timeout=10)
            assert answer.status_code == 400 and field in answer.json()["message"], (body, answer.text)
        bad_grace = requests.post(base + f"/tokens/{_token_id(ward)}/rotate", json={"grace_days": -1},
                                  headers=as_admin, timeout=10)
        assert bad_grace.status_code == 400 and "grace_days" in bad_grace.json()["message"]

        # Rotation with the default grace: both work. A second rotation with no grace ends the first at once.
        rotated = requests.post(base + f"/tokens/{_token_id(ward)}/rotate", headers=as_admin, timeout=10)
        assert rotated.status_code == 201, rotated.text
        second = rotated.json()["token"]
        secrets_seen.append(second)
        expires = datetime.fromisoformat(rotated.json()["old_expires_at"])
        assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)
        assert ingest(ward) == 201 and ingest(second) == 201
        conflict = requests.post(base + f"/tokens/{_token_id(ward)}/rotate", headers=as_admin, timeout=10)
        assert conflict.status_code == 409 and "expiring" in conflict.json()["message"]
        now = requests.post(base + f"/tokens/{_token_id(second)}/rotate", json={"grace_days": 0},
                            headers=as_admin, timeout=10)
        assert now.status_code == 201
        third = now.json()["token"]
        secrets_seen.append(third)
        assert ingest(second) == 401 and ingest(third) == 201 and ingest(ward) == 201

        revoked = requests.post(base + f"/tokens/{_token_id(ward)}/revoke", headers=as_admin, timeout=10)
        assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
        refused = requests.post(collector.url + "/api/v1/reports", json=_report(agent_report, WARD),
                                headers={"Authorization": f"Bearer {ward}"}, timeout=30)
        assert refused.status_code == 401 and "revoked" in refused.json()["message"]
        assert requests.post(base + "/tokens/ffffffffffffffff/revoke", headers=as_admin,
                             timeout=10).status_code == 404

        listed = requests.get(base + "/tokens", params={"ward": WARD}, headers=as_admin, timeout=10)
        states = {t["token_id"]: t["state"] for t in listed.json()["tokens"]}
        assert states == {_token_id(ward): "revoked", _token_id(second): "expired", _token_id(third): "active"}
        used = {t["token_id"]: t["last_used_at"] for t in listed.json()["tokens"]}
        assert used[_token_id(third)] is not None

        entries = requests.get(base + "/audit", headers=as_admin, timeout=10).json()["entries"]
        assert [e["action"] for e in entries] == ["token.revoke", "token.rotate", "token.rotate", "token.create",
                                                  "token.create"]
        assert {e["actor"] for e in entries[:4]} == {f"token:{_token_id(admin)}"}
        assert entries[4]["actor"].startswith("cli:") and entries[4]["detail"]["kind"] == "admin"
        assert entries[1]["detail"]["new_token_id"] == _token_id(third)
        shown = listed.text + json.dumps(entries)
    finally:
        stop(collector.proc)
    output = collector.output.text(settle=10)
    for secret in secrets_seen:
        tail = secret.split("_", 2)[2]
        assert tail not in shown and tail not in output
