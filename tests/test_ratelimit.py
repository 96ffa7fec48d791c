"""Ingest rate limits: the token buckets themselves, 429 + Retry-After from the real collector, and the
real agent keeping its report and waiting as long as it was told.

The bucket tests use a hand-driven clock, so they measure nothing; the
process tests configure limits so small that the outcome does not depend on
how fast this machine is.
"""
from __future__ import annotations

import json
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from agents.delivery_state import DeliveryState
from agents.outbox import Outbox
from collector.ingest.ratelimit import IngestLimiter, TokenBuckets, address_key
from collector.settings import Rate, RateLimits

from conftest import CollectorProcess, cli, start_collector, stop
from support.store import count

WARD = "00070"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the buckets -------------------------------------------------------------

def test_a_bucket_allows_its_burst_then_the_rate():
    clock = Clock()
    buckets = TokenBuckets(Rate(per_minute=6, burst=3), clock)  # one request per 10 s
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == pytest.approx(10.0)
    assert buckets.take("b") is None  # keys do not share
    clock.now += 4
    assert buckets.take("a") == pytest.approx(6.0)  # refused requests cost nothing
    clock.now += 6
    assert buckets.take("a") is None
    assert buckets.take("a") == pytest.approx(10.0)
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(10.0)  # never more than the burst


def test_a_switched_off_limit_lets_everything_through():
    buckets = TokenBuckets(Rate(per_minute=0, burst=0), Clock())
    assert all(buckets.take("a") is None for _ in range(10_000)) and len(buckets) == 0


def test_memory_stays_bounded_under_an_address_spray():
    clock = Clock()
    buckets = TokenBuckets(Rate(per_minute=60, burst=2), clock, max_keys=100)
    for i in range(1000):
        buckets.take(f"10.0.{i // 256}.{i % 256}")
        clock.now += 0.01
    assert len(buckets) <= 101
    clock.now += 10  # every bucket has refilled: forgetting them changes nothing
    buckets.take("192.0.2.1")
    assert all(buckets.take(f"10.0.0.{i}") is None for i in range(2))


def test_refusals_round_up_to_whole_seconds_and_name_the_limit():
    clock = Clock()
    limiter = IngestLimiter(RateLimits(token=Rate(per_minute=7, burst=1), address=Rate(per_minute=0, burst=0)),
                            clock)
    assert limiter.check_token("t1") is None and limiter.check_address("192.0.2.1") is None
    refusal = limiter.check_token("t1")
    assert refusal.retry_after == 9 and refusal.headers == {"Retry-After": "9"}  # 60/7 = 8.57 s
    assert "7 per minute, bursts of 1" in refusal.message
    clock.now += 8.5  # 0.07 s short of the next request
    assert limiter.check_token("t1").retry_after == 1  # never 0: that would invite an immediate retry


def test_ipv6_clients_are_counted_by_their_64():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_key("192.0.2.7") == "192.0.2.7"
    assert address_key(None) == "unknown"


@pytest.mark.parametrize("text, expected", [("120/240", Rate(120, 240)), ("30", Rate(30, 30)), ("0", Rate(0, 0)),
                                            ("0.5/1", Rate(0.5, 1))])
def test_rates_as_written_on_the_command_line(text, expected):
    assert Rate.parse(text) == expected


@pytest.mark.parametrize("text", ["abc", "10/x", "-5/1", "5/0", "inf", "nan/1", ""])
def test_bad_rates_are_refused_with_the_usage(text):
    with pytest.raises(ValueError, match="PER_MINUTE"):
        Rate.parse(text)


def test_serve_refuses_a_bad_limit_naming_the_option(tmp_path):
    done = cli("collector.cli", "serve", "--db", f"sqlite:///{tmp_path / 's.db'}", "--token-rate-limit", "5/0")
    assert done.returncode == 2 and "--token-rate-limit" in done.stderr and "PER_MINUTE" in done.stderr
    assert "Traceback" not in done.stderr


