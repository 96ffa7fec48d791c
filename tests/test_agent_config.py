"""The agent's YAML configuration: good files load, every mistake names file, line and key."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from agents.config import DEFAULT_OUTBOX_DIR, AgentConfig, ConfigError, Endpoint, load_config

SECRET = "s3cr3t-w4rd-t0k3n"


def write(tmp_path: Path, text: str, name: str = "agent.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    message = str(err.value)
    assert str(tmp_path / "agent.yaml") in message  # always names the file
    assert SECRET not in message
    return message


BASE = f'collector_url: https://collector.example:8443\nward_code: "00070"\ntoken: {SECRET}\n'


def test_full_configuration_loads_with_relative_paths_resolved(tmp_path):
    token_file = tmp_path / "secrets" / "token"
    token_file.parent.mkdir()
    token_file.write_text(SECRET + "\n")
    token_file.chmod(0o600)
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = load_config(write(tmp_path, """\
collector_url: https://collector.example:8443/
ward_code: "00070"
token_file: secrets/token
ca_bundle: ca.pem
device_class: workstation
hdc_endpoints:
  - {name: hdc-portal, url: "https://portal.hdc.example"}
  - name: hdc-dns
    url: tcp://10.0.0.53:53
outbox_dir: outbox
outbox_max_reports: 20
outbox_max_mb: 5
timeout_seconds: 12.5
"""))
    assert isinstance(config, AgentConfig)
    assert config.token == SECRET
    assert config.ward_code == "00070"
    assert config.reports_url == "https://collector.example:8443/api/v1/reports"
    assert config.ca_bundle == tmp_path.resolve() / "ca.pem"
    assert config.outbox_dir == tmp_path.resolve() / "outbox"
    assert config.hdc_endpoints == (Endpoint("hdc-portal", "https://portal.hdc.example"),
                                    Endpoint("hdc-dns", "tcp://10.0.0.53:53"))
    assert (config.outbox_max_reports, config.outbox_max_mb, config.timeout_seconds) == (20, 5, 12.5)
    assert config.device_class == "workstation" and config.allow_insecure_http is False


def test_minimal_configuration_gets_defaults_and_hides_the_token(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert config.outbox_dir == Path(DEFAULT_OUTBOX_DIR)
    assert (config.timeout_seconds, config.outbox_max_reports, config.hdc_endpoints) == (30, 500, ())
    assert config.device_class is None and config.ca_bundle is None
    assert SECRET not in repr(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ward_code = "00082"


def test_unquoted_ward_code_with_leading_zeros_is_refused_with_the_fix(tmp_path):
    message = refused(tmp_path, BASE.replace('"00070"', "00070"))
    assert ":2: ward_code:" in message
    assert 'ward_code: "00070"' in message and "the number 56" in message


def test_ward_code_that_lost_its_zeros_is_refused(tmp_path):
    message = refused(tmp_path, BASE.replace('"00070"', "70"))
    assert ":2: ward_code:" in message and "lost its leading zeros" in message


def test_unquoted_five_digit_code_without_leading_zero_loses_nothing(tmp_path):
    assert load_config(write(tmp_path, BASE.replace('"00070"', "25000"))).ward_code == "25000"


@pytest.mark.parametrize("value", ['"0070"', '"00070a"', '"hoan-kiem"'])
def test_ward_code_must_be_five_digits(tmp_path, value):
    assert "exactly 5 digits" in refused(tmp_path, BASE.replace('"00070"', value))


def test_unknown_key_is_named_with_line_and_suggestion(tmp_path):
    message = refused(tmp_path, BASE + "colector_url: https://x.example\n")
    assert ":4: unknown key 'colector_url'; did you mean collector_url?" in message


@pytest.mark.parametrize("missing, field", [("collector_url", "collector_url"), ("ward_code", "ward_code"),
                                            ("token", "token_file")])
def test_missing_required_key_is_named(tmp_path, missing, field):
    text = "".join(line + "\n" for line in BASE.splitlines() if not line.startswith(missing))
    message = refused(tmp_path, text)
    assert f": {field}: required, missing" in message


def test_plain_http_needs_the_explicit_switch_and_loopback(tmp_path):
    http = BASE.replace("https://collector.example:8443", "http://127.0.0.1:8080")
    assert "must use https" in refused(tmp_path, http)
    config = load_config(write(tmp_path, http + "allow_insecure_http: true\n"))
    assert config.allow_insecure_http and config.reports_url == "http://127.0.0.1:8080/api/v1/reports"
    remote = BASE.replace("https://collector.example:8443", "http://10.1.2.3") + "allow_insecure_http: true\n"
    assert "only to this machine" in refused(tmp_path, remote)


@pytest.mark.parametrize("url, expected", [("ftp://collector.example", "must start with https:// or http://"),
                                           ("https://", "has no host name"),
                                           ("https://user:pw@collector.example", "user name or password"),
                                           ("https://collector.example:99999", "not a valid URL"),
                                           ("https://collector.example/?x=1", "without ?query")])
def test_bad_collector_url_is_refused(tmp_path, url, expected):
    message = refused(tmp_path, BASE.replace("https://collector.example:8443", url))
    assert ":1: collector_url:" in message and expected in message


def test_missing_token_file_is_named(tmp_path):
    text = BASE.replace(f"token: {SECRET}", "token_file: /nonexistent/hdc-token")
    message = refused(tmp_path, text)
    assert ":3: token_file: /nonexistent/hdc-token not found" in message


def test_token_and_token_file_together_are_refused(tmp_path):
    assert "not both" in refused(tmp_path, BASE + "token_file: t\n")


@pytest.mark.parametrize("token", ["12345", '"two words"', '""'])
def test_odd_tokens_are_refused_without_being_echoed(tmp_path, token):
    message = refused(tmp_path, BASE.replace(f"token: {SECRET}", f"token: {token}"))
    assert ":3: token:" in message
    assert "12345" not in message and "two words" not in message


def test_group_readable_token_file_is_warned_about(tmp_path, caplog):
    token_file = write(tmp_path, SECRET, "token")
    token_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="agents.config"):
        load_config(write(tmp_path, BASE.replace(f"token: {SECRET}", "token_file: token")))
    assert "readable by other users" in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("line, expected", [
    ("timeout_seconds: thirty", ":4: timeout_seconds: must be a number, got the text 'thirty'"),
    ("timeout_seconds: 0", ":4: timeout_seconds: must be between 1 and 600, got 0"),
    ("timeout_seconds: true", "must be a number, got the boolean true"),
    ("outbox_max_reports: 2.5", ":4: outbox_max_reports: must be a whole number"),
    ("allow_insecure_http: yes please", ":4: allow_insecure_http: must be true or false"),
    ("device_class: desktop", ":4: device_class: must be one of workstation, laptop"),
    ("outbox_dir: [a, b]", ":4: outbox_dir: must be a non-empty text, got a list"),
    ("ca_bundle: /nonexistent/ca.pem", ":4: ca_bundle: /nonexistent/ca.pem is not a file"),
    ("hdc_endpoints: https://x.example", ":4: hdc_endpoints: must be a list"),
    ("outbox_dir: 2025-13-45", ":4: outbox_dir: unreadable value (month must be in 1..12)"),
])
def test_wrong_types_and_values_name_line_and_field(tmp_path, line, expected):
    assert expected in refused(tmp_path, BASE + line + "\n")


def test_bad_endpoint_is_located_by_its_own_line(tmp_path):
    text = BASE + ("hdc_endpoints:\n  - {name: a, url: 'https://a.example'}\n"
                   "  - {name: b, url: 'tcp://b.example'}\n")
    message = refused(tmp_path, text)
    assert ":6: hdc_endpoints[1].url: tcp:// needs a port" in message
    duplicate = BASE + "hdc_endpoints:\n  - {name: a, url: 'https://a.example'}\n  - {name: a, url: 'https://b'}\n"
    assert ":6: hdc_endpoints[1].name: 'a' is used twice" in refused(tmp_path, duplicate)
    extra = BASE + "hdc_endpoints:\n  - {name: a, url: 'https://a.example', port: 1}\n"
    assert ":5: hdc_endpoints[0]: must have exactly the keys name and url" in refused(tmp_path, extra)
    many = BASE + "hdc_endpoints:\n" + "".join(f"  - {{name: e{i}, url: 'https://e{i}.example'}}\n" for i in range(257))
    assert ":5: hdc_endpoints: at most 256 endpoints (a report carries no more), got 257" in refused(tmp_path, many)


def test_broken_files_are_refused_clearly(tmp_path):
    assert ":2: not valid YAML (mapping values are not allowed here)" in \
        refused(tmp_path, "collector_url: https://x\n  ward_code: '00070'\n")
    assert "configuration file is empty" in refused(tmp_path, "# nothing yet\n")
    assert "must be a mapping" in refused(tmp_path, "- collector_url\n")
    assert ":4: ward_code: given twice (first on line 2)" in refused(tmp_path, BASE + 'ward_code: "00082"\n')
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "absent.yaml")


def test_transport_and_retry_settings(tmp_path):
    config = load_config(write(tmp_path, BASE + "proxy: http://proxy.phuong.example:3128\n"
                                               "connect_timeout_seconds: 4\nretry_initial_seconds: 120\n"
                                               "retry_max_seconds: 7200\n"))
    assert config.proxy == "http://proxy.phuong.example:3128"
    assert (config.connect_timeout_seconds, config.timeout_seconds) == (4, 30)
    assert (config.retry_initial_seconds, config.retry_max_seconds) == (120, 7200)
    defaults = load_config(write(tmp_path, BASE))
    assert (defaults.proxy, defaults.connect_timeout_seconds) == (None, 10)
    assert (defaults.retry_initial_seconds, defaults.retry_max_seconds) == (60, 3600)


@pytest.mark.parametrize("lines, expected", [
    ("retry_initial_seconds: 600\nretry_max_seconds: 60\n", ":5: retry_max_seconds: must be between 600 and"),
    ("retry_initial_seconds: -1\n", ":4: retry_initial_seconds: must be between 0 and 86400"),
    ("connect_timeout_seconds: 0\n", ":4: connect_timeout_seconds: must be between 1 and 600"),
    ("proxy: https://proxy.example:3128\n", ":4: proxy: must start with http://"),
    (f"proxy: http://user:{SECRET}@proxy.example:3128\n", ":4: proxy: must not carry a user name or password"),
])
def test_bad_transport_and_retry_settings_are_refused(tmp_path, lines, expected):
    assert expected in refused(tmp_path, BASE + lines)
