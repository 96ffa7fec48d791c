"""The Prometheus text format of a registry, written as prometheus_client's ``generate_latest`` writes it, faster.

/metrics carries a series for every unit x rule, unit x application, unit x
class x verdict...: about 25,000 lines for Hanoi's 126 units. The client
library validates and escapes every metric and label name on every line,
which costs more than reading the store; here each distinct name is escaped
once (by the library's own functions) and each value formatted once per
scrape, so the output is the same, byte for byte (tests/test_exposition.py).
"""
from __future__ import annotations

import gc
import threading
import time
from typing import Any, Hashable, Iterable, Mapping, Optional, Protocol, Sequence, Union

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample, Timestamp
from prometheus_client.utils import floatToGoString

# What ``render`` writes, as Prometheus expects to be told (one charset; the format's own version, 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_TYPES = {"counter": "counter", "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram",
          "unknown": "untyped"}
_SUFFIX = {"counter": "_total", "info": "_info"}
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")
_MAX_KEPT_LINES = 200_000
# A collector's series text kept between scrapes: family name -> label values -> the line up to its value.
KeptLines = dict[str, dict[tuple, str]]


class Family(Protocol):
    """A family the collectors fill one series at a time: a RowGauge (the value a number) or prometheus_client's
    InfoMetricFamily (the value a dict of extra labels). Both are Metrics too."""

    name: str

    def add_metric(self, labels: Sequence[str], value: Any,
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None: ...


class RowGauge(GaugeMetricFamily):
    """A gauge family that keeps its series as (label values, value) rows; ``samples`` are made when asked for.

    /metrics adds thousands of series per scrape to a few families; making
    a Sample (and its label dict) for each, only for ``render`` to take it
    apart again, cost as much as the rest of the scrape. ``render`` writes
    the rows directly; every other reader (prometheus_client's own
    exposition, tests) sees ordinary samples. ``lines`` keeps each series'
    text up to its value from one scrape to the next (the same units, rules
    and applications every time): give every scrape's families of one
    collector the same ``KeptLines``.
    """

    def __init__(self, name: str, documentation: str, labels: Sequence[str] = (),
                 lines: Optional[KeptLines] = None):
        self.rows: list[tuple[Sequence[str], float]] = []
        super().__init__(name, documentation, labels=labels)
        self.label_names = tuple(labels)
        self.lines: dict[tuple, str] = {} if lines is None else lines.setdefault(name, {})

    @property
    def samples(self) -> list[Sample]:
        text = vars(self).get(_TEXT)
        if text is not None and not self.rows:  # a kept family written once: its rows went (``_written``)
            return [sample for family in text_string_to_metric_families(text) for sample in family.samples]
        return [Sample(self.name, dict(zip(self.label_names, values)), value, None)
                for values, value in self.rows]

    @samples.setter
    def samples(self, value: list) -> None:  # Metric.__init__ starts every family with no samples
        if value:
            raise ValueError("RowGauge keeps rows, not samples")

    def add_metric(self, labels: Sequence[str], value: float,
                   timestamp: Optional[Union[Timestamp, float]] = None) -> None:
        if timestamp is not None:
            raise ValueError("RowGauge series carry no timestamp")
        self.rows.append((labels, value))

    def add_rows(self, rows: Iterable[tuple[Sequence[str], float]]) -> None:
        """Many series at once, as (label values, value): what ``add_metric`` does, without a call per series."""
        self.rows += rows


_TEXT = "_hdc_text"  # a kept family's text, in its __dict__: None until render first writes it


class KeptFamilies:
    """A collector's families of its last scrape, given again while what they were made from is unchanged.

    A scrape of an unchanged store need not read the counts, work out the
    units' applications or write 20,000 series again: the collector keeps
    its families with a key of its inputs (cheap to read: counts and
    newest ids, object identities), and ``render`` keeps each kept family's
    text once written, so the next scrape with the same key costs the key's
    read. ``max_age`` bounds how long anything the key does not see (an
    operator's repair of the stored counts) can go unnoticed.
    """

    def __init__(self, max_age: float = 60.0):
        self.max_age = max_age
        self._kept: Optional[tuple[Hashable, list[Metric], float, Any]] = None  # key, families, until, extra

    def get(self, key: Hashable) -> Optional[tuple[list[Metric], Any]]:
        """The families kept with ``key`` (and what the collector kept beside them), or None."""
        kept = self._kept
        if kept is None or kept[0] != key or time.monotonic() >= kept[2]:
            return None
        return kept[1], kept[3]

    def keep(self, key: Hashable, families: list[Metric], extra: Any = None,
             for_seconds: Optional[float] = None) -> list[Metric]:
        """Keep ``families`` with ``key`` for at most ``for_seconds`` (``max_age`` if less or not given); the
        families must not change afterwards."""
        for family in families:
            vars(family).setdefault(_TEXT, None)  # written at the first render, unless ``prewritten``
        seconds = self.max_age if for_seconds is None else min(for_seconds, self.max_age)
        self._kept = (key, families, time.monotonic() + seconds, extra)
        return families

    def forget(self) -> None:
        """Make the next scrape compose its families again (the benchmark measures a changed store this way)."""
        self._kept = None


def forget_kept(registry: Collector) -> None:
    """Make every collector of ``registry`` that keeps families (a ``forget`` method) compose them again at the
    next scrape, as after a change to the store: what ``bench/scrape.py`` measures beside an unchanged store."""
    for collector in list(getattr(registry, "_collector_to_names", ())):
        forget = getattr(collector, "forget", None)
        if forget is not None:
            forget()


def row_gauge(families: Mapping[str, Family], name: str) -> RowGauge:
    """The family ``name`` of a collector's families, known to be a RowGauge (for ``add_rows``)."""
    family = families[name]
    assert isinstance(family, RowGauge), name
    return family


def render(registry: Collector) -> bytes:
    """``generate_latest(registry)`` (text format 0.0.4, names escaped with underscores).

    Written with Python's cyclic garbage collector paused: a scrape makes some 50,000 containers (rows, label
    tuples, lines) that all die when it returns, by their reference counts. Collections during the scrape would
    walk them again and again and move them to the oldest generation, which then sets off full collections that
    walk everything the process keeps (the overview and the plan: 280,000 objects at 150,000 devices), about a
    third of a scrape there (docs/benchmarks.md).
    """
    with _collector_paused:
        return _render(registry)


class _CollectorPause:
    """``gc.disable()`` while any thread is inside, left as it was found after the last one (a process that
    switched the collector off keeps it off)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = True

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1

    def __exit__(self, *_exc: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._was_enabled:
                gc.enable()


_collector_paused = _CollectorPause()


class Writer:
    """Writes families' text as ``render`` does: each distinct name escaped once (by the library's own functions)
    and each value formatted once for all the families one writer writes. A collector that keeps parts of a
    family's text (a unit's lines) writes them with the scrape's writer and joins them (``prewritten``)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[object, str] = {}
        self._values_nl: dict[object, str] = {}
        self._shapes: dict[str, tuple[list[tuple[int, str]], str]] = {}  # a RowGauge's label pieces and head

    def _name_of(self, raw: str) -> str:
        escaped = self._names.get(raw)
        if escaped is None:
            escaped = self._names[raw] = om.escape_metric_name(raw, om.UNDERSCORES)
        return escaped

    def _label_of(self, raw: str) -> str:
        key = "\0" + raw
        escaped = self._names.get(key)
        if escaped is None:
            escaped = self._names[key] = om.escape_label_name(raw, om.UNDERSCORES)
        return escaped

    def _value_of(self, raw: float) -> str:
        value = self._values.get(raw)
        if value is None:
            value = self._values[raw] = floatToGoString(raw)
        return value

    def _line(self, sample: Sample) -> str:
        value = self._value_of(sample.value)
        if sample.labels:
            labels = ",".join(f'{self._label_of(k)}="{_escape_value(v)}"' for k, v in sorted(sample.labels.items()))
            text = f"{self._name_of(sample.name)}{{{labels}}} {value}"
        else:
            text = f"{self._name_of(sample.name)} {value}"
        if sample.timestamp is not None:
            text += f" {int(float(sample.timestamp) * 1000):d}"
        return text + "\n"

    def header(self, metric: Metric) -> str:
        """The family's HELP and TYPE lines."""
        mname = self._name_of(metric.name + _SUFFIX.get(metric.type, ""))
        return f"# HELP {mname} {_doc(metric)}\n# TYPE {mname} {_TYPES.get(metric.type, metric.type)}\n"

    def rows(self, metric: RowGauge, rows: Iterable[tuple[Sequence[str], float]]) -> str:
        """The sample lines of ``rows`` (label values, value) of a RowGauge with labels, as its family writes them
        (its kept lines looked up and filled)."""
        out: list[str] = []
        self._rows(metric, rows, out)
        return "".join(out)

    def _rows(self, metric: RowGauge, rows: Iterable[tuple[Sequence[str], float]], out: list[str]) -> None:
        # The hot loop of a scrape (one pass per series): a family's kept lines are looked up by the label values
        # as given, and each distinct value is formatted once with its newline.
        lines = metric.lines
        if len(lines) > _MAX_KEPT_LINES:  # label values that come and go (endpoint targets) must not pile up
            lines.clear()
        shape = self._shapes.get(metric.name)
        if shape is None:  # worked out once per family and writer: a unit's few lines are written one unit at a time
            names = metric.label_names
            order = sorted(range(len(names)), key=names.__getitem__)
            shape = self._shapes[metric.name] = ([(i, f'{self._label_of(names[i])}="') for i in order],
                                                 self._name_of(metric.name) + "{")
        pieces, head = shape
        values_nl = self._values_nl
        kept, ended, append = lines.get, values_nl.get, out.append
        for labels, value in rows:
            labels = tuple(labels)
            text = kept(labels)
            if text is None:
                text = lines[labels] = head + ",".join([p + _escape_value(labels[i]) + '"' for i, p in pieces]) + "} "
            end = ended(value)
            if end is None:
                end = values_nl[value] = self._value_of(value) + "\n"
            append(text + end)

    def samples(self, metric: Metric) -> str:
        """The family's sample lines (and the extra families OpenMetrics suffixes make, with their headers)."""
        out: list[str] = []
        self._samples(metric, out)
        return "".join(out)

    def _samples(self, metric: Metric, out: list[str]) -> None:
        if isinstance(metric, RowGauge) and metric.label_names:
            self._rows(metric, metric.rows, out)
            return
        extra: dict[str, list[str]] = {}
        for sample in metric.samples:
            suffix = next((s for s in _OM_SUFFIXES if sample.name == metric.name + s), None)
            if suffix is None:
                out.append(self._line(sample))
            else:
                extra.setdefault(suffix, []).append(self._line(sample))
        for suffix, lines in sorted(extra.items()):
            name = self._name_of(metric.name + suffix)
            out.append(f"# HELP {name} {_doc(metric)}\n# TYPE {name} gauge\n")
            out.extend(lines)

    def family(self, metric: Metric, out: list[str]) -> None:
        """Append the whole family's text to ``out``."""
        out.append(self.header(metric))
        self._samples(metric, out)


