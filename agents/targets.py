"""The SSH prober's targets file: which hosts to read, how to log in, whose ward they are.

Checked completely before any connection is made, and every mistake is
named with file, line and field (through :mod:`inventory.datafile`'s
line-keeping YAML reader), so a ward officer editing it by hand is told
exactly what to fix::

    concurrency: 8                   # hosts read at the same time (default 8)
    connect_timeout_seconds: 10      # TCP connect, SSH banner and login (default 10)
    command_timeout_seconds: 60      # each command or file read (default 60)
    defaults:                        # any target key, for every target
      user: hdc-probe
      key_file: keys/id_ed25519      # relative paths are taken from this file's folder
      known_hosts: known_hosts       # default ~/.ssh/known_hosts
    targets:
      - host: 10.10.0.5
        ward: "00070"                # default: the configuration's ward
        device_class: server         # default: detected
      - host: appliance.ward70.local
        port: 2222
        trust_on_first_use: true     # accept and record an unknown host key once

A target's ward must be the configuration's: the configuration's token may
file reports for that ward only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Mapping, NamedTuple, Optional, Union, overload

from inventory.datafile import DataFile, DataFileError, decode, read_bytes

from .config import DEVICE_CLASSES
from .errors import ConfigError

_TARGET_KEYS = ("host", "port", "user", "key_file", "known_hosts", "ward", "device_class", "trust_on_first_use")
_TOP_KEYS = ("concurrency", "connect_timeout_seconds", "command_timeout_seconds", "defaults", "targets")
_DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class TargetsError(DataFileError, ConfigError):
    """A targets file the prober refuses; the message names file, line and field."""


class Target(NamedTuple):
    """One host to read. ``label`` names it in messages (``host:port``)."""

    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    ward: str
    device_class: Optional[str]
    trust_on_first_use: bool
    line: int

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


class Targets(NamedTuple):
    targets: tuple
    concurrency: int
    connect_timeout: float
    command_timeout: float


def open_targets(path: Union[str, Path], error: type, top_keys: tuple, target_keys: tuple, named_by: str
                 ) -> tuple[DataFile, Mapping[str, Any], Mapping[str, Any]]:
    """A probers' targets file read and its top level checked: the document, its root and its ``defaults``
    (which may not name the one key each target must have its own, ``named_by``)."""
    data, source = read_bytes(path, "", error)
    doc = DataFile(decode(data, source, error), source, error)
    if doc.root is None:
        doc.fail(1, "targets", "the file is empty; it needs a list of targets")
    root = doc.mapping(doc.root, "", 1, required=("targets",), optional=top_keys)
    defaults = root.get("defaults") or {}
    if "defaults" in root:
        defaults = doc.mapping(defaults, "defaults", doc.line(root, "defaults"), optional=target_keys)
        if named_by in defaults:
            doc.fail(doc.line(defaults, named_by), f"defaults.{named_by}",
                     f"a default {named_by} makes no sense; name it per target")
    return doc, root, defaults


def load_targets(path: Union[str, Path], ward_code: str) -> Targets:
    """Read and check ``path``; :class:`TargetsError` on the first problem. ``ward_code`` is the configuration's."""
    doc, root, defaults = open_targets(path, TargetsError, _TOP_KEYS[:-1], _TARGET_KEYS, "host")
    base = Path(path).resolve().parent
    items = doc.sequence(root["targets"], "targets", doc.line(root, "targets"))
    if not items:
        doc.fail(doc.line(root, "targets"), "targets", "the list is empty")
    targets = []
    seen: dict = {}
    for index, item in enumerate(items):
        field = f"targets[{index}]"
        item = doc.mapping(item, field, doc.line(items, index), optional=_TARGET_KEYS)
        target = _target(doc, item, defaults, field, doc.line(items, index), base, ward_code)
        if target.label in seen:
            doc.fail(target.line, f"{field}.host",
                     f"{target.label} is listed twice (first on line {seen[target.label]})")
        seen[target.label] = target.line
        targets.append(target)
    return Targets(tuple(targets),
                   int(doc.number(root, "concurrency", "concurrency", 8, 1, 64, integer=True)),
                   doc.number(root, "connect_timeout_seconds", "connect_timeout_seconds", 10, 1, 300),
                   doc.number(root, "command_timeout_seconds", "command_timeout_seconds", 60, 1, 3600))


