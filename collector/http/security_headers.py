"""Security headers on every response: the page, the API, errors, static files, /metrics.

The page runs no script and has no inline style (charts are coloured by
classes in page.css), so the policy allows nothing but the collector's own
stylesheet, its own images (the favicon), and GET forms back to itself; no
``script-src`` at all, so any injected script is refused by the browser.
Framing is refused twice (CSP ``frame-ancestors`` for current browsers,
``X-Frame-Options`` for old ones), no type sniffing, and no referrer leaks
unit pages to other sites. A response that set its own value keeps it.
"""
from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    # The names already set, looked at once: six ``setdefault`` calls each walked every header (25 us of a
    # report's request path).
    present = {name.lower() for name in response.headers.keys()}
    response.headers.extend([(name, value) for name, value in HEADERS.items() if name.lower() not in present])
    return response


def install(app: Flask) -> None:
    """Add the headers to every response of ``app``, error answers included."""
    app.after_request(add_security_headers)
