"""The simulated 126-unit fleet stored in-process once per run (the ``fleet`` fixture), and reading its pages."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Iterator, Optional

import pytest
from flask import Flask
from flask.testing import FlaskClient

from collector.app import create_app
from collector.context import Context, build_context
from collector.readiness.export import to_csv
from collector.register.importer import import_sheet
from collector.settings import Settings
from collector.simulate import generate_changes
from collector.simulate.register import generate_register

DEVICES_PER_UNIT = (3, 6)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    """An element of a parsed page: enough DOM to read what a person sees."""

    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)

    def text(self) -> str:
        return " ".join("".join(c if isinstance(c, str) else f" {c.text()} " for c in self.children).split())

    def iter(self) -> Iterator["Node"]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: Optional[str] = None, **attrs: str) -> list["Node"]:
        """Elements by tag and attributes (``attr=True`` only asks that it be present; ``_`` means ``-``)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and all(k in n.attrs and (v is True or n.attrs[k] == v) for k, v in want.items())]

    def find(self, tag: Optional[str] = None, **attrs: str) -> "Node":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    return builder.root


def number(text: str, lang: str = "vi") -> float:
    """A number as the page writes it (1.234,5 in Vietnamese, 1,234.5 in English)."""
    text = text.strip().rstrip("%")
    if lang == "vi":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    return float(text)


def ranking(page: Node, lang: str = "vi") -> dict[str, dict[str, float]]:
    """The ranking table: ward code -> column -> number, plus its status and passing share."""
    rows = {}
    for tr in page.find("table", id="units").find_all("tr", data_ward=True):
        row = {td.attrs["data-col"]: number(td.text(), lang) for td in tr.find_all("td", data_col=True)}
        row["status"] = tr.find("td", data_status=True).attrs["data-status"]
        pct = tr.find("td", data_pct="ratio").text()
        row["ratio_pct"] = None if pct == "—" else number(pct, lang)
        rows[tr.attrs["data-ward"]] = row
    return rows


@dataclass
class Fleet:
    db_url: str
    context: Context
    app: Flask
    reports: int

    def client(self) -> FlaskClient:
        return self.app.test_client()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory) -> Fleet:
    """Built on first use and shared by every test of the session (a plugin fixture: one instance per process).

    Under pytest-xdist the first worker that needs it builds it and leaves a copy of its store beside the
    workers' temp folders; another worker that needs it copies that store instead of building the same fleet
    again (the same reports, seeds and register: 20-odd seconds of a worker each time)."""
    here = tmp_path_factory.mktemp("fleet") / "fleet.sqlite3"
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return Fleet(f"sqlite:///{here}", *_build(f"sqlite:///{here}", tmp_path_factory))
    shared = tmp_path_factory.getbasetemp().parent  # one folder for the run, above every worker's own
    with open(shared / "fleet.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for the build instead of racing it
        built, count = shared / "fleet.sqlite3", shared / "fleet.json"
        if count.exists():
            shutil.copyfile(built, here)
            context = build_context(Settings(db_url=f"sqlite:///{here}"))
            return Fleet(f"sqlite:///{here}", context, create_app(context=context),
                         json.loads(count.read_text())["reports"])
        context, app, n = _build(f"sqlite:///{here}", tmp_path_factory)
        with closing(sqlite3.connect(here)) as source, closing(sqlite3.connect(built)) as copy:
            source.backup(copy)  # a whole, consistent copy, whatever the write-ahead log still holds
        count.write_text(json.dumps({"reports": n}))
        return Fleet(f"sqlite:///{here}", context, app, n)


def _build(db_url: str, tmp_path_factory) -> tuple[Context, Flask, int]:
    """The simulated fleet's reports ingested in this process, then the units' registers."""
    context = build_context(Settings(db_url=db_url))
    n = 0
    reports = generate_changes(context.registry, devices_per_unit=DEVICES_PER_UNIT)
    for doc in reports:
        context.ingestor.ingest(doc, json.dumps(doc, ensure_ascii=False))
        n += 1
    # The units' registers, as the demo imports them: some units without one, some with machines never reporting.
    now = datetime.now(timezone.utc)
    sheet = tmp_path_factory.mktemp("register") / "register.csv"
    sheet.write_bytes(to_csv(generate_register(reports.slots, 2025, now.date())))
    imported = import_sheet(context.engine, context.registry, sheet, "test", "simulated fleet", now, dry_run=False)
    assert not imported.errors, imported.errors[:5]
    return context, create_app(context=context), n
