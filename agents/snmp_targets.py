"""The SNMP prober's targets file: which devices to read, with which credentials, how patiently.

Checked completely before any packet is sent, every mistake named with
file, line and field; secret files (community, SNMPv3 keys) must be readable
by their owner only, and their contents are never printed::

    concurrency: 8                   # devices read at the same time (default 8)
    timeout_seconds: 2               # per request (default 2)
    retries: 2                       # per request after the first try (default 2)
    defaults:                        # any target key, for every target
      version: 2c
      community_file: secrets/community   # first line is the community; relative to this file
    targets:
      - address: 10.10.0.2           # host, host:port or [IPv6]:port; UDP port 161 by default
        name: sw-core                # default: the device's sysName
        location: Tầng 1, phòng máy  # default: sysLocation
      - address: 10.10.0.3
        version: 3                   # SNMPv3 authPriv
        user: hdc-ro
        auth_protocol: sha256        # md5, sha, sha224, sha256, sha384, sha512
        auth_key_file: secrets/v3-auth
        priv_protocol: aes128        # des, 3des, aes128, aes192, aes256
        priv_key_file: secrets/v3-priv
        timeout_seconds: 5
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Optional, Union

from inventory.datafile import DataFile, DataFileError

from .errors import ConfigError
from .targets import open_targets

AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("des", "3des", "aes128", "aes192", "aes256")
_V2 = ("community_file",)
_V3 = ("user", "auth_protocol", "auth_key_file", "priv_protocol", "priv_key_file")
_TARGET_KEYS = ("address", "version", "name", "location", "timeout_seconds", "retries") + _V2 + _V3
_TOP_KEYS = ("concurrency", "timeout_seconds", "retries", "defaults", "targets")
_HOST = re.compile(r"^[A-Za-z0-9._-]+$")
_MIN_KEY = 8  # RFC 3414: USM keys shorter than 8 characters are refused


class SnmpTargetsError(DataFileError, ConfigError):
    """A targets file (or a secret file it names) the prober refuses; the message says where and why."""


class Credentials(NamedTuple):
    """What logs in; ``repr`` hides the secrets, so an error message can never quote them."""

    version: str
    community: Optional[str] = None
    user: Optional[str] = None
    auth_protocol: Optional[str] = None
    auth_key: Optional[str] = None
    priv_protocol: Optional[str] = None
    priv_key: Optional[str] = None

    def __repr__(self) -> str:
        return f"Credentials(version={self.version!r}, user={self.user!r}, secrets hidden)"


class SnmpTarget(NamedTuple):
    host: str
    port: int
    credentials: Credentials
    name: Optional[str]
    location: Optional[str]
    timeout: float
    retries: int
    line: int

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class SnmpTargets(NamedTuple):
    targets: tuple
    concurrency: int


def load_snmp_targets(path: Union[str, Path]) -> SnmpTargets:
    """Read and check ``path`` and the secret files it names; :class:`SnmpTargetsError` on the first problem."""
    doc, root, defaults = open_targets(path, SnmpTargetsError, _TOP_KEYS[:-1], _TARGET_KEYS, "address")
    base = Path(path).resolve().parent
    timeout = doc.number(root, "timeout_seconds", "timeout_seconds", 2, 0.1, 60)
    retries = int(doc.number(root, "retries", "retries", 2, 0, 10, integer=True))
    items = doc.sequence(root["targets"], "targets", doc.line(root, "targets"))
    if not items:
        doc.fail(doc.line(root, "targets"), "targets", "the list is empty")
    targets: list[SnmpTarget] = []
    seen: dict[tuple[str, Optional[str], Optional[str]], int] = {}
    for index, item in enumerate(items):
        field, line = f"targets[{index}]", doc.line(items, index)
        item = doc.mapping(item, field, line, optional=_TARGET_KEYS)
        target = _target(doc, {**defaults, **item}, item, defaults, field, line, base, timeout, retries)
        # One address may serve several agents by community or user (a proxy, a simulator); never twice the same.
        key = (target.label, target.credentials.community, target.credentials.user)
        if key in seen:
            doc.fail(line, f"{field}.address", f"{target.label} is listed twice with the same credentials "
                                               f"(first on line {seen[key]})")
        seen[key] = line
        targets.append(target)
    return SnmpTargets(tuple(targets), int(doc.number(root, "concurrency", "concurrency", 8, 1, 64, integer=True)))


def _target(doc: DataFile, merged: dict, item: Mapping[str, Any], defaults: Mapping[str, Any], field: str, line: int,
            base: Path, timeout: float, retries: int) -> SnmpTarget:
    def where(key: str) -> tuple[Mapping[str, Any], str]:
        return (item, f"{field}.{key}") if key in item else (defaults, f"defaults.{key}")

    def need(key: str) -> Any:
        if key not in merged:
            doc.fail(line, f"{field}.{key}", "required (here or under defaults)")
        return merged[key]

    address = need("address")
    host, port = _address(doc, address if isinstance(address, str) else "", item, field)
    version = str(need("version")).strip().lower()
    container, name = where("version")
    if version not in ("2c", "3"):
        doc.fail(doc.line(container, "version"), name, f"{merged['version']!r} is not 2c or 3 (SNMPv1 is not "
                                                       "supported: it cannot read 64-bit counters and has no security)")
    wrong = [k for k in (_V3 if version == "2c" else _V2) if k in item]
    if wrong:
        doc.fail(doc.line(item, wrong[0]), f"{field}.{wrong[0]}", f"does not apply to SNMP version {version}")
    if version == "2c":
        credentials = Credentials("2c", community=_secret(doc, merged, where, "community_file", base, line, field, 1))
    else:
        protocols = {}
        for key, known in (("auth_protocol", AUTH_PROTOCOLS), ("priv_protocol", PRIV_PROTOCOLS)):
            value = str(need(key)).strip().lower()
            if value not in known:
                container, name = where(key)
                doc.fail(doc.line(container, key), name, f"{value!r} is not one of {', '.join(known)}")
            protocols[key] = value
        container, name = where("user")
        user = doc.text(container, "user", name) if "user" in merged else need("user")
        credentials = Credentials("3", user=user, auth_protocol=protocols["auth_protocol"],
                                  auth_key=_secret(doc, merged, where, "auth_key_file", base, line, field, _MIN_KEY),
                                  priv_protocol=protocols["priv_protocol"],
                                  priv_key=_secret(doc, merged, where, "priv_key_file", base, line, field, _MIN_KEY))
    texts = {}
    for key in ("name", "location"):
        if key in merged:
            container, name = where(key)
            texts[key] = doc.text(container, key, name)
    own_timeout = doc.number(where("timeout_seconds")[0], "timeout_seconds", where("timeout_seconds")[1],
                          timeout, 0.1, 60)
    own_retries = int(doc.number(where("retries")[0], "retries", where("retries")[1], retries, 0, 10,
                              integer=True))
    return SnmpTarget(host, port, credentials, texts.get("name"), texts.get("location"), own_timeout, own_retries,
                      line)


def _address(doc: DataFile, text: str, item: Mapping[str, Any], field: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` (a bare IPv6 address has no port)."""
    text, port = text.strip(), "161"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                doc.fail(doc.line(item, "address"), f"{field}.address", f"{text!r}: expected [IPv6]:port")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text
    if not host or not (_HOST.match(host) or ":" in host) or host.startswith("-"):
        doc.fail(doc.line(item, "address"), f"{field}.address", f"{text!r} is not a host name or address")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        doc.fail(doc.line(item, "address"), f"{field}.address", f"port {port!r} is not a number from 1 to 65535")
    return host, int(port)


def _secret(doc: DataFile, merged: dict, where, key: str, base: Path, line: int, field: str, shortest: int) -> str:
    """The first line of the secret file ``merged[key]``, after checking only its owner can read it."""
    if key not in merged:
        doc.fail(line, f"{field}.{key}", "required (here or under defaults)")
    container, name = where(key)
    path = base / os.path.expanduser(doc.text(container, key, name))
    at = doc.line(container, key)
    try:
        info = path.stat()
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            doc.fail(at, name, f"{path} can be read by group or others (mode {stat.S_IMODE(info.st_mode):o}); "
                               f"the secret in it must be the probe user's only: chmod 600 {path}")
        first = path.read_text(encoding="utf-8").splitlines()[:1]
    except (OSError, UnicodeDecodeError) as exc:
        doc.fail(at, name, f"cannot read {path}: {getattr(exc, 'strerror', None) or type(exc).__name__}")
    secret = first[0].strip() if first else ""
    if len(secret) < shortest:
        doc.fail(at, name, f"{path}: the first line is empty" if not secret else
                 f"{path}: the key on the first line is shorter than {shortest} characters, which SNMPv3 refuses")
    return secret

