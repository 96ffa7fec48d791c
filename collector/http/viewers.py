"""The viewers file: who may read the page, the JSON API and the exports when ``--login basic`` is on.

One viewer a line, ``name:hash``, like an htpasswd file; ``#`` starts a
comment line, blank lines are ignored, the file is UTF-8. Only password
*hashes* are stored, made by werkzeug's ``generate_password_hash`` (scrypt by
default; pbkdf2 is accepted too): Flask already brings werkzeug, and a leaked
file then gives no password away. ``hdc-collector viewer add`` writes the
file (mode 0600, replaced atomically); a mistake in a hand-edited file is
reported with the file and line, and the hash itself is never echoed (it
might be a password pasted by mistake).

This module knows nothing of Flask: the request gate is ``http/login.py``.
"""
from __future__ import annotations

import hmac
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from werkzeug.security import check_password_hash, generate_password_hash

HEADER = "# hdc-readiness viewers: one 'name:hash' a line, written by 'hdc-collector viewer add'\n"
HASH_METHODS = ("scrypt:", "pbkdf2:")
MAX_NAME = 128
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# Successful checks remembered per process, so a page's stylesheet and favicon do not each cost
# a deliberately slow hash; failures are never remembered, so guessing stays slow.
MAX_REMEMBERED = 1024


class ViewersError(ValueError):
    """The viewers file or a viewer given on the command line is unusable; the message says where and why."""


def check_name(name: str) -> str:
    """A viewer name as HTTP Basic can carry it: no colon, no control characters, no outer spaces."""
    if not name:
        raise ViewersError("a viewer name cannot be empty")
    if len(name) > MAX_NAME:
        raise ViewersError(f"a viewer name has at most {MAX_NAME} characters")
    if ":" in name:
        raise ViewersError(f"viewer name {name!r} contains ':', which HTTP Basic cannot carry in a user name")
    if not name.isprintable() or name != name.strip() or name.startswith("#"):
        raise ViewersError(f"viewer name {name!r} has control characters, outer spaces or starts with '#'")
    return name


def check_password(password: str) -> str:
    """Short passwords are refused: the page shows every unit's readiness to whoever guesses one."""
    if len(password) < MIN_PASSWORD:
        raise ViewersError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ViewersError(f"the password has more than {MAX_PASSWORD} characters")
    return password


def _looks_hashed(value: str) -> bool:
    return value.startswith(HASH_METHODS) and value.count("$") == 2 and all(value.split("$"))


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    name: Optional[str] = None  # None: a comment or a blank line, kept as it is


def _parse(path: Path, text: str) -> list[_Line]:
    lines: list[_Line] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            lines.append(_Line(number, raw))
            continue
        name, colon, hashed = raw.partition(":")
        where = f"{path}:{number}"
        if not colon:
            raise ViewersError(f"{where}: expected 'name:hash' (run 'hdc-collector viewer add NAME "
                               f"--viewers-file {path}')")
        try:
            check_name(name)
        except ViewersError as exc:
            raise ViewersError(f"{where}: {exc}") from None
        if not _looks_hashed(hashed.strip()):
            raise ViewersError(f"{where}: the value for viewer {name!r} is not a password hash (scrypt:… or "
                               f"pbkdf2:…); never write a password here, use 'hdc-collector viewer add'")
        if name in seen:
            raise ViewersError(f"{where}: viewer {name!r} is already on line {seen[name]}")
        seen[name] = number
        lines.append(_Line(number, f"{name}:{hashed.strip()}", name))
    return lines


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ViewersError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ViewersError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def load(path: Path) -> dict[str, str]:
    """The viewers of ``path`` by name, with their hashes; raises ViewersError naming file and line."""
    return {line.name: line.text.partition(":")[2] for line in _parse(path, _read(path)) if line.name}


def set_viewer(path: Path, name: str, password: str) -> bool:
    """Add ``name`` or replace its password; comments and other viewers stay. True when it was new."""
    check_name(name)
    check_password(password)
    lines = _parse(path, _read(path)) if path.exists() else [_Line(0, HEADER.rstrip("\n"))]
    entry = f"{name}:{generate_password_hash(password)}"
    new = not any(line.name == name for line in lines)
    texts = [entry if line.name == name else line.text for line in lines] + ([entry] if new else [])
    _write(path, "\n".join(texts) + "\n")
    return new


def remove_viewer(path: Path, name: str) -> None:
    """Take ``name`` out of the file; a name that is not there is an error (a typo would look like success)."""
    lines = _parse(path, _read(path))
    if not any(line.name == name for line in lines):
        raise ViewersError(f"{path}: no viewer {name!r}")
    _write(path, "\n".join(line.text for line in lines if line.name != name) + "\n")


def _write(path: Path, text: str) -> None:
    """Write beside the file and rename over it: a reader sees the old or the new file, never half of one."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ViewersError(f"{path}: folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Viewers:
    """The viewers of one file, re-read when the file changes, checked in constant time per request.

    A viewer added with ``hdc-collector viewer add`` can sign in without a
    restart. A broken edit is refused: the previous viewers stay in force and
    ``reload_error`` says why (the gate logs it once).
    """

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self._table = load(path)
        if not self._table:
            raise ViewersError(f"{path}: no viewers; add one with 'hdc-collector viewer add NAME "
                               f"--viewers-file {path}'")
        self._key = secrets.token_bytes(32)
        self._remembered: set[bytes] = set()
        self._decoy = self._decoy_for(self._table)
        self.reload_error: Optional[str] = None

    def _stat(self) -> Optional[tuple[int, int, int]]:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    @staticmethod
    def _decoy_for(table: dict[str, str]) -> str:
        """A hash of a random password made like the file's own, checked for unknown names."""
        method = next(iter(table.values())).split("$", 1)[0]
        return generate_password_hash(secrets.token_urlsafe(16), method=method)

    def _refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            self._stamp = stamp
            try:
                table = load(self.path)
            except ViewersError as exc:
                self.reload_error = f"{exc}; the viewers loaded before stay in force"
                return
            self.reload_error = None
            self._table = table
            self._remembered = set()
            if table:
                self._decoy = self._decoy_for(table)

    def check(self, name: str, password: str) -> bool:
        """True when ``password`` is ``name``'s; an unknown name costs the same hash as a known one."""
        self._refresh()
        stored = self._table.get(name)
        digest = hmac.new(self._key, "\0".join((name, password, stored or "")).encode("utf-8", "surrogatepass"),
                          "sha256").digest()
        if stored is not None and digest in self._remembered:
            return True
        ok = check_password_hash(stored or self._decoy, password)
        if ok and stored is not None:
            if len(self._remembered) >= MAX_REMEMBERED:
                self._remembered = set()
            self._remembered.add(digest)
            return True
        return False
