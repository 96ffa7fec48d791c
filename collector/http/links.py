"""Links inside the reader's pages that keep the reader's language (the page and the OKR page share them)."""
from __future__ import annotations

from typing import Any

from flask import request, url_for

from collector.i18n import DEFAULT_LANG, choose_lang


def link(endpoint: str, **values: Any) -> str:
    """A URL of ``endpoint`` in the reader's language; parameters that are None or empty are left out."""
    lang = choose_lang(request.args.get("lang"))
    if lang != DEFAULT_LANG:
        values.setdefault("lang", lang)
    return url_for(endpoint, **{k: v for k, v in values.items() if v not in (None, "")})


def url_self(**changes: Any) -> str:
    """This page's URL with some parameters changed (None removes one); the language switch uses it."""
    args = {**request.args.to_dict(), **changes}
    if args.get("lang") == DEFAULT_LANG:
        args.pop("lang")
    return url_for(request.endpoint or "page.index", **(request.view_args or {}),
                   **{k: v for k, v in args.items() if v not in (None, "")})
