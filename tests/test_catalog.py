"""The software catalog: shipped data is sound, detection finds real install names and nothing else."""
from __future__ import annotations

import re
import time

import pytest

from inventory.catalog import TARGETS, CatalogError, _key, _required_literal, load_catalog

# Names as Windows shows them in Programs and Features (publisher where the
# catalog needs it), one or more per application.
REALISTIC = {
    "one_stop_shop": [("VNPT iGate Scan Plugin", None), ("Một cửa điện tử liên thông", None),
                      ("Viettel One-Stop Client 3.1", None)],
    "public_service_portal": [("Plugin ký số Cổng Dịch vụ công", None), ("DVC Plugin", None)],
    "e_office": [("VNPT-iOffice Plugin", None), ("eDoc Client 5.0", None),
                 ("Phần mềm Quản lý văn bản và điều hành", None)],
    "civil_status": [("Phần mềm Hộ tịch", None), ("Phan mem Ho tich", None)],
    "e_certification": [("Chứng thực bản sao điện tử", None)],
    "population_vneid": [("Phần mềm đọc thẻ CCCD gắn chip", None), ("VNeID Desktop", None)],
    "ihanoi": [("iHanoi", None), ("i-Hanoi Desktop", None)],
    "land_records": [("ViLIS 2.0", None), ("ELIS Client", None), ("gCadas 2020", None), ("Famis", None)],
    "commune_accounting": [("MISA Mimosa.NET 2022", None), ("MISA Bamboo.NET 2021 R3", None)],
    "treasury": [("Dịch vụ công Kho bạc Nhà nước", None), ("TABMIS Client", None)],
    "e_tax": [("HTKK 5.2.6", None), ("iTaxViewer 2.4.0", None)],
    "social_insurance": [("VNPT-BHXH", None), ("iBHXH", None), ("EFY-eBHXH", None), ("KBHXH 2024", None)],
    "social_protection": [("Quản lý đối tượng Bảo trợ xã hội", None)],
    "hr_officials": [("CSDL cán bộ, công chức, viên chức", None), ("Quản lý hồ sơ cán bộ", None)],
    "reporting": [("Hệ thống thông tin báo cáo", None)],
    "video_conferencing": [("Zoom Workplace (64-bit)", "Zoom Video Communications, Inc."),
                           ("Microsoft Teams", "Microsoft Corporation"),
                           ("Teams Machine-Wide Installer", "Microsoft Corporation"),
                           ("Cisco Webex Meetings", "Cisco Webex LLC")],
    "digital_signature": [("VGCA Sign Service", None), ("vSignPDF 4.0", None),
                          ("Viettel-CA Token Manager", None), ("VNPT-CA Plugin", None),
                          ("BkavCA Token Manager", None)],
    "digital_archive": [("Phần mềm Lưu trữ hồ sơ điện tử", None)],
    "queue_satisfaction": [("Hệ thống xếp hàng tự động", None), ("Đánh giá mức độ hài lòng", None)],
    "official_email": [("Mozilla Thunderbird (x64 en-US)", "Mozilla"), ("Microsoft Outlook 2016", None)],
}

