"""Reading the package's data files, with errors that name file, line and field.

Every data file (baseline, catalog, lifecycle table, milestones, ward
registry) is read the same way: the shipped copy when no path is given, else
the file as UTF-8 (a BOM tolerated, as Windows editors write one), and a
file that cannot be read is refused with its path.

The YAML files are then parsed by :class:`DataFile`: PyYAML forgets line
numbers once it has built Python objects, so its loader keeps them beside the
values, refuses duplicate keys, and every complaint names file, line and
dotted field. Lists and mappings nested deeper than :data:`MAX_DEPTH` are
refused while PyYAML reads them (``inventory.nesting.BoundedLoader``), before it builds
the tree.
"""
from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, NoReturn, Optional, Sequence, Union

import yaml

from inventory.nesting import MAX_DEPTH, BoundedLoader

__all__ = ["MAX_DEPTH", "BoundedLoader", "DataFileError", "DataFile", "decode", "read_bytes", "read_data"]



class DataFileError(ValueError):
    """A YAML data file that cannot be trusted; the message names file, line and field."""


# --------------------------------------------------------------------------- reading

def read_bytes(path: Optional[Union[str, Path]], default_name: str,
               error: type[ValueError] = DataFileError) -> tuple[bytes, str]:
    """The bytes of ``path`` (or of the shipped ``data/<default_name>`` when None) and the source name."""
    if path is None:
        return resources.files("inventory").joinpath(f"data/{default_name}").read_bytes(), default_name
    try:
        return Path(path).read_bytes(), str(path)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc}") from exc


def decode(data: bytes, source: str, error: type[ValueError] = DataFileError) -> str:
    """``data`` as UTF-8 text, a leading BOM dropped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{source}: cannot read: {exc}") from exc


def read_data(path: Optional[Union[str, Path]], default_name: str,
              error: type[ValueError] = DataFileError) -> tuple[str, str]:
    """The text of ``path`` (or of the shipped ``data/<default_name>`` when None) and the source name.

    A file that cannot be read or is not UTF-8 raises ``error`` with
    ``<path>: cannot read: ...``.
    """
    data, source = read_bytes(path, default_name, error)
    return decode(data, source, error), source


# --------------------------------------------------------------------------- YAML with line numbers

class _Map(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line = 1

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}


class _Seq(list):
    """A YAML sequence that remembers the line of itself and of each item."""

    line = 1

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []


class _LineLoader(BoundedLoader):
    """BoundedLoader that keeps line numbers and refuses duplicate keys (PyYAML keeps the last one)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value",
                                                    key_node.start_mark) from None
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"field '{key}' appears twice (first on line {result.key_lines[key]})",
                key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.item_lines.append(item.start_mark.line + 1)
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    # PyYAML raises a bare ValueError for 2025-13-01; give it a line.
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a valid date ({exc})",
                                                node.start_mark) from None


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class DataFile:
    """One YAML data file being read: every complaint names its file, line and dotted field."""

    def __init__(self, text: str, source: str, error: type[DataFileError]):
        self.source = source
        self.error = error
        try:
            self.root = yaml.load(text, Loader=_LineLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            context = (f" ({exc.context} on line {exc.context_mark.line + 1})"
                       if exc.problem and exc.context and exc.context_mark else "")
            raise error(f"{source}: line {line}: not valid YAML: {exc.problem or exc.context}{context}") from exc
        except yaml.YAMLError as exc:
            raise error(f"{source}: not valid YAML: {exc}") from exc

    def fail(self, line: int, field: str, message: str) -> NoReturn:
        if len(message) > 300:  # a pasted blob quoted back whole would bury the line and field
            message = message[:297] + "..."
        raise self.error(f"{self.source}: line {line}: field '{field or '(document)'}': {message}")

    @staticmethod
    def line(container: Any, key: Any = None) -> int:
        """Line of ``container[key]`` (or of the container itself when key is None or unknown)."""
        if isinstance(container, _Map) and key in container.key_lines:
            return container.key_lines[key]
        if isinstance(container, _Seq) and isinstance(key, int) and 0 <= key < len(container.item_lines):
            return container.item_lines[key]
        return getattr(container, "line", 1)

    def mapping(self, value: Any, field: str, line: int, required: Iterable[str] = (),
                optional: Iterable[str] = ()) -> Mapping[str, Any]:
        """Check ``value`` is a mapping; given key lists, only those keys (a typo is named, not ignored)."""
        if not isinstance(value, dict):
            self.fail(line, field, f"expected a mapping, got {_kind(value)}")
        required, optional = tuple(required), tuple(optional)
        if required or optional:
            allowed = required + optional
            for key in value:
                if key not in allowed:
                    self.fail(self.line(value, key), f"{field}.{key}" if field else str(key),
                              f"unknown key; allowed: {', '.join(allowed)}")
            for key in required:
                if key not in value:
                    self.fail(self.line(value), f"{field}.{key}" if field else key, "required")
        return value

    def sequence(self, value: Any, field: str, line: int) -> Sequence[Any]:
        if not isinstance(value, list):
            self.fail(line, field, f"expected a list, got {_kind(value)}")
        return value

    def text(self, container: Any, key: Any, field: str) -> str:
        """``container[key]`` (a mapping's key or a list's index) as stripped, non-empty text."""
        value = container[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(self.line(container, key), field,
                      f"expected text, got {_kind(value)}" + (" (quote it)" if isinstance(value, (int, float)) else ""))
        return value.strip()

    def number(self, root: Mapping[str, Any], key: str, field: str, default: float, low: float, high: float,
               integer: bool = False) -> float:
        """``root[key]`` as a number from ``low`` to ``high`` (whole with ``integer``); ``default`` when absent."""
        if key not in root:
            return default
        value: Any = root[key]
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            self.fail(self.line(root, key), field, f"expected {'a whole number' if integer else 'a number'} "
                                                   f"from {low:g} to {high:g}, got {value!r}")
        return value

    def day(self, container: Mapping[str, Any], key: str, field: str) -> date:
        value = container[key]
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.fail(self.line(container, key), field, f"{value!r} is not a date (YYYY-MM-DD)")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text {value!r}"
    return f"{type(value).__name__} {value!r}"
