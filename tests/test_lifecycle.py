"""End-of-support table: real vendor dates, build-number fallback, and a strict loader."""
from __future__ import annotations

from datetime import date

import pytest

from inventory.lifecycle import LifecycleError, load_lifecycle, parse_build, parse_lifecycle


@pytest.fixture(scope="module")
def table():
    return load_lifecycle()


def _os(os_id, version=None, release=None, edition=None, build=None):
    return {"id": os_id, "version": version, "release": release, "edition": edition, "build": build}


@pytest.mark.parametrize("os, end", [
    (_os("windows", "10", "22H2", "Professional"), date(2025, 10, 14)),
    (_os("windows", "10", "22H2", "Core"), date(2025, 10, 14)),
    (_os("windows", "10", "22H2", "Enterprise"), date(2025, 10, 14)),
    (_os("windows", "10", "22H2", "Education"), date(2025, 10, 14)),
    (_os("windows", "10", "22H2"), date(2025, 10, 14)),
    (_os("windows", "10", "1809", "EnterpriseS"), date(2029, 1, 9)),
    (_os("windows", "10", "21H2", "EnterpriseS"), date(2027, 1, 12)),
    (_os("windows", "11", "21H2", "Professional"), date(2023, 10, 10)),
    (_os("windows", "11", "22H2", "Core"), date(2024, 10, 8)),
    (_os("windows", "11", "23H2", "Professional"), date(2025, 11, 11)),
    (_os("windows", "11", "24H2", "Professional"), date(2026, 10, 13)),
    (_os("windows", "11", "25H2", "CoreSingleLanguage"), date(2027, 10, 12)),
    (_os("windows", "11", "21H2", "Enterprise"), date(2024, 10, 8)),
    (_os("windows", "11", "22H2", "Education"), date(2025, 10, 14)),
    (_os("windows", "11", "23H2", "Enterprise"), date(2026, 11, 10)),
    (_os("windows", "11", "24H2", "Education"), date(2027, 10, 12)),
    (_os("windows", "11", "25H2", "Enterprise"), date(2028, 10, 10)),
    (_os("windows", "7", None, "Professional"), date(2020, 1, 14)),
    (_os("windows", "8.1"), date(2023, 1, 10)),
    (_os("windows-server", "2012"), date(2023, 10, 10)),
    (_os("windows-server", "2012 R2", edition="ServerStandard"), date(2023, 10, 10)),
    (_os("windows-server", "2012R2"), date(2023, 10, 10)),
    (_os("windows-server", "2016"), date(2027, 1, 12)),
    (_os("windows-server", "2019"), date(2029, 1, 9)),
    (_os("windows-server", "2022"), date(2031, 10, 14)),
    (_os("windows-server", "2025"), date(2034, 10, 10)),
    (_os("ubuntu", "18.04"), date(2023, 5, 31)),
    (_os("ubuntu", "20.04"), date(2025, 5, 29)),     # distro-info-data's eol for focal
    (_os("ubuntu", "22.04"), date(2027, 6, 1)),
    (_os("ubuntu", "24.04"), date(2029, 5, 31)),
    (_os("debian", "10"), date(2024, 6, 30)),
    (_os("debian", "11"), date(2026, 8, 31)),
    (_os("debian", "12"), date(2028, 6, 30)),
    (_os("debian", "13"), date(2030, 6, 30)),
    (_os("rhel", "9.4"), date(2032, 5, 31)),         # RHEL's VERSION_ID carries the minor release
    (_os("centos", "7"), date(2024, 6, 30)),
])
def test_real_end_of_support_dates(table, os, end):
    assert table.end_of_support(os) == end
    assert table.support_window(os) == (end, end)


@pytest.mark.parametrize("build, end", [
    ("19045", date(2025, 10, 14)),
    ("19045.4291", date(2025, 10, 14)),
    ("10.0.22000", date(2023, 10, 10)),
    ("22621", date(2024, 10, 8)),
    ("22631.3447", date(2025, 11, 11)),
    ("26100", date(2026, 10, 13)),
    ("26200", date(2027, 10, 12)),
])
def test_windows_build_fills_in_a_missing_release(table, build, end):
    assert table.end_of_support(_os("windows", "11", None, "Professional", build)) == end


def test_build_outranks_the_name_windows_11_gives_itself_in_the_registry(table):
    # ProductName stays "Windows 10 Pro" on Windows 11; CurrentBuild 22631 is 11 23H2.
    assert table.end_of_support(_os("windows", "10", None, "Professional", "22631")) == date(2025, 11, 11)


@pytest.mark.parametrize("build, end", [
    ("14393", date(2027, 1, 12)), ("17763", date(2029, 1, 9)),
    ("20348", date(2031, 10, 14)), ("26100", date(2034, 10, 10)),
])
def test_server_builds(table, build, end):
    assert table.end_of_support(_os("windows-server", None, build=build)) == end


