"""The Prometheus text format of a registry, written as prometheus_client's ``generate_latest`` writes it, faster.

/metrics carries a series for every unit x rule, unit x application, unit x
class x verdict...: about 25,000 lines for Hanoi's 126 units. The client
library validates and escapes every metric and label name on every line,
which costs more than reading the store; here each distinct name is escaped
once (by the library's own functions) and each value formatted once per
scrape, so the output is the same, byte for byte (tests/test_exposition.py).
"""
from __future__ import annotations

from prometheus_client.openmetrics import exposition as om
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_TYPES = {"counter": "counter", "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram",
          "unknown": "untyped"}
_SUFFIX = {"counter": "_total", "info": "_info"}
_OM_SUFFIXES = ("_created", "_gsum", "_gcount")


def render(registry: Collector) -> bytes:
    """``generate_latest(registry)`` (text format 0.0.4, names escaped with underscores)."""
    names: dict[str, str] = {}
    values: dict[object, str] = {}

    def name_of(raw: str) -> str:
        escaped = names.get(raw)
        if escaped is None:
            escaped = names[raw] = om.escape_metric_name(raw, om.UNDERSCORES)
        return escaped

    def label_of(raw: str) -> str:
        key = "\0" + raw
        escaped = names.get(key)
        if escaped is None:
            escaped = names[key] = om.escape_label_name(raw, om.UNDERSCORES)
        return escaped

    def line(sample) -> str:
        value = values.get(sample.value)
        if value is None:
            value = values[sample.value] = floatToGoString(sample.value)
        if sample.labels:
            labels = ",".join(f'{label_of(k)}="{_escape_value(v)}"' for k, v in sorted(sample.labels.items()))
            text = f"{name_of(sample.name)}{{{labels}}} {value}"
        else:
            text = f"{name_of(sample.name)} {value}"
        if sample.timestamp is not None:
            text += f" {int(float(sample.timestamp) * 1000):d}"
        return text + "\n"

    out: list[str] = []
    for metric in registry.collect():
        mname = name_of(metric.name + _SUFFIX.get(metric.type, ""))
        doc = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {mname} {doc}\n# TYPE {mname} {_TYPES.get(metric.type, metric.type)}\n")
        extra: dict[str, list[str]] = {}
        for sample in metric.samples:
            suffix = next((s for s in _OM_SUFFIXES if sample.name == metric.name + s), None)
            if suffix is None:
                out.append(line(sample))
            else:
                extra.setdefault(suffix, []).append(line(sample))
        for suffix, lines in sorted(extra.items()):
            name = name_of(metric.name + suffix)
            out.append(f"# HELP {name} {doc}\n# TYPE {name} gauge\n")
            out.extend(lines)
    return "".join(out).encode("utf-8")


def _escape_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value
