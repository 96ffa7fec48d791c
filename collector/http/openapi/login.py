"""The optional login (``serve --login``, ``http/login.py``) in the OpenAPI document.

The read endpoints (every GET under ``/api/v1`` without a token scheme of its
own) are open with ``--login none``, the default, and need a viewer with
``--login basic``. OpenAPI has no way to say "depends on how the server was
started", so their ``security`` lists both alternatives: the empty requirement
``{}`` (no credentials: the default, and what schemathesis and the read-API
test send) and ``viewerBasic``. A client that has credentials sends them; one
that does not is answered 401 (basic) or 403 (header mode), both documented.

``--login header`` is a reverse proxy's business (it signs the user in and
names them in a header that the collector believes only from
``--trusted-proxy`` addresses); a client never sends that header itself, so it
is described in words rather than as a security scheme a client could fill in.
"""
from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}

VIEWER_SCHEME = "viewerBasic"
VIEWER_SECURITY_SCHEME: dict[str, Any] = {
    "type": "http", "scheme": "basic",
    "description": (
        "Only when the collector runs with `serve --login basic`: a viewer of `--viewers-file` "
        "(`hdc-collector viewer add NAME --viewers-file FILE`), name and password in UTF-8. "
        "With `--login none` (the default) the read endpoints need no credentials. "
        "With `--login header` a reverse proxy signs the user in and names them in `--login-header` "
        "(default X-Remote-User), believed only from `--trusted-proxy` addresses: clients send nothing "
        "themselves, and a request that did not come through that proxy is answered 403."),
}
# Either no credentials (login off, or header mode behind the proxy) or a viewer's (login basic).
READ_SECURITY: list[dict[str, list[str]]] = [{}, {VIEWER_SCHEME: []}]

LOGIN_RESPONSES: dict[str, Any] = {
    "401": {"description": "`--login basic` only: no credentials, or not a viewer's (name and password)",
            "headers": {"WWW-Authenticate": {
                "description": 'Basic realm="hdc-readiness", charset="UTF-8"', "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": _ERROR}}},
    "403": {"description": ("`--login header` only: the request did not come from a `--trusted-proxy` address, "
                            "or the proxy named no signed-in user"),
            "content": {"application/json": {"schema": _ERROR}}},
}


def is_read_operation(path: str, method: str, operation: dict[str, Any]) -> bool:
    """A GET of the JSON read API: what ``--login`` guards (token-secured endpoints guard themselves)."""
    return method == "get" and path.startswith("/api/v1/") and "security" not in operation


def with_login(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with the login's security alternatives and refusals added to every read operation."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        out[path] = {method: ({**operation, "security": READ_SECURITY,
                               "responses": {**operation["responses"], **LOGIN_RESPONSES}}
                              if is_read_operation(path, method, operation) else operation)
                     for method, operation in item.items()}
    return out
