"""Optional login for the page, the JSON read API and the exports: real collector processes, a real nginx."""
from __future__ import annotations

import shutil
import stat
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator
from werkzeug.security import check_password_hash

from conftest import ROOT, CollectorProcess, free_port, need, start_collector, stop, ward_token
from support.nginx import start_nginx
from support.reports import windows_pc
from support.store import count

pytestmark = pytest.mark.integration

PASSWORD = "mật-khẩu-đủ-dài"
CHALLENGE = 'Basic realm="hdc-readiness", charset="UTF-8"'
# What a leader reads, what scripts read, what a meeting downloads: each must be behind the login.
PROTECTED = ["/", "/units/00070", "/work-items", "/static/page.css", "/api/v1/wards", "/api/v1/wards/00070",
             "/api/v1/summary", "/api/v1/milestones", "/api/v1/openapi.json", "/export/units.csv",
             "/export/units.xlsx", "/units/00070/devices.csv", "/no-such-page"]


def _viewer(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector.cli", "viewer", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def _add(path: Path, name: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return _viewer("add", name, "--viewers-file", str(path), "--password-stdin", stdin=password + "\n")


def _ingest(url: str, token: str, device: str) -> int:
    """An agent's report with its ward token and nothing else, as agents send it."""
    return requests.post(url + "/api/v1/reports", json=windows_pc(device=device),
                         headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code


def _output(collector: CollectorProcess) -> str:
    stop(collector.proc)
    return collector.output.text(settle=10)


@pytest.fixture(scope="module")
def one_viewer(tmp_path_factory) -> Path:
    """A viewers file naming "Nguyễn Lan" (``PASSWORD``), written once by the real command: each scrypt hash and
    each process of the command costs a second, and the tests below need that file only as a starting point."""
    path = tmp_path_factory.mktemp("one-viewer") / "viewers"
    done = _add(path, "Nguyễn Lan")
    assert done.returncode == 0, done.stderr
    return path


def _copy(viewers: Path, tmp_path: Path) -> Path:
    """A test's own copy of a viewers file (mode 0600 kept), which it may change."""
    path = tmp_path / "viewers"
    shutil.copy2(viewers, path)
    return path


# --- the viewers file and its command ---------------------------------------------------------------


def test_viewer_add_writes_a_0600_file_of_hashes_and_replaces_a_password(tmp_path):
    path = tmp_path / "viewers"
    done = _add(path, "Nguyễn Lan")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert PASSWORD not in text
    [line] = [row for row in text.splitlines() if not row.startswith("#")]
    name, _, hashed = line.partition(":")
    assert name == "Nguyễn Lan" and hashed.startswith("scrypt:")
    assert check_password_hash(hashed, PASSWORD) and not check_password_hash(hashed, PASSWORD + "x")

    # A file an editor left world-readable, with a comment of the operator's: replaced 0600, comment kept.
    with path.open("a", encoding="utf-8") as f:
        f.write("# phòng CNTT\n")
    path.chmod(0o644)
    assert _add(path, "tran.b", "another-password").returncode == 0
    again = _add(path, "Nguyễn Lan", "a-new-password")
    assert again.returncode == 0 and "changed the password" in again.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "# phòng CNTT" in text and text.count("Nguyễn Lan:") == 1
    hashed = next(row for row in text.splitlines() if row.startswith("Nguyễn Lan:")).partition(":")[2]
    assert check_password_hash(hashed, "a-new-password") and not check_password_hash(hashed, PASSWORD)
    listed = _viewer("list", "--viewers-file", str(path))
    assert listed.returncode == 0 and listed.stdout.splitlines() == ["Nguyễn Lan", "tran.b"]

    assert _viewer("remove", "tran.b", "--viewers-file", str(path)).returncode == 0
    assert _viewer("list", "--viewers-file", str(path)).stdout.splitlines() == ["Nguyễn Lan"]
    assert not [p for p in tmp_path.iterdir() if p.name != "viewers"]  # no temporary file left behind


@pytest.mark.parametrize("args, stdin, message", [
    (["add", "lan", "--password-stdin"], "short\n", "at least 8 characters"),
    (["add", "lan:x", "--password-stdin"], PASSWORD + "\n", "contains ':'"),
    (["add", " lan", "--password-stdin"], PASSWORD + "\n", "outer spaces"),
    (["add", "lan"], "", "--password-stdin"),                       # no terminal and no --password-stdin
    (["add", "lan", PASSWORD, "--password-stdin"], PASSWORD + "\n", "unexpected extra argument"),  # never argv
    (["add", "lan", "--password", PASSWORD], "", "No such option"),
    (["remove", "nobody"], "", "no viewer 'nobody'"),
])
def test_viewer_command_refuses_bad_input_in_one_line_and_changes_nothing(tmp_path, one_viewer, args, stdin,
                                                                          message):
    path = _copy(one_viewer, tmp_path)
    before = path.read_bytes()
    done = _viewer(*args, "--viewers-file", str(path), stdin=stdin)
    assert done.returncode != 0 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before


def test_viewer_command_refuses_to_edit_a_broken_file(tmp_path):
    path = tmp_path / "viewers"
    path.write_text("# viewers\nlan:hunter2-plain\n", encoding="utf-8")
    done = _add(path, "tran.b")
    assert done.returncode != 0 and f"{path}:2:" in done.stderr and "not a password hash" in done.stderr
    assert "hunter2" not in done.stderr  # what may be a password is never echoed
    assert path.read_text(encoding="utf-8") == "# viewers\nlan:hunter2-plain\n"


def test_unknown_names_cost_a_hash_like_known_ones(one_viewer):
    """Refusing an unknown name at once would tell a guesser which names exist."""
    from collector.http.viewers import Viewers

    viewers = Viewers(one_viewer)

    def timed(name: str) -> float:
        start = time.perf_counter()
        assert not viewers.check(name, "wrong-password")
        return time.perf_counter() - start

    known = statistics.median(timed("Nguyễn Lan") for _ in range(5))
    unknown = statistics.median(timed("nobody") for _ in range(5))
    assert known > 0.005  # a real, deliberately slow hash
    assert 0.33 < unknown / known < 3, (known, unknown)
    assert viewers.check("Nguyễn Lan", PASSWORD) and viewers.check("Nguyễn Lan", PASSWORD)  # the second from memory


# --- configuration errors at start-up -----------------------------------------------------------------


def _viewers_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "bad-viewers"
    path.write_text(body, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("make_args, message", [
    (lambda p: ["--login", "basic"], "--login basic needs --viewers-file"),
    (lambda p: ["--login", "basic", "--viewers-file", str(p / "missing")], "missing: cannot be read"),
    (lambda p: ["--login", "basic", "--viewers-file", _viewers_file(p, "# none yet\n")], "no viewers"),
    (lambda p: ["--login", "basic", "--viewers-file", _viewers_file(p, "\nlan:s3cret-pasted\n")],
     "bad-viewers:2: the value for viewer 'lan' is not a password hash"),
    (lambda p: ["--login", "basic", "--viewers-file", _viewers_file(p, "no colon here\n")],
     "bad-viewers:1: expected 'name:hash'"),
    (lambda p: ["--login", "basic", "--viewers-file",
                _viewers_file(p, "a:pbkdf2:sha256:1$x$y\nb:pbkdf2:sha256:1$x$y\na:pbkdf2:sha256:1$x$y\n")],
     "bad-viewers:3: viewer 'a' is already on line 1"),
    (lambda p: ["--login", "sso"], "'sso' is not one of"),
    (lambda p: ["--login", "header", "--trusted-proxy", "10.0.0.300"], "'10.0.0.300' is not an IP address"),
    (lambda p: ["--login", "header", "--login-header", "X Remote User"], "is not a header name"),
    (lambda p: ["--login", "header", "--login-header", "Authorization"], "is not a header name"),
    (lambda p: ["--login-header", "X-User"], "used only with --login header"),
    (lambda p: ["--viewers-file", str(p / "v")], "--viewers-file is used only with --login basic"),
    (lambda p: ["--protect-metrics"], "--protect-metrics needs --login"),
    (lambda p: ["--open-metrics"], "--open-metrics is used only with --login"),
    (lambda p: ["--login", "header"], "--login header needs --trusted-proxy ADDRESS"),
])
def test_bad_login_options_stop_start_up_with_one_clear_line(tmp_path, make_args, message):
    done = subprocess.run([sys.executable, "-m", "collector.cli", "serve", "--db",
                           f"sqlite:///{tmp_path / 'store.sqlite3'}", "--port", str(free_port()),
                           *make_args(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode != 0 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "s3cret" not in done.stderr


# --- basic mode ---------------------------------------------------------------------------------------


@pytest.fixture
def basic_collector(tmp_path, one_viewer):
    path = _copy(one_viewer, tmp_path)
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    # Many wrong passwords below, one path after another: the login's own throttle is tested in test_security.py.
    c = start_collector(db_url, "--login", "basic", "--viewers-file", str(path), "--login-rate-limit", "0")
    c.viewers = path
    try:
        yield c
    finally:
        if c.proc.poll() is None:
            stop(c.proc)


def _basic(name: str, password: str) -> tuple[bytes, bytes]:
    return name.encode("utf-8"), password.encode("utf-8")  # requests would encode str as Latin-1


def test_basic_login_guards_page_api_and_exports_but_not_agents_or_health(basic_collector):
    c = basic_collector
    for path in PROTECTED:
        for auth in (None, _basic("Nguyễn Lan", "wrong-password"), _basic("nobody", PASSWORD)):
            refused = requests.get(c.url + path, auth=auth, timeout=30)
            assert refused.status_code == 401, (path, auth, refused.status_code)
            assert refused.headers["WWW-Authenticate"] == CHALLENGE
            assert refused.headers["Cache-Control"] == "no-store"
    page = requests.get(c.url + "/", timeout=30)
    assert page.headers["Content-Type"].startswith("text/plain")
    assert 0 <= page.text.index("Cần đăng nhập") < page.text.index("Sign-in required")
    api = requests.get(c.url + "/api/v1/wards", timeout=30)
    assert api.json()["status"] == 401 and "Cần đăng nhập" in api.json()["message"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]  # refusals keep the headers

    # Agents keep their tokens and need no viewer; health checks stay open, /metrics is behind the login too.
    token = ward_token(c.db_url, "00070")
    assert _ingest(c.url, token, "dev-1") == 201
    assert count(c.db_url, "reports") == 1
    assert requests.get(c.url + "/healthz", timeout=30).status_code == 200
    assert requests.get(c.url + "/metrics", timeout=30).status_code == 401

    auth = _basic("Nguyễn Lan", PASSWORD)
    for path in PROTECTED[:-1]:
        answer = requests.get(c.url + path, auth=auth, timeout=30)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
        assert "no-store" in answer.headers["Cache-Control"]
    assert requests.get(c.url + "/no-such-page", auth=auth, timeout=30).status_code == 404
    assert "hdc_devices" in requests.get(c.url + "/metrics", auth=auth, timeout=30).text
    page = requests.get(c.url + "/", auth=auth, timeout=30).text
    assert '<li class="viewer" id="signed-in">Đăng nhập: Nguyễn Lan</li>' in page
    english = requests.get(c.url + "/?lang=en", auth=auth, timeout=30).text
    assert "Signed in: Nguyễn Lan" in english
    device = requests.get(c.url + "/api/v1/devices/dev-1", auth=auth, timeout=30)
    assert device.status_code == 200 and "dev-1" in device.text
    assert requests.get(c.url + "/api/v1/devices/dev-1", timeout=30).status_code == 401
    csv = requests.get(c.url + "/export/units.csv", auth=auth, timeout=30)
    assert csv.headers["Content-Type"].startswith("text/csv") and "00070" in csv.text

    log = _output(c)
    assert "basic login refused" in log
    for secret in (PASSWORD, "wrong-password", "Basic "):
        assert secret not in log


def test_viewers_file_changes_apply_without_restart_and_a_broken_edit_is_ignored(basic_collector):
    c = basic_collector
    assert requests.get(c.url + "/", auth=("tran.b", "second-password"), timeout=30).status_code == 401
    assert _add(c.viewers, "tran.b", "second-password").returncode == 0
    assert requests.get(c.url + "/", auth=("tran.b", "second-password"), timeout=30).status_code == 200

    good = c.viewers.read_text(encoding="utf-8")
    c.viewers.write_text(good + "oops-no-hash\n", encoding="utf-8")
    assert requests.get(c.url + "/", auth=("tran.b", "second-password"), timeout=30).status_code == 200
    assert _viewer("remove", "tran.b", "--viewers-file", str(c.viewers)).returncode != 0  # broken file
    c.viewers.write_text("\n".join(row for row in good.splitlines() if not row.startswith("tran.b:")) + "\n",
                         encoding="utf-8")
    assert requests.get(c.url + "/", auth=("tran.b", "second-password"), timeout=30).status_code == 401
    assert requests.get(c.url + "/", auth=_basic("Nguyễn Lan", PASSWORD), timeout=30).status_code == 200
    log = _output(c)
    assert f"{c.viewers}:" in log and "stay in force" in log
    assert "second-password" not in log


# --- header mode ----------------------------------------------------------------------------------------


def test_header_login_believes_a_trusted_proxy_only(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    c = start_collector(db_url, "--login", "header", "--trusted-proxy", "127.0.0.1", "--trusted-proxy", "::1")
    try:
        who = {"X-Remote-User": "Trần Thị Bình".encode("utf-8")}
        page = requests.get(c.url + "/", headers=who, timeout=30)
        assert page.status_code == 200
        assert '<li class="viewer" id="signed-in">Đăng nhập: Trần Thị Bình</li>' in page.text
        for path in PROTECTED[:-1] + ["/metrics"]:
            assert requests.get(c.url + path, headers=who, timeout=30).status_code == 200, path
            refused = requests.get(c.url + path, timeout=30)
            assert refused.status_code == 403 and "WWW-Authenticate" not in refused.headers, path
        assert "did not name a signed-in user" in requests.get(c.url + "/", timeout=30).text
        assert requests.get(c.url + "/", headers={"X-Remote-User": ""}, timeout=30).status_code == 403
        hostile = requests.get(c.url + "/", headers={"X-Remote-User": "<b>x</b>"}, timeout=30).text
        assert "&lt;b&gt;x&lt;/b&gt;" in hostile and "<b>x</b>" not in hostile
        # Pages are kept between compositions (web._kept_page), but a viewer's only for that viewer.
        other = requests.get(c.url + "/", headers={"X-Remote-User": "Lê Văn Cường".encode("utf-8")}, timeout=30)
        assert "Đăng nhập: Lê Văn Cường" in other.text and "Trần Thị Bình" not in other.text
        assert "Đăng nhập: Trần Thị Bình" in requests.get(c.url + "/", headers=who, timeout=30).text
        assert _ingest(c.url, ward_token(db_url, "00070"), "dev-1") == 201
        assert requests.get(c.url + "/healthz", timeout=30).status_code == 200
    finally:
        stop(c.proc)

    # The same header from a peer that is not a configured proxy is anybody's claim: refused.
    c = start_collector(db_url, "--login", "header", "--trusted-proxy", "10.9.9.9",
                        "--trusted-proxy", "fd00::/64", "--login-header", "X-Auth-User")
    try:
        for headers in ({"X-Auth-User": "lan"}, {"X-Remote-User": "lan"}, {}):
            refused = requests.get(c.url + "/api/v1/wards", headers=headers, timeout=30)
            assert refused.status_code == 403 and "reverse proxy" in refused.json()["message"]
        assert requests.get(c.url + "/", headers={"X-Auth-User": "lan"}, timeout=30).status_code == 403
        assert requests.get(c.url + "/metrics", timeout=30).status_code == 403  # behind the login by default
        assert _ingest(c.url, ward_token(db_url, "00070"), "dev-2") == 201
        assert requests.get(c.url + "/healthz", timeout=30).status_code == 200
    finally:
        log = _output(c)
    assert "not a --trusted-proxy" in log


# --- the OpenAPI document describes the login ---------------------------------------------------------


def _read_operations(doc: dict) -> list[tuple[str, dict]]:
    """Every GET the document puts behind the login (it lists viewerBasic among its security alternatives)."""
    found = [(path, item["get"]) for path, item in doc["paths"].items()
             if "get" in item and {"viewerBasic": []} in item["get"].get("security", [])]
    assert {"/api/v1/wards", "/api/v1/wards/{code}", "/api/v1/summary", "/api/v1/devices/{device_id}",
            "/api/v1/applications/{app_id}"} <= {path for path, _ in found}
    return found


def _refusals_match_the_document(url: str, doc: dict, expected: int, **request) -> None:
    examples = {"code": "00070", "device_id": "dev-1", "app_id": "misa"}
    for path, operation in _read_operations(doc):
        concrete = path.format(**examples)
        refused = requests.get(url + concrete, timeout=30, **request)
        documented = operation["responses"]
        # Exactly what the document promises this path, not merely "some 4xx".
        assert refused.status_code == expected and str(refused.status_code) in documented, (path, refused.status_code)
        answer = documented[str(refused.status_code)]
        schema = answer["content"]["application/json"]["schema"]
        assert refused.headers["Content-Type"].startswith("application/json"), path
        Draft202012Validator({**schema, "components": doc["components"]}).validate(refused.json())
        assert refused.json()["status"] == expected
        for header in answer.get("headers", {}):
            assert header in refused.headers, (path, header)


def test_openapi_document_describes_the_login_and_every_refusal_matches_it(basic_collector, tmp_path):
    c = basic_collector
    assert requests.get(c.url + "/api/v1/openapi.json", timeout=30).status_code == 401
    doc = requests.get(c.url + "/api/v1/openapi.json", auth=_basic("Nguyễn Lan", PASSWORD), timeout=30).json()
    scheme = doc["components"]["securitySchemes"]["viewerBasic"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "basic") and "--login header" in scheme["description"]
    # With the login off the same endpoints need nothing: the empty requirement is one of the alternatives.
    assert all(op["security"] == [{}, {"viewerBasic": []}] for _, op in _read_operations(doc))
    # Token-secured and open endpoints are not put behind the viewers' login.
    assert doc["paths"]["/api/v1/reports"]["post"]["security"] == [{"wardToken": []}]
    assert doc["paths"]["/api/v1/admin/audit"]["get"]["security"] == [{"adminToken": []}]
    assert "security" not in doc["paths"]["/healthz"]["get"]

    _refusals_match_the_document(c.url, doc, 401)
    _refusals_match_the_document(c.url, doc, 401, auth=_basic("Nguyễn Lan", "wrong-password"))

    # Header mode from a peer that is not the proxy: 403, as documented for the same paths.
    header = start_collector(f"sqlite:///{tmp_path / 'header.sqlite3'}", "--login", "header",
                             "--trusted-proxy", "10.9.9.9", "--open-metrics")
    try:
        _refusals_match_the_document(header.url, doc, 403, headers={"X-Remote-User": "lan"})
        assert requests.get(header.url + "/metrics", timeout=30).status_code == 200  # opted out explicitly
    finally:
        stop(header.proc)


def _nginx_auth_basic(tmp_path: Path, upstream: str, htpasswd: Path) -> tuple[subprocess.Popen, str]:
    """Debian's nginx signing users in with auth_basic and naming them to the collector, as the README shows."""
    need(shutil.which("nginx") is not None, "nginx not installed (Debian package 'nginx-light')")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_nginx(tmp_path / "nginx", f"""
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 8m;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        location / {{
            auth_basic "hdc-readiness";
            auth_basic_user_file {htpasswd};
            proxy_pass {upstream};
            proxy_set_header X-Remote-User $remote_user;
            proxy_set_header Authorization "";
        }}
        location ~ ^/(api/v1/reports|api/v1/admin/|api/v1/migration/declarations|inventory|ocsinventory|healthz) {{
            proxy_pass {upstream};
            proxy_set_header X-Remote-User "";
        }}
    }}""", url)
    return proc, url


def test_nginx_auth_basic_in_front_names_the_user_to_the_collector(tmp_path):
    need(shutil.which("openssl") is not None, "openssl not installed")
    hashed = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input="nginx-password\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"lan.nguyen:{hashed}\n")
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    c = start_collector(db_url, "--login", "header", "--trusted-proxy", "127.0.0.1")
    try:
        proxy, url = _nginx_auth_basic(tmp_path, c.url, htpasswd)
        try:
            assert requests.get(url + "/", timeout=30).status_code == 401  # nginx asks first
            forged = requests.get(url + "/", headers={"X-Remote-User": "admin"}, timeout=30)
            assert forged.status_code == 401
            auth = ("lan.nguyen", "nginx-password")
            page = requests.get(url + "/", auth=auth, headers={"X-Remote-User": "admin"}, timeout=30)
            assert page.status_code == 200
            assert "Đăng nhập: lan.nguyen" in page.text and "Đăng nhập: admin" not in page.text
            assert requests.get(url + "/api/v1/summary", auth=auth, timeout=30).status_code == 200
            assert requests.get(url + "/export/units.xlsx", auth=auth, timeout=30).status_code == 200
            # Agents go through the same proxy with their token alone.
            assert _ingest(url, ward_token(db_url, "00070"), "dev-1") == 201
            assert count(db_url, "reports") == 1
        finally:
            stop(proxy)
    finally:
        stop(c.proc)
