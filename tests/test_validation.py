"""Ingest validation checks a software list once per process and is still exactly the schema's verdict."""
from __future__ import annotations

import itertools
import json

import pytest

from collector.ingest.validation import ReportValidator
from collector.simulate import generate_fleet
from collector.store import bodies
from inventory.registry import load_registry
from inventory.schema import validate_report


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [json.dumps(d, ensure_ascii=False) for d in itertools.islice(generate_fleet(load_registry(), seed=5), 40)]


def _problems(validator: ReportValidator, text: str) -> list[str]:
    doc, body = bodies.parse(text)
    return [p.field for p in validator.problems(doc, body)]


def test_same_answers_as_the_schema_for_new_and_repeated_lists(texts):
    validator = ReportValidator()
    for text in texts + texts:  # the second time every list is known
        assert _problems(validator, text) == [p.field for p in validate_report(json.loads(text))] == []


def test_a_known_list_does_not_excuse_the_rest_of_the_report(texts):
    validator = ReportValidator()
    assert _problems(validator, texts[0]) == []
    doc = json.loads(texts[0])
    doc["ward_code"] = "7"
    doc["hardware"]["memory_bytes"] = 2 ** 70
    assert _problems(validator, json.dumps(doc)) == ["ward_code"]
    doc["ward_code"] = json.loads(texts[0])["ward_code"]
    assert _problems(validator, json.dumps(doc)) == ["hardware.memory_bytes"]


def test_a_body_cannot_show_a_known_list_and_deliver_another(texts):
    validator = ReportValidator()
    assert _problems(validator, texts[0]) == []
    known = json.dumps(json.loads(texts[0])["software"], ensure_ascii=False)
    # JSON keeps the last of two equal keys: the list checked must be that one, not the first.
    smuggled = texts[0][:-1] + ', "software": [{"name": 5}]}'
    assert known in smuggled and _problems(validator, smuggled)[0].startswith("software")
    # Known text under another schema version is checked again.
    doc = json.loads(texts[0])
    doc["schema_version"] = 1
    assert _problems(validator, json.dumps(doc, ensure_ascii=False)) == \
        [p.field for p in validate_report(doc)]


def test_a_rejected_list_is_rejected_every_time_and_memory_is_bounded(texts):
    validator = ReportValidator(max_known=2)
    doc = json.loads(texts[0])
    doc["software"][3]["version"] = 12
    bad = json.dumps(doc)
    assert _problems(validator, bad) == _problems(validator, bad) == ["software[3].version"]
    for text in texts[:5]:
        assert _problems(validator, text) == []
    assert len(validator) <= 2
    assert _problems(validator, bad) == ["software[3].version"]


@pytest.mark.parametrize("version", [[2], {"v": 2}, True, "2", None, 2.0])
def test_odd_schema_versions_are_refused_not_cached(texts, version):
    validator = ReportValidator()
    doc = json.loads(texts[0])
    doc["schema_version"] = version
    assert _problems(validator, json.dumps(doc)) == ["schema_version"]
    assert len(validator) == 0


@pytest.mark.parametrize("bad", [{"name": ""}, {"name": "x", "version": 12}, {"name": "x", "size": "1"},
                                 {"name": "x", "publisher": ["a"]}, "package", {"version": "1"}])
def test_a_new_list_of_known_packages_gets_the_schemas_answer(texts, bad):
    """First reports: packages other lists had are not walked again, and a bad one is named where it is."""
    validator = ReportValidator()
    for text in texts[:10]:
        assert _problems(validator, text) == []
    doc = json.loads(texts[10])
    known = [p for t in texts[:3] for p in json.loads(t)["software"]]
    doc["software"] = known[::-1] + [{"name": "a package no list had", "version": "1.0", "publisher": None}]
    good = json.dumps(doc, ensure_ascii=False)
    assert _problems(validator, good) == [] == [p.field for p in validate_report(json.loads(good))]
    for where in (0, len(known) // 2, len(doc["software"])):
        doc["software"].insert(where, bad)
        text = json.dumps(doc, ensure_ascii=False)
        expected = [p.field for p in validate_report(json.loads(text))]
        assert expected and expected[0].startswith(f"software[{where}]")
        assert _problems(validator, text) == expected
        del doc["software"][where]
    for where in (0, len(known) // 2, len(doc["software"]) - 1):
        # In place of a package of the last list found valid: the other packages are where they were then.
        kept, doc["software"][where] = doc["software"][where], bad
        text = json.dumps(doc, ensure_ascii=False)
        expected = [p.field for p in validate_report(json.loads(text))]
        assert expected and expected[0].startswith(f"software[{where}]")
        assert _problems(validator, text) == expected
        doc["software"][where] = kept


def test_a_left_out_list_is_taken_as_valid_only_when_known_under_the_reports_schema_version(texts):
    """A report whose list was left out (``bodies.elide``) is checked without it when this process, or the
    store's list facts (``trusted``), know the list valid under the report's schema version; otherwise the list
    is needed (the route then takes the report with its list put back)."""
    doc = json.loads(texts[0])
    sha = bodies.parse(texts[0])[1].sha256
    slim = bodies.join_software(json.dumps({k: v for k, v in doc.items() if k != "software"}), "null")
    trusted = {(doc["schema_version"], sha)}
    validator = ReportValidator(trusted=lambda version, digest: (version, digest) in trusted)

    def left_out(text: str) -> list[str]:
        parsed, body = bodies.parse(text)
        return [p.field for p in validator.problems(parsed, bodies.elide(body, sha))]

    assert left_out(slim) == []
    broken = json.loads(slim)
    broken["ward_code"] = "7"
    assert left_out(bodies.join_software(json.dumps({k: v for k, v in broken.items() if k != "software"}),
                                         "null")) == ["ward_code"]
    trusted.clear()
    with pytest.raises(bodies.ListNeeded):
        left_out(slim)
    assert len(validator) == 0  # what the store vouches for is not taken into the process's own memory
