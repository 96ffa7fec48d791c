"""The ward registry: shipped file agrees with the official list; foreign files are checked."""
from __future__ import annotations

import csv

import pytest

from inventory.registry import RegistryError, fold, load_registry


def test_shipped_registry_matches_the_official_list(shared_data):
    official = list(csv.DictReader((shared_data / "hanoi-units-2025.csv").open(encoding="utf-8")))
    registry = load_registry()
    assert len(registry) == 126
    assert [(w.code, w.name, w.kind) for w in registry] == [(r["code"], r["name"], r["kind"]) for r in official]
    assert sum(w.kind == "phuong" for w in registry) == 51
    assert sum(w.kind == "xa" for w in registry) == 75


def test_codes_keep_leading_zeros():
    registry = load_registry()
    assert registry.get("00070").name == "Hoàn Kiếm"
    assert "70" not in registry
    assert registry.get("00070").title_vi == "Phường Hoàn Kiếm"


def test_search_ignores_accents_and_tone_placement():
    registry = load_registry()
    assert [w.code for w in registry.search("hoan kiem")] == ["00070"]
    assert fold("Hoà Bình") == fold("Hòa Bình") == fold("hoa binh")
    assert fold("Đông Anh") == "dong anh"


def test_another_province_loads_from_a_file_of_the_same_shape(tmp_path):
    f = tmp_path / "units.csv"
    f.write_text("code,name,kind,formed_from\n10001,Thử Nghiệm,xa,\n10002,Kiểm Tra,phuong,x\n", encoding="utf-8")
    registry = load_registry(f)
    assert [w.code for w in registry] == ["10001", "10002"]


@pytest.mark.parametrize("body, needle", [
    ("code,name\n00001,A\n", "line 1: missing column(s) kind"),
    ("code,name,kind\n1,A,xa\n", "line 2: field 'code': '1' is not a 5-digit code"),
    ("code,name,kind\n00001,A,xa\n00001,B,xa\n", "line 3: field 'code': 00001 already on line 2"),
    ("code,name,kind\n00001,,xa\n", "line 2: field 'name': empty"),
    ("code,name,kind\n00001,A,huyen\n", "line 2: field 'kind': 'huyen'"),
    ("code,name,kind\n", "no units"),
])
def test_bad_registry_files_are_refused_with_file_line_and_field(tmp_path, body, needle):
    f = tmp_path / "bad.csv"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(f)
    assert str(f) in str(err.value)
    assert needle in str(err.value)