# --- the real agent --------------------------------------------------------------
# The collector asks the agent to wait up to 20 s; the wait runs out during the tests of the real collector
# above, which run in between (a module fixture starts it first), and the module's last test sees what follows.

PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


@dataclass
class HeldAgent:
    """An agent refused with 429 + Retry-After, and what it, its outbox and the collector said meanwhile."""

    collector: CollectorProcess
    config: Path
    outbox: Outbox
    runs: list[subprocess.CompletedProcess]
    held: DeliveryState  # the outbox's state after the refused run
    pending: list[int]  # reports in the outbox after each run
    stored: list[int]  # reports in the store after each run
    limited: list[float]  # the collector's rate_limited count after each run

    def run(self) -> subprocess.CompletedProcess:
        done = cli("agents.cli", "run", "--config", str(self.config), timeout=60)
        self.runs.append(done)
        self.pending.append(len(self.outbox.pending()))
        self.stored.append(count(self.collector.db_url, "reports"))
        self.limited.append(_rate_limited(self.collector.url))
        return done


@pytest.fixture(scope="module")
def held_agent(tmp_path_factory) -> Iterator[HeldAgent]:
    """Three runs of the agent: delivered, refused with Retry-After, held. Loopback traffic must not go through a
    proxy the environment names (agent subprocesses inherit the environment), for the module's duration."""
    tmp = tmp_path_factory.mktemp("retry-after")
    # One report, then one every 20 s: the second run is refused and told to wait up to 20 s.
    collector = start_collector(f"sqlite:///{tmp / 'store.sqlite3'}", "--token-rate-limit", "3/1",
                                "--address-rate-limit", "0")
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in PROXIES:
                patch.delenv(name, raising=False)
            config = tmp / "agent.yaml"
            config.write_text(f'collector_url: {collector.url}\nward_code: "{WARD}"\ntoken: {collector.token(WARD)}\n'
                              f"allow_insecure_http: true\noutbox_dir: {tmp / 'outbox'}\ntimeout_seconds: 10\n"
                              "connect_timeout_seconds: 2\nretry_initial_seconds: 1\n")
            config.chmod(0o600)
            outbox = Outbox(tmp / "outbox")
            agent = HeldAgent(collector, config, outbox, [], outbox.state(), [], [], [])
            agent.run()
            agent.run()
            agent.held = outbox.state()
            agent.run()  # within the wait: the agent queues its new report and sends nothing
            yield agent
    finally:
        stop(collector.proc)


@pytest.mark.integration
def test_the_agent_keeps_its_report_while_retry_after_holds(held_agent):
    first, second, third = held_agent.runs[:3]
    assert (first.returncode, first.stderr) == (0, "")
    assert second.returncode == 1 and "HTTP 429" in second.stderr and "(Retry-After)" in second.stderr
    state = held_agent.held
    assert held_agent.pending[1] == 1 and state.hold_reason == "retry-after"
    assert state.next_attempt is not None and state.last_attempt_at is not None
    waited = state.next_attempt - state.last_attempt_at
    assert 1 <= waited <= 20
    assert held_agent.stored[1] == 1 and held_agent.limited[1] == 1

    assert third.returncode == 1 and "collector asked not to send before" in third.stderr
    assert held_agent.pending[2] == 2 and held_agent.limited[2] == 1 and held_agent.stored[2] == 1


# --- the real collector --------------------------------------------------------

@pytest.fixture(scope="module")
def agent_report() -> dict:
    done = cli("agents.cli", "inventory", "--print")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _report(template: dict) -> dict:
    doc = json.loads(json.dumps(template))
    doc.update(ward_code=WARD, report_id=str(uuid.uuid4()))
    return doc


def _rate_limited(url: str) -> float:
    """The collector's count of reports refused for a rate; 0 before the first (its series starts with it)."""
    text = requests.get(url + "/metrics", timeout=30).text
    return next((s.value for f in text_string_to_metric_families(text) for s in f.samples
                 if s.name == "hdc_ingest_reports_total" and s.labels == {"result": "rate_limited"}), 0.0)


