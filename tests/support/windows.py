"""Windows without Windows: readers of recorded and hand-made wmic/reg exports, and the probe run on them."""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from agents.probe_windows import PowerShellCim, RegistryError, probe

HANDMADE = Path(__file__).resolve().parents[1] / "fixtures" / "windows"
LAPTOP_CIM = HANDMADE / "handmade-win11-laptop-cim.json"


# --- readers of wmic and reg exports ------------------------------------------------------------

def decode(path: Path) -> str:
    """Recordings are UTF-16 LE with a BOM; hand-made fixtures are UTF-8 so they read well in a diff."""
    data = path.read_bytes()
    if data.startswith(b"\xff\xfe"):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def read_wmi(path: Path) -> list:
    """``wmic /format:list`` -> one dict per instance: text values, None for empty, lists for ``{..}``."""
    instances, current = [], {}
    for line in decode(path).splitlines():
        if not line.strip():
            if current:
                instances.append(current)
                current = {}
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a Property=Value line: {line!r}"
        current[name] = _wmi_value(value)
    if current:
        instances.append(current)
    return instances


def _wmi_value(value: str) -> Any:
    if value == "":
        return None
    if value.startswith("{") and value.endswith("}"):
        inner = value[1:-1]
        return next(csv.reader([inner])) if inner else []
    return value


def read_reg(path: Path) -> dict:
    """``reg export`` -> {key path: {value name: value}}, values typed as winreg returns them.

    REG_SZ/REG_EXPAND_SZ -> str (unexpanded), REG_DWORD/REG_QWORD -> int,
    REG_MULTI_SZ -> list of str, anything else -> bytes; the default value's name is "".
    A string may span lines (it holds line breaks); a hex value wraps with a trailing backslash.
    """
    text = decode(path)
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    assert lines[0].strip() in ("Windows Registry Editor Version 5.00", "REGEDIT4"), path.name
    keys: dict = {}
    current, i = None, 1
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = keys.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: value outside a key: {line!r}"
        name, raw = _value_name(line)
        while raw.startswith('"') and not _closed(raw):
            raw += "\r\n" + lines[i]
            i += 1
        while not raw.startswith('"') and raw.endswith("\\"):
            raw = raw[:-1] + lines[i].lstrip()
            i += 1
        current[name] = _reg_value(raw)
    return keys


def _closed(raw: str) -> bool:
    """Whether a quoted value ends on this line: its closing quote is the last character."""
    i = 1
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] == '"':
            return i == len(raw) - 1
        i += 1
    return False


def _value_name(line: str) -> tuple:
    if line.startswith("@="):
        return "", line[2:]
    assert line.startswith('"'), line
    name, i = [], 1
    while line[i] != '"':
        if line[i] == "\\":
            i += 1
        name.append(line[i])
        i += 1
    assert line[i + 1] == "=", line
    return "".join(name), line[i + 2:]


def _reg_value(raw: str) -> Any:
    if raw.startswith('"'):
        assert raw.endswith('"'), raw
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if raw.startswith("dword:"):
        return int(raw[6:], 16)
    kind, _, data = raw.partition(":")
    assert kind.startswith("hex"), raw
    code = int(kind[4:-1], 16) if kind.startswith("hex(") else 3
    blob = bytes(int(b, 16) for b in data.split(",") if b.strip())
    if code in (1, 2):
        return blob.decode("utf-16-le").rstrip("\x00")
    if code == 7:
        return [s for s in blob.decode("utf-16-le").split("\x00") if s]
    if code == 4:
        return int.from_bytes(blob, "little")
    if code == 5:
        return int.from_bytes(blob, "big")
    if code == 11:
        return int.from_bytes(blob, "little")
    return blob


def children(keys: dict, parent: str) -> dict:
    """The direct subkeys of ``parent``, by their own name, as winreg.EnumKey would list them."""
    prefix = parent.lower() + "\\"
    return {path[len(prefix):]: values for path, values in keys.items()
            if path.lower().startswith(prefix) and "\\" not in path[len(prefix):]}


def handmade_reg(name: str) -> dict:
    return read_reg(HANDMADE / f"handmade-{name}.reg")


# --- the Windows probe on a hand-made laptop --------------------------------------------------

class FakeRegistry:
    """Keys from a ``reg export`` behind the probe's Registry interface (case-insensitive, like Windows)."""

    def __init__(self, keys: dict, denied: tuple = ()) -> None:
        self.keys = {k.lower(): v for k, v in keys.items()}
        self.names = {k.lower(): k for k in keys}  # subkey names keep their case
        self.denied = tuple(d.lower() for d in denied)

    def _check(self, path: str) -> None:
        if path.lower().startswith(self.denied):
            raise RegistryError(f"{path}: Access is denied")

    def values(self, path: str):
        self._check(path)
        path = path.lower()
        if path in self.keys:
            return dict(self.keys[path])
        return {} if any(k.startswith(path + "\\") for k in self.keys) else None

    def subkeys(self, path: str):
        self._check(path)
        prefix = path.lower() + "\\"
        below = [self.names[k][len(prefix):] for k in self.keys if k.startswith(prefix)]
        if not below and path.lower() not in self.keys:
            return None
        names = []
        for rest in below:
            name = rest.split("\\")[0]
            if name not in names:
                names.append(name)
        return names


def fake_powershell(tmp_path: Path, body: str) -> str:
    """An executable standing in for powershell.exe; it leaves its argv in argv.json."""
    script = tmp_path / "powershell"
    script.write_text(f"#!{sys.executable}\nimport json, sys, time\n"
                      f"json.dump(sys.argv[1:], open({str(tmp_path / 'argv.json')!r}, 'w'))\n{body}\n")
    script.chmod(0o755)
    return str(script)


def printing(path: Path) -> str:
    return f"sys.stdout.buffer.write(open({str(path)!r}, 'rb').read())"


def laptop_probe(tmp_path: Path, registry=None, body: str = None):
    exe = fake_powershell(tmp_path, body or printing(LAPTOP_CIM))
    return probe(registry or FakeRegistry(handmade_reg("win11-laptop")), PowerShellCim(exe, timeout=10).query,
                 system_drive="C:", architecture="AMD64")
