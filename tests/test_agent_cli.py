"""hdc-agent end to end: `run` against a tiny collector on 127.0.0.1, the sender's outcomes, the
reachability checks, verified TLS, and `inventory --print` as a real subprocess.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from agents import __version__
from agents.builder import Facts, build_report
from agents.cli import main
from agents.config import Endpoint
from agents.outbox import Outbox
from agents.reachability import check_endpoints
from agents.sender import Outcome, Sender, _retry_after
from inventory.schema import validate_report

from conftest import need
from support.agent_env import TOKEN, closed_port, queued, run_agent, write_config

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("no_proxies")


@pytest.fixture
def collector(stub_collector):
    """Here ``collector`` is the stand-in on 127.0.0.1, not conftest's real collector process."""
    return stub_collector


# --- run: the outbox against a collector --------------------------------------------------

def test_run_delivers_with_bearer_token_and_empties_the_outbox(tmp_path, collector, capsys):
    code, err = run_agent(write_config(tmp_path, collector.url), capsys)
    assert (code, err) == (0, "")
    [post] = collector.posts()
    assert post["path"] == "/api/v1/reports"
    assert post["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert post["headers"]["Content-Type"] == "application/json"
    assert post["headers"]["Content-Encoding"] == "gzip" and len(post["wire"]) < len(post["body"]) / 4
    body = json.loads(post["body"])
    assert validate_report(body) == []
    assert body["ward_code"] == "00070" and body["agent"]["source"] == "agent"
    assert queued(tmp_path) == []


def test_run_keeps_the_report_on_503_and_resends_oldest_first(tmp_path, collector, capsys):
    config = write_config(tmp_path, collector.url)
    collector.answers = [(503, {}, b"database is restarting")]
    code, err = run_agent(config, capsys)
    assert code == 1
    assert err.count("\n") == 1 and "HTTP 503" in err and "1 report(s) kept" in err
    first_id = json.loads(collector.posts()[0]["body"])["report_id"]
    assert queued(tmp_path) == [first_id]
    collector.answers = [(200, {}, b"{}"), (201, {}, b"{}")]  # 200: the collector already knew the first
    code, err = run_agent(config, capsys)
    assert (code, err) == (0, "")
    retried, new = [json.loads(p["body"])["report_id"] for p in collector.posts()[1:]]
    assert retried == first_id and new != first_id
    assert queued(tmp_path) == []


def test_a_rejected_report_moves_aside_and_does_not_block_the_queue(tmp_path, collector, capsys):
    config = write_config(tmp_path, collector.url)
    collector.answers = [(503, {}, b"")]
    run_agent(config, capsys)
    bad_id = queued(tmp_path)[0]
    collector.answers = [(400, {"Content-Type": "application/json"},
                          json.dumps({"error": "invalid report", "errors": ["hardware.memory_bytes: -1"]}).encode()),
                         (201, {}, b"{}")]
    code, err = run_agent(config, capsys)
    assert code == 2 and err.count("\n") == 1
    assert "1 report(s) rejected by the collector (last: HTTP 400: invalid report" in err
    assert queued(tmp_path) == []
    assert len(collector.posts()) == 3
    rejected = tmp_path / "outbox" / "rejected"
    [report_file] = rejected.glob(f"*{bad_id}.json")
    assert "HTTP 400: invalid report; hardware.memory_bytes: -1" in \
        report_file.with_suffix(".reason.txt").read_text()


def test_retry_after_is_honoured_across_runs(tmp_path, collector, capsys):
    config = write_config(tmp_path, collector.url)
    collector.answers = [(429, {"Retry-After": "120"}, b"slow down")]
    code, err = run_agent(config, capsys)
    assert code == 1 and "HTTP 429" in err and "asked not to send before" in err
    code, err = run_agent(config, capsys)  # within the 120 s: nothing may be sent
    assert code == 1 and "asked not to send before" in err and "2 report(s) kept" in err
    assert len(collector.received) == 1 and len(queued(tmp_path)) == 2
    Outbox(tmp_path / "outbox").hold_until(time.time() - 1)  # the 120 s have passed
    code, err = run_agent(config, capsys)
    assert (code, err) == (0, "")
    assert len(collector.posts()) == 4 and queued(tmp_path) == []


def test_refused_token_keeps_the_report_and_says_so_without_the_token(tmp_path, collector, capsys):
    collector.answers = [(401, {}, b'{"error": "unknown token"}')]
    code, err = run_agent(write_config(tmp_path, collector.url), capsys)
    assert code == 2 and err.count("\n") == 1
    assert "refused the ward token (HTTP 401: unknown token)" in err and TOKEN not in err
    assert len(queued(tmp_path)) == 1


def test_redirects_are_not_followed_with_the_token(tmp_path, collector, capsys):
    collector.answers = [(307, {"Location": "http://127.0.0.1:9/steal"}, b"")]
    code, err = run_agent(write_config(tmp_path, collector.url), capsys)
    assert code == 2 and "redirects (HTTP 307) to http://127.0.0.1:9/steal" in err
    assert len(collector.received) == 1 and len(queued(tmp_path)) == 1


def test_unreachable_collector_means_retry_later(tmp_path, capsys):
    code, err = run_agent(write_config(tmp_path, f"http://127.0.0.1:{closed_port()}"), capsys)
    assert code == 1 and "cannot reach" in err and "for the next run" in err
    assert len(queued(tmp_path)) == 1


def test_https_collector_is_verified_against_the_ca_bundle(tmp_path, tls_collector, certificates, capsys):
    untrusted = write_config(tmp_path, tls_collector.url)
    code, err = run_agent(untrusted, capsys)
    assert code == 2 and "not trusted" in err and "ca_bundle" in err
    assert tls_collector.received == [] and len(queued(tmp_path)) == 1
    trusted = write_config(tmp_path, tls_collector.url, f"ca_bundle: {certificates / 'ca.pem'}\n")
    code, err = run_agent(trusted, capsys)
    assert (code, err) == (0, "")
    assert len(tls_collector.posts()) == 2 and queued(tmp_path) == []


def test_retry_after_http_date_is_understood_and_capped():
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert 55 <= _retry_after(in_a_minute) <= 60
    assert _retry_after("999999999") == 24 * 3600
    assert _retry_after("soon") is None and _retry_after(None) is None


def test_sender_classifies_answers(collector):
    sender = Sender(collector.url + "/api/v1/reports", TOKEN, timeout=5)
    collector.answers = [(201, {}, b""), (413, {}, b"body too large"), (500, {}, b""), (404, {}, b"no such page")]
    outcomes = [sender.send(b"{}") for _ in range(4)]
    assert [o.outcome for o in outcomes] == [Outcome.ACKNOWLEDGED, Outcome.REJECTED, Outcome.RETRY_LATER,
                                             Outcome.MISCONFIGURED]
    assert outcomes[1].message == "body too large" and "is collector_url right?" in outcomes[3].message
    assert TOKEN not in repr(sender)


# --- reachability ----------------------------------------------------------------------------

def test_reachability_reports_answers_and_failures(collector):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection in the backlog, never answers
    try:
        collector.answers = [(200, {}, b""), (404, {}, b""), (503, {}, b"")]
        endpoints = [Endpoint("portal", collector.url + "/a"), Endpoint("missing-page", collector.url + "/b"),
                     Endpoint("broken", collector.url + "/c"),
                     Endpoint("down", f"http://127.0.0.1:{closed_port()}/"),
                     Endpoint("dns-port", f"tcp://127.0.0.1:{collector.server.server_address[1]}"),
                     Endpoint("silent", f"http://127.0.0.1:{silent.getsockname()[1]}/")]
        # One worker keeps the scripted answers in endpoint order.
        results = [check_endpoints([e], timeout=0.5)[0] for e in endpoints]
    finally:
        silent.close()
    assert [r["target"] for r in results] == [e.name for e in endpoints]
    assert [r["ok"] for r in results] == [True, True, False, False, True, False]
    assert results[2]["error"] == "HTTP 503" and results[2]["latency_ms"] >= 0
    assert results[3]["error"] == "connection refused" and results[3]["latency_ms"] is None
    assert results[5]["error"] == "timed out after 0.5 s"
    assert {r["method"] for r in collector.received} == {"HEAD"}
    facts = Facts(device={"id": "x", "id_source": "hostname", "hostname": "x", "class": "other"},
                  hardware={}, firmware={}, os={"family": "linux", "name": "x", "id": "x"})
    assert validate_report(build_report(facts, reachability=results)) == []


def test_reachability_verifies_tls(tls_collector, certificates):
    endpoint = [Endpoint("hdc-portal", tls_collector.url + "/")]
    [untrusted] = check_endpoints(endpoint, timeout=2)
    assert not untrusted["ok"] and untrusted["error"].startswith("TLS certificate not trusted")
    [trusted] = check_endpoints(endpoint, timeout=2, ca_bundle=certificates / "ca.pem")
    assert trusted["ok"] and trusted["error"] is None


# --- inventory --print and the command line ---------------------------------------------------

def test_inventory_print_with_config_checks_endpoints_and_sends_nothing(tmp_path, collector, capsys):
    config = write_config(tmp_path, collector.url,
                          f"hdc_endpoints:\n  - {{name: hdc-portal, url: '{collector.url}/'}}\n")
    assert main(["inventory", "--print", "--config", str(config)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ward_code"] == "00070"
    assert report["network"]["reachability"][0]["target"] == "hdc-portal"
    assert report["network"]["reachability"][0]["ok"] is True
    assert collector.posts() == [] and not (tmp_path / "outbox").exists()


def test_inventory_print_as_a_subprocess():
    script = shutil.which("hdc-agent", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                             os.environ.get("PATH", "")]))
    need(script is not None, "the hdc-agent console script is not installed")
    # This checkout first, so the test exercises the code under test whatever the install points at.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([script, "inventory", "--print"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert validate_report(report) == []
    assert report["ward_code"] == "00000" and report["agent"]["version"] == __version__
    assert done.stdout.startswith('{\n  "schema_version": 2,')  # indent 2


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hdc-agent {__version__}"


@pytest.mark.parametrize("argv_tail, expected", [
    (["run"], "the following arguments are required: --config"),
    (["inventory"], "the following arguments are required: --print"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_usage_errors_are_one_line_with_exit_2(argv_tail, expected, capsys):
    assert main(argv_tail) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and err.startswith("hdc-agent: ")


def test_bad_configuration_is_one_line_with_exit_2(tmp_path, capsys):
    config = tmp_path / "agent.yaml"
    config.write_text("collector_url: https://c.example\nward_code: 00070\ntoken: x\n")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{config}:2: ward_code: write it in quotes" in err


def test_unwritable_outbox_is_one_line_with_exit_2(tmp_path, capsys):
    (tmp_path / "outbox").write_text("a file where the outbox folder should be")
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "outbox") in err and "Traceback" not in err


def test_printed_report_is_exact_json_with_one_array_item_per_line():
    from agents.report_json import dumps

    facts = Facts(device={"id": "x", "id_source": "hostname", "hostname": "máy-01", "class": "other"},
                  hardware={}, firmware={}, os={"family": "linux", "name": "x", "id": "x"},
                  software=[{"name": "Phần mềm Một cửa", "version": "2.1", "publisher": None}] * 3)
    report = build_report(facts)
    text = dumps(report)
    assert json.loads(text) == report
    assert '    {"name": "Phần mềm Một cửa", "version": "2.1", "publisher": null}' in text.splitlines()
    assert text.startswith('{\n  "schema_version": 2,\n') and '"network": {\n    "reachability": []' in text


def test_a_compressed_report_refused_as_unreadable_goes_again_uncompressed(tmp_path, collector, capsys):
    """What a collector older than gzip support answers; the report must not be set aside for it."""
    collector.answers = [(400, {}, b'{"error": "malformed", "message": "body is not UTF-8 (byte 1)"}')]
    code, err = run_agent(write_config(tmp_path, collector.url), capsys)
    assert (code, err) == (0, "")
    compressed, plain = collector.posts()
    assert compressed["headers"]["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain["headers"]
    assert plain["wire"] == compressed["body"] and queued(tmp_path) == []
    assert not (tmp_path / "outbox" / "rejected").exists()
