"""The agent's YAML configuration, checked completely before anything runs.

Ward IT officers edit this file by hand on hundreds of machines, so every
mistake is refused with the file, the line and the key, and the classic
YAML traps are named: an unquoted ward code ``00070`` is the octal number 56
to YAML, and ``70`` has lost its zeros. The token is never shown, not even in
the dataclass's repr.
"""
from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union, overload
from urllib.parse import urlsplit

import yaml

from inventory.nesting import BoundedLoader

from .errors import ConfigError

log = logging.getLogger(__name__)

# Where the service files keep state: systemd's StateDirectory, and ProgramData on Windows.
DEFAULT_OUTBOX_DIR = (os.path.join(os.environ.get("ProgramData", r"C:\ProgramData"), "hdc-agent", "outbox")
                      if os.name == "nt" else "/var/lib/hdc-agent/outbox")
DEVICE_CLASSES = ("workstation", "laptop", "server", "virtual_machine", "other")
# The report schema carries at most this many reachability results.
MAX_ENDPOINTS = 256
_WARD_CODE = re.compile(r"^[0-9]{5}$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # what an HTTP header carries safely
_INT_TAG = "tag:yaml.org,2002:int"

_KEYS = ("collector_url", "ward_code", "token", "token_file", "ca_bundle", "device_class",
         "hdc_endpoints", "outbox_dir", "outbox_max_reports", "outbox_max_mb", "timeout_seconds",
         "connect_timeout_seconds", "proxy", "retry_initial_seconds", "retry_max_seconds", "allow_insecure_http")


@dataclass(frozen=True)
class Endpoint:
    """An HDC service whose reachability from the ward is reported."""

    name: str
    url: str


@dataclass(frozen=True)
class AgentConfig:
    """A checked configuration. Paths are absolute (relative ones are taken from the file's folder).

    ``timeout_seconds`` bounds each wait for the collector's answer;
    ``connect_timeout_seconds`` bounds reaching it (TCP, proxy tunnel, TLS
    handshake), so a dead route fails fast while a slow store may still answer.
    ``proxy`` None means the environment's proxy settings (HTTPS_PROXY ...).
    """

    path: Path
    collector_url: str
    ward_code: str
    token: str = field(repr=False)
    ca_bundle: Optional[Path]
    device_class: Optional[str]
    hdc_endpoints: tuple
    outbox_dir: Path
    outbox_max_reports: int
    outbox_max_mb: float
    timeout_seconds: float
    allow_insecure_http: bool
    connect_timeout_seconds: float = 10.0
    proxy: Optional[str] = None
    retry_initial_seconds: float = 60.0
    retry_max_seconds: float = 3600.0

    @property
    def reports_url(self) -> str:
        """Where reports are posted: the collector's ingest API below ``collector_url``."""
        return self.collector_url.rstrip("/") + "/api/v1/reports"


class _Entry:
    """One key of the file: its value and where it was written."""

    def __init__(self, value: Any, node: yaml.Node) -> None:
        self.value = value
        self.node = node
        self.line = node.start_mark.line + 1


def load_config(path: Union[str, Path]) -> AgentConfig:
    """Read and check ``path``; raise :class:`ConfigError` on the first problem."""
    path = Path(path)
    entries = _read_entries(path)
    where = _Locator(path, entries)
    for key, entry in entries.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known keys: {', '.join(_KEYS)}"
            raise ConfigError(f"{path}:{entry.line}: unknown key {key!r}{hint}")
    base = path.resolve().parent
    insecure = _boolean(entries, "allow_insecure_http", where, default=False)
    retry_initial = _number(entries, "retry_initial_seconds", where, default=60, minimum=0, maximum=86400)
    return AgentConfig(
        path=path,
        collector_url=_collector_url(entries, where, insecure),
        ward_code=_ward_code(entries, where),
        token=_token(entries, where, base),
        ca_bundle=_ca_bundle(entries, where, base),
        device_class=_device_class(entries, where),
        hdc_endpoints=_endpoints(entries, where),
        outbox_dir=base / _string(entries, "outbox_dir", where, default=DEFAULT_OUTBOX_DIR),
        outbox_max_reports=int(_number(entries, "outbox_max_reports", where, default=500,
                                       minimum=1, maximum=100000, integer=True)),
        outbox_max_mb=_number(entries, "outbox_max_mb", where, default=100, minimum=1, maximum=100000),
        timeout_seconds=_number(entries, "timeout_seconds", where, default=30, minimum=1, maximum=600),
        allow_insecure_http=insecure,
        connect_timeout_seconds=_number(entries, "connect_timeout_seconds", where, default=10, minimum=1,
                                        maximum=600),
        proxy=_proxy(entries, where),
        retry_initial_seconds=retry_initial,
        retry_max_seconds=_number(entries, "retry_max_seconds", where, default=max(3600, retry_initial),
                                  minimum=retry_initial, maximum=7 * 86400),
    )


def _read_entries(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except PermissionError:
        raise ConfigError(f"{path}: configuration file not readable by this user") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: configuration file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration ({exc.strerror or exc})") from None
    try:
        root = yaml.compose(text, Loader=BoundedLoader)  # refuses nesting past MAX_DEPTH at its line, early
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{line}: not valid YAML ({problem})") from None
    if root is None:
        raise ConfigError(f"{path}: configuration file is empty")
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: the configuration must be a mapping of keys to values")
    constructor = yaml.SafeLoader("")
    entries: dict = {}
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        line = key_node.start_mark.line + 1
        if not isinstance(key, str) or not key:
            raise ConfigError(f"{path}:{line}: keys must be plain names")
        if key in entries:
            raise ConfigError(f"{path}:{line}: {key}: given twice (first on line {entries[key].line})")
        try:
            value = constructor.construct_object(value_node, deep=True)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}:{line}: {key}: unreadable value ({exc})") from None
        except (ValueError, OverflowError) as exc:  # what YAML took for a date or a number but is not one
            raise ConfigError(f"{path}:{line}: {key}: unreadable value ({exc})") from None
        entries[key] = _Entry(value, value_node)
    return entries


class _Locator:
    """Builds messages that point at the line of a key, or at the file when the key is missing."""

    def __init__(self, path: Path, entries: dict) -> None:
        self.path = path
        self.entries = entries

    def error(self, key: str, message: str, line: Optional[int] = None) -> ConfigError:
        if line is None and key in self.entries:
            line = self.entries[key].line
        if len(message) > 300:  # a pasted blob quoted back whole would bury the line and key
            message = message[:297] + "..."
        return ConfigError(f"{self.path}{f':{line}' if line else ''}: {key}: {message}")


def _present(entries: dict, key: str) -> bool:
    return key in entries and entries[key].value is not None


@overload
def _string(entries: dict, key: str, where: _Locator, default: str) -> str: ...
@overload
def _string(entries: dict, key: str, where: _Locator, default: None = None) -> Optional[str]: ...
def _string(entries: dict, key: str, where: _Locator, default: Optional[str] = None) -> Optional[str]:
    if not _present(entries, key):
        return default
    value = entries[key].value
    if not isinstance(value, str) or not value.strip():
        shown = "something else" if key == "token" else _kind(value)  # never echo a secret
        raise where.error(key, f"must be a non-empty text, got {shown}")
    return value.strip()


def _required(entries: dict, key: str, where: _Locator) -> str:
    value = _string(entries, key, where)
    if value is None:
        raise where.error(key, "required, missing")
    return value


def _boolean(entries: dict, key: str, where: _Locator, default: bool) -> bool:
    if not _present(entries, key):
        return default
    value = entries[key].value
    if not isinstance(value, bool):
        raise where.error(key, f"must be true or false, got {_kind(value)}")
    return value


def _number(entries: dict, key: str, where: _Locator, default: float, minimum: float, maximum: float,
            integer: bool = False) -> float:
    if not _present(entries, key):
        return default
    value = entries[key].value
    allowed = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise where.error(key, f"must be {'a whole number' if integer else 'a number'}, got {_kind(value)}")
    if not minimum <= value <= maximum:
        raise where.error(key, f"must be between {minimum:g} and {maximum:g}, got {value:g}")
    return value


def _ward_code(entries: dict, where: _Locator) -> str:
    if not _present(entries, "ward_code"):
        raise where.error("ward_code", 'required, missing (the 5-digit unit code in quotes, e.g. "00070")')
    entry = entries["ward_code"]
    node = entry.node
    if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG:
        if _WARD_CODE.match(node.value) and not node.value.startswith("0"):
            return node.value  # five digits without a leading zero lose nothing as a number
        if _WARD_CODE.match(node.value):
            raise where.error("ward_code", f'write it in quotes, ward_code: "{node.value}"; unquoted, '
                                           f"YAML reads {node.value} as the number {entry.value}")
        raise where.error("ward_code", f'must be the 5-digit code in quotes (e.g. "00070"); got the number '
                                       f"{node.value}, which has lost its leading zeros or is not a code")
    value = entry.value
    if not isinstance(value, str) or not _WARD_CODE.match(value):
        raise where.error("ward_code", f'must be exactly 5 digits in quotes, e.g. "00070"; got {value!r}')
    return value


def _collector_url(entries: dict, where: _Locator, insecure: bool) -> str:
    url = _required(entries, "collector_url", where)
    problem = _url_problem(url, ("https", "http"))
    if problem:
        raise where.error("collector_url", problem)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise where.error("collector_url", "must be the collector's base address, without ?query or #fragment")
    if parts.scheme == "http":
        if not insecure:
            raise where.error("collector_url", "must use https (plain http would expose the ward token); "
                                               "allow_insecure_http: true permits http to this machine only")
        if not _is_loopback(parts.hostname or ""):
            raise where.error("collector_url", "plain http is allowed only to this machine (127.0.0.1, ::1, "
                                               "localhost); use https for a collector elsewhere")
    return url


def _url_problem(url: str, schemes: tuple) -> Optional[str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in schemes:
        return f"must start with {' or '.join(s + '://' for s in schemes)}, got {url!r}"
    if not parts.hostname:
        return f"has no host name: {url!r}"
    if parts.username or parts.password:
        return "must not carry a user name or password (they would end up in logs)"
    if parts.scheme == "tcp" and port is None:
        return f"tcp:// needs a port, e.g. tcp://{parts.hostname}:443"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token(entries: dict, where: _Locator, base: Path) -> str:
    inline = _string(entries, "token", where)
    token_file = _string(entries, "token_file", where)
    if inline is not None and token_file is not None:
        raise where.error("token", "give token or token_file, not both")
    if inline is None and token_file is None:
        raise where.error("token_file", "required, missing (or give the token itself as token:)")
    if inline is not None:
        token, key = inline, "token"
        if os.name == "posix" and where.path.stat().st_mode & 0o077:
            log.warning("%s holds the token and is readable by other users; chmod 600 it, or use token_file",
                        where.path)
    else:
        assert token_file is not None  # both None was rejected above, so with no inline token the file is given
        key, file = "token_file", base / token_file
        try:
            token = file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise where.error(key, f"{file} not found") from None
        except PermissionError:
            raise where.error(key, f"{file} not readable by this user") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise where.error(key, f"cannot read {file} ({exc})") from None
        if os.name == "posix" and file.stat().st_mode & 0o077:
            log.warning("token file %s is readable by other users; chmod 600 it", file)
    if not token:
        raise where.error(key, "the token is empty")
    if not _TOKEN.match(token):
        raise where.error(key, "the token contains spaces or non-ASCII characters")
    return token


def _proxy(entries: dict, where: _Locator) -> Optional[str]:
    """An http:// proxy, the usual kind: HTTPS goes through it in a CONNECT tunnel, still verified end to end."""
    url = _string(entries, "proxy", where)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise where.error("proxy", "must not carry a user name or password (the configuration would leak them); "
                                   "ask for the agent's address to be allowed through the proxy instead")
    problem = _url_problem(url, ("http",))
    if problem:
        raise where.error("proxy", problem + " (HTTPS to the collector is tunnelled through an http:// proxy)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise where.error("proxy", f"must be just scheme, host and port, e.g. http://proxy.example:3128; got {url!r}")
    return url


def _ca_bundle(entries: dict, where: _Locator, base: Path) -> Optional[Path]:
    value = _string(entries, "ca_bundle", where)
    if value is None:
        return None
    path = base / value
    if not path.is_file():
        raise where.error("ca_bundle", f"{path} is not a file (a PEM file of CA certificates)")
    return path


def _device_class(entries: dict, where: _Locator) -> Optional[str]:
    value = _string(entries, "device_class", where)
    if value is not None and value not in DEVICE_CLASSES:
        raise where.error("device_class", f"must be one of {', '.join(DEVICE_CLASSES)}, got {value!r}")
    return value


def _endpoints(entries: dict, where: _Locator) -> tuple:
    if not _present(entries, "hdc_endpoints"):
        return ()
    entry = entries["hdc_endpoints"]
    if not isinstance(entry.value, list):
        raise where.error("hdc_endpoints", f"must be a list of {{name, url}} entries, got {_kind(entry.value)}")
    if len(entry.value) > MAX_ENDPOINTS:
        raise where.error("hdc_endpoints", f"at most {MAX_ENDPOINTS} endpoints (a report carries no more), "
                                           f"got {len(entry.value)}")
    endpoints: list[Endpoint] = []
    for index, (item, node) in enumerate(zip(entry.value, entry.node.value)):
        line = node.start_mark.line + 1
        key = f"hdc_endpoints[{index}]"
        if not isinstance(item, dict) or set(item) != {"name", "url"}:
            raise where.error(key, "must have exactly the keys name and url", line)
        name, url = item["name"], item["url"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
            raise where.error(f"{key}.name", "must be a text of 1 to 128 characters", line)
        if not isinstance(url, str):
            raise where.error(f"{key}.url", f"must be a URL, got {_kind(url)}", line)
        problem = _url_problem(url, ("https", "http", "tcp"))
        if problem:
            raise where.error(f"{key}.url", problem, line)
        if any(e.name == name.strip() for e in endpoints):
            raise where.error(f"{key}.name", f"{name!r} is used twice", line)
        endpoints.append(Endpoint(name.strip(), url))
    return tuple(endpoints)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"