# Installed on most ward PCs and none of the catalog's applications.
NEGATIVES = [
    ("TeamViewer", "TeamViewer"), ("TeamViewer 15", "TeamViewer"), ("TeamSpeak 3 Client", None),
    ("Zoom Player MAX", "Inmatrix"), ("ZoomIt", None),
    ("Microsoft Office Professional Plus 2016", "Microsoft Corporation"),
    ("Microsoft Office Outlook MUI (English) 2010", "Microsoft Corporation"),
    ("Update for Microsoft Outlook 2010 (KB2553248) 32-Bit Edition", "Microsoft"),
    ("Microsoft 365 Apps for enterprise - vi-vn", "Microsoft Corporation"),
    ("MISA SME.NET 2023", "MISA JSC"), ("LibreOffice 7.6.4.1", "The Document Foundation"),
    ("WPS Office", "Kingsoft Corp."), ("Viettel Money", None), ("Google Chrome", "Google LLC"),
    ("Cốc Cốc", "Công ty TNHH Cốc Cốc"), ("UniKey 4.3 RC5", None), ("Foxit PDF Reader", "Foxit Software Inc."),
    ("WinRAR 6.24 (64-bit)", "win.rar GmbH"), ("Zalo 24.10.1", "VNG Corp."),
    ("UltraViewer version 6.6.83", "DucFabulous"),
    ("Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130", "Microsoft Corporation"),
    ("Realtek High Definition Audio Driver", "Realtek Semiconductor Corp."),
    ("Microsoft Office Proofing Tools 2016 - English", None), ("Adobe Acrobat Reader DC", "Adobe Inc."),
]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _ids(catalog, name, publisher=None):
    return [m.app_id for m in catalog.match([{"name": name, "version": "1.0", "publisher": publisher}])]


def test_shipped_catalog_is_complete_and_sound(catalog):
    ids = [a.id for a in catalog.apps]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert set(ids) == set(REALISTIC)
    assert {a.target for a in catalog.apps} == set(TARGETS)
    assert catalog.target_max_local_apps == 5
    # The city target must be reachable: apps that stay local by design fit under it.
    assert sum(a.target == "stays_local" for a in catalog.apps) <= catalog.target_max_local_apps
    for app in catalog.apps:
        assert app.name_vi != _key(app.name_vi), f"{app.id}: name_vi lacks diacritics"
        if app.hdc_endpoint:
            assert re.match(r"^https://[a-z.]+\.hanoi\.gov\.vn$", app.hdc_endpoint), app.hdc_endpoint
    assert catalog.get("e_tax").name_en.startswith("Tax declaration")
    assert catalog.get("nope") is None


@pytest.mark.parametrize("app_id, name, publisher",
                         [(app, n, p) for app, names in REALISTIC.items() for n, p in names])
def test_every_app_is_detected_by_its_real_install_names(catalog, app_id, name, publisher):
    assert _ids(catalog, name, publisher) == [app_id]


@pytest.mark.parametrize("name, publisher", NEGATIVES)
def test_common_software_is_no_catalog_app(catalog, name, publisher):
    assert _ids(catalog, name, publisher) == []


def test_matching_ignores_case_accents_and_unicode_form(catalog):
    import unicodedata
    for name in ("Phần mềm Hộ tịch", "Phan mem Ho tich", "PHẦN MỀM HỘ TỊCH", "phan MEM ho TICH",
                 unicodedata.normalize("NFD", "Phần mềm Hộ tịch")):
        assert _ids(catalog, name) == ["civil_status"], name
    assert _ids(catalog, "Thư công vụ Hà Nội") == ["official_email"]
    assert _ids(catalog, "Hệ thống Xếp Hàng Tự Động") == ["queue_satisfaction"]


def test_zoom_is_recognised_by_its_publisher_not_by_name_alone(catalog):
    assert _ids(catalog, "Zoom", "Zoom Video Communications, Inc.") == ["video_conferencing"]
    assert _ids(catalog, "Zoom", None) == []
    assert _ids(catalog, "Zoom Player MAX", "Inmatrix") == []


def test_one_match_per_app_first_package_wins_in_catalog_order(catalog):
    software = [
        {"name": "Google Chrome", "version": "131.0"},
        {"name": "VGCA Sign Service", "version": "2.0.5"},
        {"name": "HTKK", "version": "5.2.6"},
        {"name": "vSignPDF", "version": "4.0"},
        {"name": "", "version": None},
        {"name": "iTaxViewer", "version": "2.4.0"},
    ]
    matches = catalog.match(software)
    assert [(m.app_id, m.software_name, m.version) for m in matches] == [
        ("e_tax", "HTKK", "5.2.6"),
        ("digital_signature", "VGCA Sign Service", "2.0.5"),
    ]