def _doc(metric: Metric) -> str:
    return metric.documentation.replace("\\", r"\\").replace("\n", r"\n")


def prewritten(metric: Metric, text: str) -> Metric:
    """``metric`` written as ``text`` (its whole family: a ``Writer``'s header and sample lines), which ``render``
    gives as it is; its own rows are not read (keep none). Readers other than ``render`` read its samples back
    from the text (``RowGauge.samples``)."""
    vars(metric)[_TEXT] = text
    return metric


def _render(registry: Collector) -> bytes:
    writer = Writer()
    out: list[str] = []
    for metric in registry.collect():
        kept = vars(metric)
        if _TEXT in kept:  # a kept family (KeptFamilies): written once, then given again as it was written
            text = kept[_TEXT]
            if text is None:
                start = len(out)
                writer.family(metric, out)
                text = kept[_TEXT] = "".join(out[start:])
                del out[start:]
                _written(metric)
            out.append(text)
        else:
            writer.family(metric, out)
    return "".join(out).encode("utf-8")


def _written(metric: Metric) -> None:
    """Let a kept RowGauge's rows go once its text is written: tens of thousands of tuples that would outlive the
    scrape, walked and moved up by the garbage collector's next rounds and then by a full collection of the whole
    heap (docs/benchmarks.md); its ``samples`` are read back from the text instead (prometheus_client's parser),
    for the readers other than ``render``."""
    if isinstance(metric, RowGauge) and metric.label_names:
        metric.rows = []


def _escape_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value
