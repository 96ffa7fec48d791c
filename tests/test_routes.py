"""Every route of the collector against one table of who may call it: open, viewer, unit token or admin token.

A route added without a place in ``ROUTES`` fails here, and so does one
whose protection (what ``auth`` says, and what the app does when asked
without credentials, with the wrong kind of token, or too often from one
address) differs from the table.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Optional

import pytest
import sqlalchemy as sa

from collector.app import create_app
from collector.http.auth import ADMIN, OPEN, UNIT, VIEWER, protection
from collector.http.viewers import set_viewer
from collector.settings import LoginSettings, Rate, RateLimits, Settings
from collector.store.engine import write_transaction
from collector.store.tables import tokens
from collector.store.tokens import ADMIN as ADMIN_KIND
from collector.store.tokens import create_token

ROUTES = {
    ("POST", "/api/v1/reports"): UNIT,
    ("POST", "/inventory"): UNIT,
    ("POST", "/ocsinventory"): UNIT,
    ("GET", "/api/v1/admin/tokens"): ADMIN,
    ("POST", "/api/v1/admin/tokens"): ADMIN,
    ("POST", "/api/v1/admin/tokens/<token_id>/rotate"): ADMIN,
    ("POST", "/api/v1/admin/tokens/<token_id>/revoke"): ADMIN,
    ("GET", "/api/v1/admin/audit"): ADMIN,
    ("POST", "/api/v1/admin/register"): ADMIN,
    ("POST", "/api/v1/migration/declarations"): ADMIN,
    ("GET", "/healthz"): OPEN,
    ("GET", "/metrics"): VIEWER,
    ("GET", "/"): VIEWER,
    ("GET", "/units/<code>"): VIEWER,
    ("GET", "/work-items"): VIEWER,
    ("GET", "/export/units.<fmt>"): VIEWER,
    ("GET", "/register-template.<fmt>"): VIEWER,
    ("GET", "/units/<code>/applications.<fmt>"): VIEWER,
    ("GET", "/units/<code>/devices.<fmt>"): VIEWER,
    ("GET", "/static/<path:filename>"): VIEWER,
    ("GET", "/api/v1/wards"): VIEWER,
    ("GET", "/api/v1/wards/<code>"): VIEWER,
    ("GET", "/api/v1/wards/<code>/devices"): VIEWER,
    ("GET", "/api/v1/wards/<code>/applications"): VIEWER,
    ("GET", "/api/v1/applications/<app_id>"): VIEWER,
    ("GET", "/api/v1/devices/<device_id>"): VIEWER,
    ("GET", "/api/v1/milestones"): VIEWER,
    ("GET", "/api/v1/summary"): VIEWER,
    ("GET", "/api/v1/history"): VIEWER,
    ("GET", "/api/v1/openapi.json"): VIEWER,
    ("GET", "/api/v1/okr"): VIEWER,
    ("GET", "/okr"): VIEWER,
    ("GET", "/export/okr.<fmt>"): VIEWER,
    ("GET", "/api/v1/wards/<code>/plan"): VIEWER,
    ("GET", "/api/v1/plan"): VIEWER,
    ("GET", "/export/plan.<fmt>"): VIEWER,
}
SAMPLE = {"<token_id>": "0123456789abcdef", "<code>": "00070", "<fmt>": "csv", "<path:filename>": "page.css",
          "<app_id>": "land_records", "<device_id>": "no-such-device"}
PASSWORD = "mật-khẩu-đủ-dài"
FAILURE_BURST = 3


def _served(app) -> list[tuple[str, str, str]]:
    """(method, rule, endpoint) of every route the app serves (HEAD and OPTIONS come with GET)."""
    return sorted((method, rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})


def _url(rule: str) -> str:
    for placeholder, value in SAMPLE.items():
        rule = rule.replace(placeholder, value)
    return rule


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """An app with the viewer login on and a small limit of failed authentications, and a token of each kind."""
    tmp = tmp_path_factory.mktemp("routes")
    set_viewer(tmp / "viewers", "lan", PASSWORD)
    settings = Settings(db_url=f"sqlite:///{tmp / 'store.sqlite3'}",
                        login=LoginSettings(mode="basic", viewers_path=tmp / "viewers", protect_metrics=True),
                        rate_limits=RateLimits(failures=Rate(per_minute=1, burst=FAILURE_BURST)))
    app = create_app(settings)
    with write_transaction(app.extensions["hdc"].engine) as conn:
        unit_token = create_token(conn, "00070", "routes test")
        admin_token = create_token(conn, None, "routes test", ADMIN_KIND)
    yield app, unit_token, admin_token
    app.extensions["hdc"].stop_background()


def test_every_route_is_in_the_table_with_its_protection(guarded):
    app = guarded[0]
    served = _served(app)
    unclassified = [(m, r) for m, r, _ in served if (m, r) not in ROUTES]
    assert not unclassified, f"routes without a place in ROUTES (say who may call them): {unclassified}"
    gone = set(ROUTES) - {(m, r) for m, r, _ in served}
    assert not gone, f"ROUTES names routes the app does not serve: {sorted(gone)}"
    differ = [(m, r, protection(app.view_functions[e]), ROUTES[(m, r)]) for m, r, e in served
              if protection(app.view_functions[e]) != ROUTES[(m, r)]]
    assert not differ, f"(method, route, declared, expected): {differ}"


def _call(client, method: str, rule: str, address: str, authorization: Optional[str] = None):
    headers = {"Authorization": authorization} if authorization else {}
    return client.open(_url(rule), method=method, headers=headers, environ_overrides={"REMOTE_ADDR": address},
                       content_type="application/json", data=b"{}" if method == "POST" else None)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(("method", "rule"), sorted(ROUTES))
def test_each_route_answers_as_its_protection_says(guarded, method, rule):
    app, unit_token, admin_token = guarded
    client = app.test_client()
    kind = ROUTES[(method, rule)]
    address = f"10.1.{sorted(ROUTES).index((method, rule))}.1"  # an address of its own: no bucket shared
    bare = _call(client, method, rule, address)
    if kind == OPEN:
        assert bare.status_code == 200
        return
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"]
    if kind == VIEWER:
        assert _call(client, method, rule, address, _basic("lan", PASSWORD)).status_code not in (401, 403)
        # A token is no login: the page stays closed to an agent's token.
        assert _call(client, method, rule, address, f"Bearer {unit_token}").status_code == 401
        return
    basic = rule in ("/inventory", "/ocsinventory")
    wrong = admin_token if kind == UNIT else unit_token
    refused = _call(client, method, rule, address, _basic("00070", wrong) if basic else f"Bearer {wrong}")
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["error"] == "forbidden"


@pytest.mark.parametrize(("method", "rule"), sorted(k for k, v in ROUTES.items() if v in (UNIT, ADMIN)))
def test_bad_tokens_from_one_address_are_throttled_before_any_lookup(guarded, method, rule):
    """The limit of failed authentications applies to every token route alike, the declarations endpoint
    included: once spent, tokens from that address are refused before any lookup."""
    client = guarded[0].test_client()
    address = f"10.2.{sorted(ROUTES).index((method, rule))}.1"
    basic = rule in ("/inventory", "/ocsinventory")
    bad = _basic("00070", "hdc_0123456789abcdef_nope") if basic else "Bearer hdc_0123456789abcdef_nope"
    answers = [_call(client, method, rule, address, bad) for _ in range(FAILURE_BURST + 1)]
    assert [a.status_code for a in answers[:FAILURE_BURST]] == [401] * FAILURE_BURST
    assert answers[-1].status_code == 429 and int(answers[-1].headers["Retry-After"]) >= 1
    assert (answers[-1].get_json() or {}).get("error", "rate_limited") == "rate_limited"


def _last_used(app, token: str) -> Optional[datetime]:
    token_id = token.split("_", 2)[1]
    with app.extensions["hdc"].engine.connect() as conn:
        return conn.execute(sa.select(tokens.c.last_used_at).where(tokens.c.token_id == token_id)).scalar()


def test_a_declaration_records_the_admin_tokens_use_only_when_it_succeeds(tmp_path):
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"))
    with write_transaction(app.extensions["hdc"].engine) as conn:
        admin_token = create_token(conn, None, "declarations", ADMIN_KIND)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token}"}
    refused = client.post("/api/v1/migration/declarations", headers=headers,
                          json={"ward_code": "00070", "app_id": "no_such_app", "state": "on_hdc", "declared_by": "A"})
    assert refused.status_code == 422 and _last_used(app, admin_token) is None
    before = datetime.now(timezone.utc)
    stored = client.post("/api/v1/migration/declarations", headers=headers,
                         json={"ward_code": "00070", "app_id": "land_records", "state": "migrating",
                               "declared_by": "Nguyễn Văn A"})
    assert stored.status_code == 201, stored.get_json()
    assert _last_used(app, admin_token) >= before.replace(microsecond=0)


def test_a_declaration_while_the_store_is_down_is_a_503_to_retry(tmp_path):
    path = tmp_path / "store.sqlite3"
    app = create_app(Settings(db_url=f"sqlite:///{path}"))
    with write_transaction(app.extensions["hdc"].engine) as conn:
        admin_token = create_token(conn, None, "declarations", ADMIN_KIND)
    client = app.test_client()
    declaration = {"ward_code": "00070", "app_id": "land_records", "state": "migrating", "declared_by": "A"}
    headers = {"Authorization": f"Bearer {admin_token}"}
    # The store goes away (a file that cannot be opened any more, even by root): nothing can be checked.
    app.extensions["hdc"].engine.dispose()
    path.rename(tmp_path / "moved.sqlite3")
    path.mkdir()
    answer = client.post("/api/v1/migration/declarations", headers=headers, json=declaration)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert answer.get_json()["error"] == "unavailable"
