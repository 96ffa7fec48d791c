"""The migration model alone (inventory/migration.py): inference, declarations, contradictions, transitions, sprawl."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from inventory.catalog import load_catalog
from inventory.migration import (
    ALLOWED,
    ENDPOINT_DOWN,
    ENDPOINT_OK,
    ENDPOINT_UNCHECKED,
    ENDPOINT_UNREACHABLE,
    LOCAL,
    MIGRATING,
    NOT_USED,
    ON_HDC,
    RETIRED,
    STATES,
    STILL_INSTALLED,
    UNREACHABLE_DAYS,
    Declaration,
    Evidence,
    Observation,
    TransitionError,
    check_declaration,
    endpoint_status,
    endpoint_targets,
    infer,
    resolve,
    turns_unreachable_at,
    unit_migration,
)

CATALOG = load_catalog()
WEB = CATALOG.get("one_stop_shop")        # hdc_web, endpoint motcua.hanoi.gov.vn
CLOUD = CATALOG.get("land_records")       # hdc_cloud
GONE = CATALOG.get("civil_status")        # retired by the catalog
KEPT = CATALOG.get("e_tax")               # stays_local
NOW = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
TODAY = date(2026, 3, 1)


def declared(state: str, day: date = date(2026, 2, 1)) -> Declaration:
    return Declaration(state, day, "Nguyễn Văn A", NOW - timedelta(days=1), "ghi chú", "QĐ 12/QĐ-UBND")


def observed(state: str, installed: int, endpoint: str, days_ago: float) -> Observation:
    return Observation(state, installed, endpoint, NOW - timedelta(days=days_ago))


def test_install_seen_means_local():
    assert infer(WEB, Evidence(3, True, ENDPOINT_OK)) == LOCAL
    assert infer(KEPT, Evidence(1, True)) == LOCAL


def test_install_gone_and_endpoint_reachable_suggests_on_hdc():
    assert infer(WEB, Evidence(0, True, ENDPOINT_OK)) == ON_HDC
    assert infer(CLOUD, Evidence(0, True, ENDPOINT_OK)) == ON_HDC


def test_install_gone_without_a_reachable_endpoint_is_migrating_not_on_hdc():
    assert infer(WEB, Evidence(0, True, ENDPOINT_DOWN)) == MIGRATING
    assert infer(WEB, Evidence(0, True, ENDPOINT_UNCHECKED)) == MIGRATING


def test_install_gone_of_a_retired_application_is_retired_and_of_a_local_one_not_used():
    assert infer(GONE, Evidence(0, True)) == RETIRED
    assert infer(KEPT, Evidence(0, True)) == NOT_USED


def test_never_seen_is_not_used_even_if_the_endpoint_answers():
    assert infer(WEB, Evidence(0, False, ENDPOINT_OK)) == NOT_USED


def test_endpoint_names_are_the_catalog_id_or_the_host():
    assert endpoint_targets(WEB) == ("one_stop_shop", "motcua.hanoi.gov.vn")
    assert endpoint_targets(GONE) == ()
    assert endpoint_status(1, 5) == ENDPOINT_OK
    assert endpoint_status(0, 5) == ENDPOINT_DOWN
    assert endpoint_status(0, 0) == ENDPOINT_UNCHECKED


def test_a_declaration_wins_over_inference_but_keeps_it():
    a = resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(RETIRED)], [], NOW)
    assert (a.state, a.source, a.inferred) == (RETIRED, "declared", MIGRATING)
    assert a.since.date() == date(2026, 2, 1)
    assert a.declared.declared_by == "Nguyễn Văn A" and a.declarations == (declared(RETIRED),)


def test_without_declaration_the_inferred_state_counts_since_it_was_first_observed():
    history = [observed(LOCAL, 2, ENDPOINT_OK, 40), observed(ON_HDC, 0, ENDPOINT_OK, 9),
               observed(ON_HDC, 0, ENDPOINT_DOWN, 2)]
    a = resolve(WEB, Evidence(0, True, ENDPOINT_OK), [], history, NOW)
    assert (a.state, a.source) == (ON_HDC, "inferred")
    assert a.since == NOW - timedelta(days=9)
    assert a.contradictions == ()


def test_declared_on_hdc_while_installed_is_a_contradiction_with_its_start():
    history = [observed(LOCAL, 1, ENDPOINT_OK, 20)]
    a = resolve(WEB, Evidence(2, True, ENDPOINT_OK), [declared(ON_HDC)], history, NOW)
    assert a.state == ON_HDC and a.inferred == LOCAL
    assert [(c.code, c.devices, c.since) for c in a.contradictions] == [(STILL_INSTALLED, 2, NOW - timedelta(days=20))]
    retired = resolve(GONE, Evidence(1, True), [declared(RETIRED)], [], NOW)
    assert [c.code for c in retired.contradictions] == [STILL_INSTALLED]


def test_endpoint_unreachable_for_days_contradicts_on_hdc_but_a_short_outage_does_not():
    long_down = [observed(ON_HDC, 0, ENDPOINT_OK, 30), observed(MIGRATING, 0, ENDPOINT_DOWN, 4)]
    a = resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], long_down, NOW)
    assert [(c.code, c.since) for c in a.contradictions] == [(ENDPOINT_UNREACHABLE, NOW - timedelta(days=4))]
    short = [observed(ON_HDC, 0, ENDPOINT_OK, 30), observed(MIGRATING, 0, ENDPOINT_DOWN, 1)]
    assert resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], short, NOW).contradictions == ()
    # Down now but never observed down before: not yet "for days".
    assert resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], [], NOW).contradictions == ()
    # When time alone changes the answer (what /metrics keeps its families until): the short outage turns
    # into the contradiction UNREACHABLE_DAYS after it began, exactly as resolve then answers; nothing else does.
    down_short = resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], short, NOW)
    turns = turns_unreachable_at(down_short, NOW)
    assert turns == NOW + timedelta(days=UNREACHABLE_DAYS - 1)
    assert resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], short,
                   turns - timedelta(microseconds=1)).contradictions == ()
    assert [c.code for c in resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], short,
                                    turns).contradictions] == [ENDPOINT_UNREACHABLE]
    assert turns_unreachable_at(a, NOW) is None  # already a contradiction
    assert turns_unreachable_at(resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [declared(ON_HDC)], [], NOW),
                                NOW) is None
    assert turns_unreachable_at(resolve(WEB, Evidence(0, True, ENDPOINT_DOWN), [], short, NOW), NOW) is None


@pytest.mark.parametrize("current,new", [(RETIRED, LOCAL), (RETIRED, ON_HDC), (RETIRED, MIGRATING),
                                         (ON_HDC, LOCAL), (ON_HDC, NOT_USED), (MIGRATING, NOT_USED)])
def test_impossible_state_changes_are_refused(current, new):
    with pytest.raises(TransitionError, match=f"impossible state change for one_stop_shop: {current} -> {new}"):
        check_declaration(WEB, current, new, TODAY, TODAY)


def test_possible_changes_and_redeclaring_the_same_state_pass():
    for current, allowed in ALLOWED.items():
        for new in allowed | {current}:
            check_declaration(WEB, current, new, TODAY, TODAY)
    assert set(ALLOWED) == set(STATES) and ALLOWED[RETIRED] == frozenset()


def test_dates_in_the_future_or_before_the_last_declaration_and_unknown_states_are_refused():
    with pytest.raises(TransitionError, match="in the future"):
        check_declaration(WEB, LOCAL, ON_HDC, TODAY + timedelta(days=1), TODAY)
    with pytest.raises(TransitionError, match="before the last declaration"):
        check_declaration(WEB, MIGRATING, ON_HDC, date(2026, 1, 1), TODAY, last_declared=date(2026, 2, 1))
    with pytest.raises(TransitionError, match="unknown state 'moved'"):
        check_declaration(WEB, LOCAL, "moved", TODAY, TODAY)
    with pytest.raises(TransitionError, match="stays local"):
        check_declaration(KEPT, LOCAL, ON_HDC, TODAY, TODAY)


def test_unit_totals_and_sprawl_against_the_catalog_target():
    installed = {a.id: 1 for a in [a for a in CATALOG.apps if a.id != GONE.id][:7]}
    apps = [resolve(a, Evidence(installed.get(a.id, 0), a.id in installed or a.id == GONE.id, ENDPOINT_OK),
                    [declared(ON_HDC)] if a.id == WEB.id else [], [], NOW) for a in CATALOG.apps]
    u = unit_migration("00070", apps, CATALOG)
    assert u.sprawl.local_apps == 7 and u.sprawl.target == CATALOG.target_max_local_apps == 5
    assert u.sprawl.over == 2
    # In use: every app not "not_used" whose catalog target is not stays_local.
    assert u.in_use == sum(1 for a in apps if a.state != NOT_USED and a.app.target != "stays_local")
    # civil_status retired, one_stop_shop declared on_hdc
    assert u.migrated == sum(1 for a in apps if a.in_use and a.state in (ON_HDC, RETIRED)) >= 2
    assert sum(u.by_state.values()) == len(CATALOG.apps)
    assert u.contradictions == 1  # one_stop_shop declared on_hdc while installed
