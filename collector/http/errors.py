"""The one JSON error shape of the HTTP API: ``{"error", "message", "status"[, "problems"]}``.

Every refusal a view or ``auth`` decides is an ``ApiError``; the app answers
it (and any other HTTP error) in this shape, so agents and scripts never
parse an HTML page. The foreign agents' blueprint answers the same errors
in the shape those agents read.
"""
from __future__ import annotations

from typing import Any, Optional

from flask import Response, jsonify
from werkzeug.exceptions import HTTPException

# Headers of a refusal that the client needs to act on it.
_KEPT_HEADERS = ("Retry-After", "WWW-Authenticate", "Allow")


class ApiError(Exception):
    """A refusal: HTTP status, a short reason (also the ingest metric's label), a message naming the field or
    the problem, optional per-item problems and headers; ``counted``: whether it counts as a refused report."""

    def __init__(self, status: int, reason: str, message: str, problems: Optional[list[dict]] = None,
                 headers: Optional[dict[str, str]] = None, counted: bool = True):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.problems, self.headers, self.counted = problems, headers or {}, counted


def error_response(exc: ApiError) -> Response:
    body: dict[str, Any] = {"error": exc.reason, "message": _text(exc.message), "status": exc.status}
    if exc.problems:
        body["problems"] = [{k: _text(v) if isinstance(v, str) else v for k, v in p.items()} for p in exc.problems]
    response = jsonify(body)
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


def _text(value: str) -> str:
    """A message that quotes what a client sent can hold a lone surrogate, which UTF-8 cannot carry: escaped."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def http_error_response(exc: HTTPException) -> Response:
    """Werkzeug's own errors (404, 405, 413...) in the same shape."""
    response = jsonify(error=exc.name, message=exc.description, status=exc.code)
    response.status_code = exc.code or 500
    original = exc.get_response().headers
    for header in _KEPT_HEADERS:
        if original.get(header):
            response.headers[header] = original[header]
    return response
