"""schemathesis against the real collector's own ``/api/v1/openapi.json``: every input the document forbids.

Negative generation turns each operation's schema around (wrong types,
values out of range, missing required fields, bodies that break the report
schema) and sends the result. The collector must refuse each with a 4xx and
a JSON message, never a 5xx, and ingest nothing. The read endpoints may
answer 200 to parameters they do not know, but never a 5xx.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from conftest import start_collector, stop
from support.fuzz import Judge, Tally, TokenPool, fuzz_settings, masked
from support.integrity import store_rows

pytestmark = pytest.mark.integration

WARD = "00070"


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    c = start_collector(f"sqlite:///{tmp_path_factory.mktemp('fuzz-openapi') / 'store.sqlite3'}")
    try:
        yield c
    finally:
        stop(c.proc)


@pytest.mark.long
def test_what_the_openapi_document_forbids_is_refused(collector):
    schema = schemathesis.openapi.from_url(collector.url + "/api/v1/openapi.json", timeout=30)
    tokens = TokenPool(collector.db_url, WARD, 40)
    judge = Judge(Tally("openapi-negative"), collector.url)
    before = store_rows(collector.db_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Operations without inputs cannot be sent anything the document forbids.
    with_inputs = [op for op in operations if op.body or op.path_parameters or op.query]
    assert any(op.method.upper() == "POST" and op.path == "/api/v1/reports" for op in with_inputs)

    unsatisfiable: list[str] = []
    for operation in with_inputs:
        full = 400 if operation.path == "/api/v1/reports" else 20

        @fuzz_settings(full)
        @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        def negative(case):
            post = operation.method.upper() == "POST"  # noqa: B023 - negative() runs within this very iteration
            headers = {"Authorization": f"Bearer {tokens.next()}"} if post else {}
            # Sent on our own requests session (schemathesis's own transport needs another urllib3).
            kwargs = case.as_transport_kwargs(base_url=collector.url, headers=headers)
            response = judge.session.request(**{**kwargs, "timeout": 60})
            if post:
                judge.check(response)
            else:
                # Read endpoints ignore query parameters they do not know, which negative generation adds,
                # so a 200 is a fair answer there; a 5xx never is.
                judge.tally.record(response.status_code, None)
                assert response.status_code < 500 and response.headers["Content-Type"].startswith(
                    "application/json"), (response.request.url, response.status_code, response.text[:300])

        try:
            negative()
        except Unsatisfiable:
            unsatisfiable.append(f"{operation.method.upper()} {operation.path}")  # nothing to negate in it

    figures = judge.tally.save(operations=[f"{op.method.upper()} {op.path}" for op in with_inputs],
                               nothing_to_negate=unsatisfiable)
    assert "POST /api/v1/reports" not in unsatisfiable
    assert figures["server_errors"] == 0
    assert masked(store_rows(collector.db_url), collector.db_url) == masked(before, collector.db_url)
