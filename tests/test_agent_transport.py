"""Talking to the collector safely: proxy, separate connect and read timeouts, reachability measured
step by step, backoff across runs, dropped reports told, and `hdc-agent status`. All on 127.0.0.1.
"""
from __future__ import annotations

import json
import socket
import ssl
import time
from pathlib import Path

import pytest

from agents.cli import main
from agents.config import Endpoint
from agents.outbox import Outbox
from agents.reachability import check_endpoint
from agents.sender import Outcome, Sender

from support.agent_env import TOKEN, closed_port, queued, run_agent, write_config
from support.proxy import ForwardProxy

pytestmark = pytest.mark.usefixtures("no_proxies")


@pytest.fixture
def collector(stub_collector):
    """Here ``collector`` is the stand-in on 127.0.0.1, not conftest's real collector process."""
    return stub_collector


@pytest.fixture
def proxy():
    server = ForwardProxy()
    yield server
    server.close()


# --- proxy -----------------------------------------------------------------------------------

def test_reports_go_through_the_configured_proxy(tmp_path, collector, proxy, capsys):
    config = write_config(tmp_path, collector.url, f"proxy: {proxy.url}\n")
    code, err = run_agent(config, capsys)
    assert (code, err) == (0, "")
    assert proxy.requests == [("POST", f"{collector.url}/api/v1/reports")]
    assert collector.posts()[0]["path"] == "/api/v1/reports" and queued(tmp_path) == []


def test_https_through_the_proxy_is_a_verified_tunnel(tmp_path, tls_collector, certificates, proxy, capsys):
    host_port = tls_collector.url.split("://")[1]
    untrusted = write_config(tmp_path, tls_collector.url, f"proxy: {proxy.url}\n")
    code, err = run_agent(untrusted, capsys)
    assert code == 2 and "not trusted" in err  # the tunnel does not switch verification off
    trusted = write_config(tmp_path, tls_collector.url, f"proxy: {proxy.url}\nca_bundle: {certificates / 'ca.pem'}\n")
    code, err = run_agent(trusted, capsys)
    assert (code, err) == (0, "")
    # The refused report and the new one, each through its own tunnel.
    assert proxy.requests == [("CONNECT", host_port)] * 3
    assert len(tls_collector.posts()) == 2