def test_missing_edition_gives_a_window_not_a_date(table):
    os = _os("windows", "11", "23H2")
    assert table.end_of_support(os) is None
    assert table.support_window(os) == (date(2025, 11, 11), date(2026, 11, 10))


def test_missing_release_spans_every_release_of_that_edition(table):
    first, last = table.support_window(_os("windows", "10", edition="Professional"))
    assert first == date(2017, 5, 9)          # 1507
    assert last == date(2025, 10, 14)         # 22H2


@pytest.mark.parametrize("os", [
    _os("freebsd", "14.1"),                            # product not in the table
    _os("ubuntu", "99.04"),                            # version not in the table
    _os("windows", "11", "23H2", "EnterpriseS"),       # no LTSC of 23H2 exists
    _os("windows", "11", "26H1", "Professional"),      # release the table does not know yet
    _os("windows", None),                              # nothing to look up
    _os("unknown", None),
])
def test_unknown_products_give_none(table, os):
    assert table.end_of_support(os) is None
    assert table.support_window(os) is None


def test_parse_build():
    assert parse_build("19045.4291") == 19045
    assert parse_build("10.0.19045") == 19045
    assert parse_build("6.1.7601") == 7601
    assert parse_build("Build-1") is None
    assert parse_build(None) is None


def test_loads_a_table_from_a_file(tmp_path):
    path = tmp_path / "eos.yaml"
    path.write_text("products:\n  haiku:\n    entries:\n      - {version: R1, end: 2030-01-01}\n", encoding="utf-8")
    assert load_lifecycle(path).end_of_support({"id": "haiku", "version": "r1"}) == date(2030, 1, 1)


def test_unreadable_file_names_it(tmp_path):
    with pytest.raises(LifecycleError, match="missing.yaml"):
        load_lifecycle(tmp_path / "missing.yaml")


GROUPS = "edition_groups:\n  pro: [Professional]\n  ent: [Enterprise]\n"


@pytest.mark.parametrize("text, line, field, fragment", [
    ("products:\n  debian:\n    entries:\n      - {version: \"12\", end: 2028-13-30}\n",
     4, None, "not a valid date"),
    ("products:\n  debian:\n    entries:\n      - {version: \"12\", end: soon}\n",
     4, "products.debian.entries[0].end", "not a date"),
    ("products:\n  ubuntu:\n    entries:\n      - {version: 22.04, end: 2027-06-01}\n",
     4, "products.ubuntu.entries[0].version", "quote it"),
    ("products:\n  debian:\n    entries:\n      - {version: \"12\", end: 2028-06-30, codename: bookworm}\n",
     4, "products.debian.entries[0].codename", "unknown key"),
    ("products:\n  debian:\n    entries:\n      - {version: \"12\", end: 2028-06-30}\n"
     "      - {version: \"12\", end: 2029-06-30}\n",
     5, "products.debian.entries[1]", "already listed"),
    (GROUPS + "products:\n  windows:\n    entries:\n      - {version: \"11\", editions: [home], end: 2030-01-01}\n",
     7, "products.windows.entries[0].editions", "not an edition group"),
    (GROUPS + "products:\n  windows:\n    entries:\n      - {version: \"11\", release: 23H2, end: 2030-01-01}\n"
              "      - {version: \"11\", end: 2031-01-01}\n",
     8, "products.windows.entries[1].release", "either every entry names a release or none"),
    (GROUPS + "products:\n  windows:\n    entries:\n      - {version: \"11\", editions: [pro], end: 2030-01-01}\n"
              "      - {version: \"11\", end: 2031-01-01}\n",
     8, "products.windows.entries[1].editions", "either every entry names editions or none"),
    (GROUPS + "  more: [Professional]\nproducts: {}\n",
     4, "edition_groups.more[0]", "already in group pro"),
    ("products:\n  windows:\n    builds:\n      22631: {version: \"12\"}\n"
     "    entries:\n      - {version: \"11\", end: 2030-01-01}\n",
     4, "products.windows.builds.22631.version", "has no entry"),
    ("products:\n  windows:\n    builds:\n      22631: {version: \"11\", release: 23H2}\n"
     "    entries:\n      - {version: \"11\", end: 2030-01-01}\n",
     4, "products.windows.builds.22631.release", "has no entry"),
    ("products:\n  rhel:\n    version_parts: 0\n    entries: []\n",
     3, "products.rhel.version_parts", "not 1, 2 or 3"),
    ("products:\n  debian:\n    entries:\n      - {version: \"12\", end: 2028-06-30\n",
     5, None, "YAML"),
    ("products:\n  debian: {entries: []}\n  debian: {entries: []}\n",
     3, None, "appears twice"),
    ("entries: []\n",
     1, "entries", "unknown key"),
])
def test_loader_errors_name_file_line_and_field(text, line, field, fragment):
    with pytest.raises(LifecycleError) as caught:
        parse_lifecycle(text, "eos.yaml")
    message = str(caught.value)
    assert message.startswith(f"eos.yaml: line {line}: "), message
    if field is not None:
        assert f"field '{field}'" in message
    assert fragment in message