def test_treasury_portal_is_not_the_city_portal(catalog):
    assert _ids(catalog, "Dịch vụ công Kho bạc Nhà nước") == ["treasury"]
    assert _ids(catalog, "Cổng Dịch vụ công Hà Nội") == ["public_service_portal"]


def test_no_false_positives_on_real_windows_uninstall_exports(catalog, shared_data):
    files = sorted((shared_data / "windows-recorded" / "registry").glob("*-Uninstall.reg"))
    assert len(files) >= 3
    found = []
    total = 0
    for path in files:
        software = _uninstall_entries(path.read_bytes().decode("utf-16"))
        total += len(software)
        found += [(path.name, m.app_id, m.software_name) for m in catalog.match(software)]
    assert total > 400
    # The only hit is a real e-mail client: official e-mail is read with it.
    # Office 2010's "Outlook MUI" pack and "Update for Microsoft Outlook" are not.
    assert found == [("xp-Uninstall.reg", "official_email", "Mozilla Thunderbird (2.0.0.23)")]


def _uninstall_entries(text: str) -> list[dict]:
    """DisplayName/Publisher per key of a ``reg export`` of the Uninstall key."""
    entries: list[dict] = []
    for block in text.split("\r\n\r\n"):
        values = dict(re.findall(r'^"(DisplayName|Publisher|DisplayVersion)"="(.*)"\r?$', block, re.M))
        if values.get("DisplayName"):
            entries.append({"name": values["DisplayName"], "version": values.get("DisplayVersion"),
                            "publisher": values.get("Publisher")})
    return entries


@pytest.mark.parametrize("pattern, literal", [
    (r"\bho tich\b", "ho tich"),
    (r"^microsoft outlook\b(?!.*\bmui\b)", "microsoft outlook"),
    (r"\bvsign ?pdf\b", "vsign"),
    (r"colou?r", "colo"),
    (r"[abc]defg", "defg"),
    (r"ab{2}c", "a"),
    (r"(?:ab|cd)ef", "ef"),
    (r"HTKK", "htkk"),
    (r"foo|barbaz", ""),
    (r"\x41bcdef", ""),
    (r"(?x) h t k k", ""),
])
def test_required_literal_is_conservative(pattern, literal):
    assert _required_literal(re.compile(pattern, re.IGNORECASE)) == literal


def test_prefilter_literal_never_hides_a_match(catalog):
    """Each detector that matches a realistic name has its literal in that name."""
    for names in REALISTIC.values():
        for name, _publisher in names:
            key = _key(name)
            hits = [d for a in catalog.apps for d in a.detect if d.name.search(key)]
            assert hits, name
            assert all(d.literal in key for d in hits), name


def test_matching_a_thousand_package_report_is_fast(catalog):
    names = [n for _, n in NEGATIVES] + [n for v in REALISTIC.values() for n, _ in v]
    software = [{"name": f"{names[i % len(names)]} {i}", "version": "1"} for i in range(1000)]
    fresh = load_catalog()
    started = time.perf_counter()
    matches = fresh.match(software)
    # ~10 ms measured on the 2-core CI machine; the bound only catches a pathological regression.
    assert time.perf_counter() - started < 0.5
    assert len(matches) == 20


GOOD_APP = """\
target_max_local_apps: 5
apps:
  - id: e_tax
    name_vi: Hỗ trợ kê khai thuế
    name_en: Tax declaration
    category: tax
    target: stays_local
    detect:
      - '^htkk\\b'
"""


def test_a_small_catalog_file_loads(tmp_path):
    f = tmp_path / "catalog.yaml"
    f.write_text(GOOD_APP, encoding="utf-8")
    catalog = load_catalog(f)
    assert [a.id for a in catalog.apps] == ["e_tax"]
    assert catalog.source == str(f)
    assert [m.app_id for m in catalog.match([{"name": "HTKK 5.2.6"}])] == ["e_tax"]