def test_proxy_with_credentials_or_a_path_is_refused(tmp_path, capsys):
    for proxy_url, expected in (("http://user:secret@proxy.example:3128", "must not carry a user name"),
                                ("http://proxy.example:3128/path", "just scheme, host and port"),
                                ("socks5://proxy.example:1080", "must start with http://")):
        config = write_config(tmp_path, "http://127.0.0.1:9", f"proxy: {proxy_url}\n")
        assert main(["run", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert expected in err and "secret" not in err


# --- connect and read timeouts ---------------------------------------------------------------

def full_backlog() -> tuple:
    """A listening socket whose accept queue is full: the kernel drops further SYNs, a connect hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    time.sleep(0.2)
    return server, fillers


def test_connect_timeout_is_separate_from_the_read_timeout():
    server, fillers = full_backlog()
    try:
        sender = Sender(f"http://127.0.0.1:{server.getsockname()[1]}/api/v1/reports", TOKEN,
                        timeout=30, connect_timeout=0.5)
        started = time.monotonic()
        result = sender.send(b"{}")
        assert time.monotonic() - started < 5
        assert result.outcome is Outcome.RETRY_LATER and "timed out" in result.message
    finally:
        for sock in (server, *fillers):
            sock.close()


def test_read_timeout_bounds_a_collector_that_never_answers():
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (in the backlog), never answers
    try:
        sender = Sender(f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1/reports", TOKEN,
                        timeout=0.5, connect_timeout=30)
        started = time.monotonic()
        result = sender.send(b"{}")
        assert time.monotonic() - started < 5
        assert result.outcome is Outcome.RETRY_LATER and "timed out" in result.message
    finally:
        silent.close()


# --- reachability, step by step --------------------------------------------------------------

def test_reachability_measures_connect_tls_and_status(tls_collector, certificates, collector):
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    tls_collector.answers = [(404, {}, b"")]
    good = check_endpoint(Endpoint("portal", tls_collector.url + "/x"), 2, context)
    assert (good.ok, good.tls, good.http_status, good.error) == (True, True, 404, None)
    assert good.connect_ms is not None and good.connect_ms >= 0
    assert good.to_report() == {"target": "portal", "url": tls_collector.url + "/x", "ok": True,
                                "latency_ms": good.answer_ms, "connect_ms": good.connect_ms, "tls_ok": True,
                                "tls_error": None, "http_status": 404, "failed_step": None, "via_proxy": False,
                                "error": None}
    untrusted = check_endpoint(Endpoint("portal", tls_collector.url + "/x"), 2)
    assert (untrusted.ok, untrusted.tls, untrusted.http_status) == (False, False, None)
    assert untrusted.error.startswith("TLS certificate not trusted") and untrusted.connect_ms is not None
    plain = check_endpoint(Endpoint("not-tls", collector.url.replace("http://", "https://") + "/"), 2, context)
    assert plain.tls is False and plain.error.startswith("TLS handshake failed")


def test_reachability_goes_through_the_proxy_too(collector, proxy, tls_collector, certificates):
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    http_check = check_endpoint(Endpoint("portal", collector.url + "/p?q=1"), 2, proxy=proxy.url)
    tls_check = check_endpoint(Endpoint("secure", tls_collector.url + "/s"), 2, context, proxy=proxy.url)
    assert (http_check.ok, http_check.http_status, tls_check.ok, tls_check.tls) == (True, 201, True, True)
    assert proxy.requests == [("HEAD", collector.url + "/p?q=1"), ("CONNECT", tls_collector.url.split("://")[1])]
    refused = check_endpoint(Endpoint("secure", f"https://127.0.0.1:{closed_port()}/"), 2, context, proxy=proxy.url)
    assert (refused.ok, refused.tls, refused.error) == (False, None, "proxy refused the tunnel (HTTP 502)")


# --- backoff across runs, status, dropped reports --------------------------------------------

def test_failed_runs_back_off_and_status_says_why(tmp_path, collector, capsys):
    config = write_config(tmp_path, collector.url, retry_initial=60)
    collector.answers = [(503, {}, b"store restarting")]
    code, err = run_agent(config, capsys)
    assert code == 1 and "HTTP 503" in err and "backing off after failed attempts" in err
    code, err = run_agent(config, capsys)  # inside the backoff: queued, not sent
    assert code == 1 and "2 report(s) kept" in err and len(collector.posts()) == 1

    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert "queued:            2 report(s)" in text and "oldest collected" in text
    assert "failures in a row: 1" in text and "(backoff)" in text and "last success:      never" in text
    assert "collector answered HTTP 503: store restarting" in text and TOKEN not in text

    Outbox(tmp_path / "outbox").release_hold()
    code, err = run_agent(config, capsys)
    assert (code, err) == (0, "") and len(collector.posts()) == 4
    assert main(["status", "--config", str(config), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["queued"], status["failures_in_a_row"], status["next_attempt_not_before"]) == (0, 0, None)
    assert status["last_success_at"] is not None and status["last_error"].endswith("store restarting")


def test_reports_dropped_from_a_full_outbox_are_told_in_the_next_report(tmp_path, collector, capsys):
    config = write_config(tmp_path, collector.url, "outbox_max_reports: 2\n")
    collector.answers = [(503, {}, b"")] * 3
    for _ in range(3):
        run_agent(config, capsys)
    assert len(queued(tmp_path)) == 2 and Outbox(tmp_path / "outbox").dropped_unreported() == 1
    code, _ = run_agent(config, capsys)
    assert code == 0
    newest = json.loads(collector.posts()[-1]["body"])
    assert "outbox: 1 earlier report(s) dropped unsent because the outbox was full (limit 2 reports, 100 MB)" \
        in newest["notes"]
    state = Outbox(tmp_path / "outbox").state()
    assert (state.dropped, state.dropped_total) == (1, 2)  # this run's own drop is told next time


def test_status_of_a_fresh_agent(tmp_path, capsys):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == f"outbox:            {tmp_path / 'outbox'}"
    assert "queued:            0 report(s), 0.0 KiB" in text and "next attempt:      at the next run" in text


def test_inline_token_in_a_world_readable_configuration_is_warned_about(tmp_path, capsys):
    config = write_config(tmp_path, "http://127.0.0.1:9")
    config.chmod(0o644)
    assert main(["status", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "holds the token and is readable by other users" in err and TOKEN not in err
    Path(config).chmod(0o600)
