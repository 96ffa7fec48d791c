"""GLPI and FusionInventory inventories from ../shared/data, converted the way the collector receives them."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from inventory.foreign import Origin, glpi_json, ocs_xml
from inventory.foreign.identity import digest

from conftest import need

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "data" / "glpi-inventory-format"
RECEIVED = datetime(2025, 11, 20, 3, 0, tzinfo=timezone.utc)


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    need(path.is_file(), f"GLPI inventory fixture not found: {path}")
    return path.read_bytes()


def convert(name: str):
    """JSON examples as GLPI Agent sends them, XML ones as FusionInventory does."""
    data = fixture(name)
    if name.endswith(".json"):
        return glpi_json.convert_message(glpi_json.parse_message(data), Origin("00070", "glpi", RECEIVED, digest(data)))
    return ocs_xml.convert_request(ocs_xml.parse_request(data), Origin("00070", "fusioninventory", RECEIVED,
                                                                      digest(data)))