def test_the_fingerprint_changes_with_what_matching_depends_on_only(tmp_path):
    """Facts derived from a list are keyed by it (collector/store/list_facts.py): a changed pattern must change
    it, a changed display name must not (the facts would stay right)."""
    def fingerprint(text: str) -> str:
        f = tmp_path / "catalog.yaml"
        f.write_text(text, encoding="utf-8")
        return load_catalog(f).fingerprint

    same = fingerprint(GOOD_APP)
    assert len(same) == 64 and fingerprint(GOOD_APP) == same
    assert fingerprint(GOOD_APP.replace("name_en: Tax declaration", "name_en: Tax returns")) == same
    assert fingerprint(GOOD_APP.replace("'^htkk\\b'", "'^htkk'")) != same


@pytest.mark.parametrize("body, needle", [
    (GOOD_APP.replace("target: stays_local", "target: cloud"),
     "line 7: field 'apps[0].target': 'cloud' is not one of hdc_cloud, hdc_web, retired, stays_local"),
    (GOOD_APP + GOOD_APP.split("apps:\n")[1], "line 10: field 'apps[1].id': e_tax already defined on line 3"),
    (GOOD_APP.replace("'^htkk\\b'", "'^htkk(\\b'"),
     "line 9: field 'apps[0].detect[0]': regex '^htkk(\\\\b' does not compile"),
    (GOOD_APP.replace("    name_en: Tax declaration\n", ""), "line 3: field 'apps[0].name_en': required"),
    (GOOD_APP.replace("    detect:\n      - '^htkk\\b'\n", ""), "line 3: field 'apps[0].detect': required"),
    (GOOD_APP.replace("    category: tax\n", "    category: tax\n    categroy: tax\n"),
     "line 7: field 'apps[0].categroy': unknown key"),
    (GOOD_APP.replace("    category: tax\n", "    category: tax\n    category: finance\n"),
     "line 7: not valid YAML: field 'category' appears twice (first on line 6)"),
    (GOOD_APP.replace("target_max_local_apps: 5", "target_max_local_apps: five"),
     "line 1: field 'target_max_local_apps': must be a whole number"),
    (GOOD_APP.replace("target_max_local_apps: 5\n", ""), "line 1: field 'target_max_local_apps': required"),
    (GOOD_APP.replace("id: e_tax", "id: E-Tax"), "line 3: field 'apps[0].id': 'E-Tax' is not snake_case"),
    (GOOD_APP.replace("      - '^htkk\\b'", "      - {name: '^htkk', vendor: x}"),
     "line 9: field 'apps[0].detect[0].vendor': unknown key; allowed: name, publisher"),
    (GOOD_APP.replace("    target: stays_local\n", "    target: hdc_web\n    hdc_endpoint: http://x.hanoi.gov.vn\n"),
     "line 8: field 'apps[0].hdc_endpoint': 'http://x.hanoi.gov.vn' is not an https URL"),
    (GOOD_APP.replace("    name_en: Tax declaration", "    name_en: [Tax]"),
     "line 5: field 'apps[0].name_en': expected text, got a list"),
    (GOOD_APP.replace("      - '^htkk\\b'", "      - '^htkk\\b"),
     "line 10: not valid YAML: found unexpected end of stream (while scanning a quoted scalar on line 9)"),
    ("", "line 1: empty catalog"),
])
def test_bad_catalog_files_are_refused_with_file_line_and_field(tmp_path, body, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(f)
    assert str(err.value).startswith(f"{f}: ")
    assert needle in str(err.value)


def test_unreadable_catalog_file_names_the_path(tmp_path):
    with pytest.raises(CatalogError, match="missing.yaml: cannot read"):
        load_catalog(tmp_path / "missing.yaml")
