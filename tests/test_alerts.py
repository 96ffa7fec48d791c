"""Prometheus rules in dashboards/alerts: promtool's checks and unit tests, and what every rule must carry."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, need
from support.exposition import exposed_names

ALERTS = ROOT / "dashboards" / "alerts"
RULE_FILES = sorted(ALERTS.glob("*.yml"))
TEST_FILES = sorted((ALERTS / "tests").glob("*.yml"))
ANNOTATIONS = {"summary", "description", "summary_en", "description_en"}
SEVERITIES = {"critical", "warning", "info"}


def rules() -> list[dict]:
    return [r for f in RULE_FILES for g in yaml.safe_load(f.read_text("utf-8"))["groups"] for r in g["rules"]]


def unit_tests() -> list[dict]:
    return [t for f in TEST_FILES for t in yaml.safe_load(f.read_text("utf-8"))["tests"]]


def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    need(shutil.which("promtool") is not None, "promtool not installed (Debian package 'prometheus')")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_promtool_accepts_the_rule_files():
    assert RULE_FILES and TEST_FILES
    done = promtool("check", "rules", *map(str, RULE_FILES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_pass():
    done = promtool("test", "rules", *(p.name for p in TEST_FILES), cwd=ALERTS / "tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(TEST_FILES)


def test_every_rule_has_a_unit_test_that_expects_output():
    """An alert counts as tested only where a case expects it to fire, a recording rule where samples are expected."""
    fired = {case["alertname"] for t in unit_tests() for case in t.get("alert_rule_test", []) if case["exp_alerts"]}
    quiet = {case["alertname"] for t in unit_tests() for case in t.get("alert_rule_test", [])
             if not case["exp_alerts"]}
    sampled = {case["expr"] for t in unit_tests() for case in t.get("promql_expr_test", []) if case["exp_samples"]}
    alerts = {r["alert"] for r in rules() if "alert" in r}
    recorded = {r["record"] for r in rules() if "record" in r}
    assert len(alerts) >= 5 and alerts == fired == quiet
    assert recorded == sampled


@pytest.mark.parametrize("rule", [r for r in rules() if "alert" in r], ids=lambda r: r["alert"])
def test_alert_speaks_vietnamese_and_english_with_a_severity(rule):
    assert rule["labels"]["severity"] in SEVERITIES
    assert set(rule["annotations"]) == ANNOTATIONS
    assert all(rule["annotations"][k].strip() for k in ANNOTATIONS)
    # Vietnamese text carries its diacritics: a summary without any is English pasted twice.
    assert re.search(r"[ạ-ỹđơư]", rule["annotations"]["summary"] + rule["annotations"]["description"])


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r.get("alert") or r["record"])
def test_recording_rule_names_and_metric_names(rule, names):
    if "record" in rule:
        assert re.fullmatch(r"[a-z_]+:hdc_[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]
    recorded = {r["record"] for r in rules() if "record" in r}
    code = re.sub(r'"[^"]*"', '""', rule["expr"])  # label values are no metric names
    used = set(re.findall(r"\b(?:[a-z_]+:)?hdc_[a-z0-9_:]+", code))
    assert used and used <= names | recorded, used - names - recorded


@pytest.fixture(scope="module")
def names(tmp_path_factory) -> set[str]:
    return exposed_names(tmp_path_factory.mktemp("names") / "store.sqlite3")
