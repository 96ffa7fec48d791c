"""Reading an equipment register kept as a spreadsheet (CSV or XLSX) into a checked register.

One row per count (unit, device class, expected[, needed]) or per named
asset (unit, device class, asset tag, serial, hostname, location,
responsible). Headers and device classes may be written in Vietnamese or
English, with or without accents; unit codes that a spreadsheet stripped of
their leading zeros are read back. The file is read with the cloud sheet's
reader (formulas and macro workbooks refused) and checked whole: every bad
row is named, and the caller stores nothing unless there is none.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

from collector.cloud.sheet import SheetError, _key, _read_cells, _unit_code
from inventory.equipment import REGISTER_CLASSES, Register, RegisterRow, UnitAsset, check_register

COLUMNS = {
    "unit": ("unit_code", "unit", "ward", "ward_code", "code", "ma_don_vi", "don_vi", "ma_dvhc", "ma_xa"),
    "class": ("device_class", "class", "type", "loai", "loai_thiet_bi", "nhom_thiet_bi", "chung_loai"),
    "expected": ("expected", "count", "quantity", "owned", "so_luong", "so_luong_hien_co", "hien_co"),
    "needed": ("needed", "required", "so_luong_can", "can", "nhu_cau", "so_luong_can_co"),
    "asset_tag": ("asset_tag", "tag", "ma_tai_san", "so_hieu_tai_san", "so_hieu"),
    "serial": ("serial", "serial_number", "so_serial", "so_seri", "seri"),
    "hostname": ("hostname", "host", "computer_name", "ten_may", "ten_may_tinh"),
    "location": ("location", "vi_tri", "noi_dat", "dia_diem"),
    "responsible": ("responsible", "owner", "nguoi_phu_trach", "nguoi_quan_ly", "nguoi_su_dung"),
}
NAMING = ("asset_tag", "serial", "hostname")

# Device classes as Hanoi's offices write them, folded (see cloud.sheet._key).
CLASS_NAMES = {
    "may_tram": "workstation", "may_tinh_de_ban": "workstation", "may_tinh_ban": "workstation", "pc": "workstation",
    "desktop": "workstation", "may_tinh_xach_tay": "laptop", "notebook": "laptop", "may_chu": "server",
    "may_ao": "virtual_machine", "vm": "virtual_machine", "may_in": "printer", "may_quet": "scanner",
    "bo_chuyen_mach": "switch", "thiet_bi_chuyen_mach": "switch", "bo_dinh_tuyen": "router",
    "tuong_lua": "firewall", "diem_truy_cap": "access_point", "bo_phat_wifi": "access_point", "wifi": "access_point",
    "bo_luu_dien": "ups", "thiet_bi_luu_tru_mang": "nas", "khac": "other",
}

TEMPLATE_HEADERS = ("unit_code", "device_class", "expected", "needed", "asset_tag", "serial", "hostname",
                    "location", "responsible")
# The downloadable template's example rows: two counts and one named machine of the same unit.
TEMPLATE_ROWS = (("00070", "workstation", 30, 32, None, None, None, None, None),
                 ("00070", "printer", 4, 4, None, None, None, None, None),
                 ("00070", "workstation", None, None, "HK-PC-001", "5CG1234XYZ", "HK-MOTCUA-03",
                  "Bộ phận một cửa, bàn 3", "Nguyễn Thị B"))


def device_class(value: Any) -> str:
    """A class id from its id or a Vietnamese or English name; unknown names come back as written."""
    key = _key(value)
    return key if key in REGISTER_CLASSES else CLASS_NAMES.get(key, str(value or "").strip())


def _count(name: str, value: Any) -> Optional[int]:
    """A whole number from a cell (``30``, ``30.0`` from a spreadsheet); empty is None."""
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a whole number") from None


def _text(value: Any) -> Optional[str]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None if value is not None else None


def _columns(path: Path, header: list[Any]) -> dict[str, int]:
    keys = [_key(h) for h in header]
    where: dict[str, int] = {}
    for field, names in COLUMNS.items():
        for i, h in enumerate(keys):
            if h in names and field not in where:
                where[field] = i
    missing = [f for f in ("unit", "class") if f not in where]
    if "expected" not in where and not any(f in where for f in NAMING):
        missing.append("expected (or asset_tag, serial, hostname)")
    if missing:
        raise SheetError(f"{path}: row 1: missing column(s) {', '.join(missing)} "
                         f"(headers found: {', '.join(str(h) for h in header if h is not None)})")
    return where


def _row(number: int, cell: dict[str, Any]) -> RegisterRow:
    unit, cls = _unit_code(cell.get("unit")), device_class(cell.get("class"))
    text = {f: _text(cell.get(f)) for f in (*NAMING, "location", "responsible")}
    expected, needed = _count("expected", cell.get("expected")), _count("needed", cell.get("needed"))
    if any(text[f] for f in NAMING):
        if expected is not None:
            raise ValueError("a row is either a count (expected) or a named asset (asset_tag, serial, hostname), "
                             "not both")
        return RegisterRow(number, unit, cls, needed=needed, asset=UnitAsset(unit, cls, **text))
    return RegisterRow(number, unit, cls, expected, needed)


def read_register(path: Path, unit_codes: Iterable[str]) -> tuple[Register, list[str]]:
    """The register a sheet describes, and one message per bad row (``file: row N: problem; problem``)."""
    cells = _read_cells(path)
    if not cells:
        raise SheetError(f"{path}: empty file; expected a header row with unit_code, device_class, expected")
    where = _columns(path, cells[0])
    rows, problems = [], {}
    for number, values in enumerate(cells[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        try:
            rows.append(_row(number, {f: (values[i] if i < len(values) else None) for f, i in where.items()}))
        except ValueError as exc:
            problems[number] = [str(exc)]
    if not rows and not problems:
        raise SheetError(f"{path}: no data rows under the header")
    register, found = check_register(rows, unit_codes)
    for number, more in found.items():
        problems.setdefault(number, []).extend(more)
    return register, [f"{path.name}: row {n}: {'; '.join(p)}" for n, p in sorted(problems.items())]