def _target(doc: DataFile, item: Mapping[str, Any], defaults: Mapping[str, Any], field: str, line: int, base: Path,
            ward_code: str) -> Target:
    def pick(key: str) -> tuple:
        """The value, the mapping it came from and its dotted field name."""
        if key in item:
            return item[key], item, f"{field}.{key}"
        if key in defaults:
            return defaults[key], defaults, f"defaults.{key}"
        return None, None, f"{field}.{key}"

    @overload
    def text(key: str, required: Literal[True]) -> str: ...
    @overload
    def text(key: str, required: bool) -> Optional[str]: ...
    def text(key: str, required: bool) -> Optional[str]:
        value, where, name = pick(key)
        if where is None:
            if required:
                doc.fail(line, name, "required (here or under defaults)")
            return None
        return doc.text(where, key, name)

    host = text("host", True)
    if any(c.isspace() for c in host) or host.startswith("-"):
        doc.fail(doc.line(item, "host"), f"{field}.host", f"{host!r} is not a host name or address")
    ward = text("ward", False) or ward_code
    if ward != ward_code:
        _, where, name = pick("ward")
        doc.fail(doc.line(where, "ward"), name,
                 f"ward {ward} differs from the configuration's ward {ward_code}, whose token may file reports "
                 f"for {ward_code} only; probe ward {ward}'s hosts with ward {ward}'s configuration")
    device_class = text("device_class", False)
    if device_class is not None and device_class not in DEVICE_CLASSES:
        _, where, name = pick("device_class")
        doc.fail(doc.line(where, "device_class"), name,
                 f"{device_class!r} is not one of {', '.join(DEVICE_CLASSES)}")
    tofu, where, name = pick("trust_on_first_use")
    if where is not None and not isinstance(tofu, bool):
        doc.fail(doc.line(where, "trust_on_first_use"), name, "expected true or false")
    port, where, name = pick("port")
    if where is None:
        port = 22
    elif isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        doc.fail(doc.line(where, "port"), name, f"expected a port number 1 to 65535, got {port!r}")
    key_file = _file(doc, pick("key_file"), line, base, required=True)
    known_hosts = _file(doc, pick("known_hosts"), line, base, required=False)
    if known_hosts is None:
        known_hosts = Path(os.path.expanduser(_DEFAULT_KNOWN_HOSTS))
    if not tofu and not known_hosts.is_file():
        _, where, name = pick("known_hosts")
        doc.fail(doc.line(where, "known_hosts") if where is not None else line, name,
                 f"{known_hosts} is not a file; host keys are checked against it (collect them with "
                 f"ssh-keyscan and compare the fingerprints), or set trust_on_first_use: true for this target")
    return Target(host=host, port=port, user=text("user", True), key_file=key_file, known_hosts=known_hosts,
                  ward=ward, device_class=device_class, trust_on_first_use=bool(tofu), line=line)


@overload
def _file(doc: DataFile, picked: tuple, line: int, base: Path, required: Literal[True]) -> Path: ...
@overload
def _file(doc: DataFile, picked: tuple, line: int, base: Path, required: bool) -> Optional[Path]: ...
def _file(doc: DataFile, picked: tuple, line: int, base: Path, required: bool) -> Optional[Path]:
    value, where, name = picked
    key = name.rsplit(".", 1)[1]
    if where is None:
        if required:
            doc.fail(line, name, "required (here or under defaults)")
        return None
    path = base / os.path.expanduser(doc.text(where, key, name))
    if key == "key_file" and not path.is_file():
        doc.fail(doc.line(where, key), name, f"{path} is not a file (the private key to log in with)")
    return path

