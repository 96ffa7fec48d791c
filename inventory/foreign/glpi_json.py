"""GLPI Agent JSON messages (GLPI 10+ native inventory): parse, then convert inventories.

A message is a JSON object with an ``action`` (``contact``, ``inventory``,
...; GLPI Agent treats a missing one as ``inventory``), the agent's
``deviceid`` and, for an inventory, ``content`` in the GLPI inventory format
(``inventory.schema.json`` of the glpi-project/inventory_format repository).
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .content import Conversion, Origin, convert_content
from .errors import ConversionError

# An inventory of a PC with every update listed holds some tens of thousands of objects.
MAX_CONTAINERS = 200_000


def parse_message(data: bytes) -> dict[str, Any]:
    """The message as a dict; :class:`ConversionError` when it is not a JSON object of the protocol."""
    # Counted before parsing: millions of tiny objects would cost seconds and gigabytes to build.
    containers = data.count(b"{") + data.count(b"[")
    if containers > MAX_CONTAINERS:
        raise ConversionError((), f"more than {MAX_CONTAINERS:,} JSON objects and arrays; an inventory has far fewer")
    try:
        message = json.loads(data.decode("utf-8-sig"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise ConversionError((), f"not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ConversionError((), f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except (ValueError, RecursionError) as exc:
        raise ConversionError((), f"not acceptable JSON: {str(exc) or 'nested too deeply'}") from exc
    if not isinstance(message, dict):
        raise ConversionError((), "a GLPI agent message is a JSON object")
    action = message.get("action", "inventory")
    if not isinstance(action, str):
        raise ConversionError(("action",), "expected text")
    deviceid = message.get("deviceid")
    if deviceid is not None and not isinstance(deviceid, str):
        raise ConversionError(("deviceid",), "expected text")
    return message


def action(message: dict[str, Any]) -> str:
    return str(message.get("action") or "inventory").lower()


def convert_message(message: dict[str, Any], origin: Origin) -> Conversion:
    """An ``inventory`` message -> report. ``origin.deviceid`` is taken from the message."""
    content = message.get("content")
    if not isinstance(content, dict):
        raise ConversionError(("content",), "required, an object" if content is None else "expected an object")
    itemtype = message.get("itemtype", "Computer")
    if itemtype not in ("Computer", "Unmanaged", None):
        raise ConversionError(("itemtype",), f"{str(itemtype)[:40]!r} is not a computer; only computers are judged")
    deviceid = message.get("deviceid")
    deviceid = deviceid.strip()[:100] if isinstance(deviceid, str) and deviceid.strip() else None
    return convert_content(content, replace(origin, deviceid=deviceid))


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")