@pytest.mark.integration
def test_a_token_over_its_limit_gets_429_and_retry_after(db_url, agent_report):
    collector = start_collector(db_url, "--token-rate-limit", "1/2", "--address-rate-limit", "0")
    try:
        token, other = collector.token(WARD), collector.token(WARD)
        url = collector.url + "/api/v1/reports"

        def post(t: str) -> requests.Response:
            return requests.post(url, json=_report(agent_report), headers={"Authorization": f"Bearer {t}"},
                                 timeout=30)

        assert [post(token).status_code for _ in range(2)] == [201, 201]
        refused = post(token)
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited" and "this token" in refused.json()["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert post(other).status_code == 201  # another token of the same unit has its own bucket
        assert count(db_url, "reports") == 3
        assert _rate_limited(collector.url) == 1
    finally:
        stop(collector.proc)


@pytest.mark.integration
def test_an_address_over_its_limits_is_refused_and_failures_are_counted_apart(tmp_path, agent_report):
    """Valid requests spend the address's bucket; bad tokens spend a bucket of their own, after which that
    address's tokens are refused before any lookup. Neither touches the other."""
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    collector = start_collector(db_url, "--address-rate-limit", "1/2", "--failed-auth-rate-limit", "1/2",
                                "--token-rate-limit", "0")
    try:
        token = collector.token(WARD)
        url = collector.url + "/api/v1/reports"
        good = {"Authorization": f"Bearer {token}"}
        bad = {"Authorization": "Bearer hdc_0123456789abcdef_" + "x" * 43}
        assert requests.post(url, json=_report(agent_report), headers=bad, timeout=30).status_code == 401
        challenged = requests.post(collector.url + "/inventory", data=b"<REQUEST/>", timeout=30)
        assert challenged.status_code == 401 and challenged.headers["WWW-Authenticate"].startswith("Basic")
        # One bad token so far: valid tokens from the same address are untouched by it.
        assert [requests.post(url, json=_report(agent_report), headers=good, timeout=30).status_code
                for _ in range(2)] == [201, 201]
        flooded = requests.post(url, json=_report(agent_report), headers=good, timeout=30)
        assert flooded.status_code == 429 and "this address" in flooded.json()["message"]
        assert int(flooded.headers["Retry-After"]) >= 1
        foreign = requests.post(collector.url + "/inventory", data=b"<REQUEST/>", auth=(WARD, token),
                                headers={"Content-Type": "application/xml"}, timeout=30)
        assert foreign.status_code == 429 and foreign.json()["error"] == "rate_limited"
        # The second bad token spends the failures; from then on no token of this address is looked up.
        assert requests.post(url, json=_report(agent_report), headers=bad, timeout=30).status_code == 401
        guessed = requests.post(url, json=_report(agent_report), headers=bad, timeout=30)
        assert guessed.status_code == 429 and "failed authentications" in guessed.json()["message"]
        admin = requests.get(collector.url + "/api/v1/admin/tokens", timeout=30)
        assert admin.status_code == 429 and int(admin.headers["Retry-After"]) >= 1
        assert requests.get(collector.url + "/api/v1/wards", timeout=30).status_code == 200  # reading is not limited
        assert _rate_limited(collector.url) == 3
    finally:
        stop(collector.proc)


@pytest.mark.integration
def test_the_agent_waits_out_retry_after_then_sends_the_oldest_first(held_agent):
    """Last in the module: the wait has passed during the tests before, or is waited out here."""
    assert len(held_agent.runs) == 3 and held_agent.held.next_attempt is not None
    time.sleep(max(0.0, held_agent.held.next_attempt - time.time()) + 0.1)
    fourth = held_agent.run()  # the bucket holds one report again: the oldest goes, the rest wait once more
    assert fourth.returncode == 1 and "HTTP 429" in fourth.stderr
    assert held_agent.stored[3] == 2 and held_agent.pending[3] == 2
    assert held_agent.limited[3] == 2

