"""Languages of the readiness page and exports: one message catalog per language, and local formats.

Leadership reads Vietnamese; visitors and vendors sometimes need English. All
words the page shows come from ``translations/<lang>.yaml`` (one file per
language, the same keys in each, checked by a test), so a translator edits a
file instead of hunting strings in templates and code. Domain data carries
its own two languages (rule titles, milestone titles, application names,
rule messages); ``Translator.pick`` chooses between them.

Dates are dd/mm/yyyy in both languages (the city's documents use that
order) and in Hanoi time. Numbers use Vietnamese separators (1.234,5) in
Vietnamese and English ones (1,234.5) in English.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, Optional, Union

import yaml

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
HANOI = dt.timezone(dt.timedelta(hours=7))


@lru_cache(maxsize=len(LANGS))
def catalog(lang: str) -> Mapping[str, Union[str, Mapping[str, str]]]:
    """The messages of ``lang``: a key maps to a text, or to ``{one, other}`` for counted phrases."""
    text = resources.files("collector").joinpath(f"translations/{lang}.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def choose_lang(requested: Optional[str]) -> str:
    """The language asked for in the URL (``?lang=en``), else Vietnamese: the page is for Vietnamese readers."""
    return requested if requested in LANGS else DEFAULT_LANG


@dataclass(frozen=True)
class Translator:
    """Messages and formats of one language; templates call it as ``_('key', name=value)``."""

    lang: str

    def __call__(self, key: str, **values: Any) -> str:
        message = catalog(self.lang)[key]
        if not isinstance(message, str):
            raise TypeError(f"message {key!r} is counted: use Translator.plural")
        return message.format(**values) if values else message

    def plural(self, key: str, count: int, **values: Any) -> str:
        """A counted phrase: ``one`` for 1 where the language distinguishes it, ``other`` otherwise."""
        forms = catalog(self.lang)[key]
        if isinstance(forms, str):
            raise TypeError(f"message {key!r} is not counted: call the translator directly")
        form = forms["one"] if count == 1 and "one" in forms else forms["other"]
        return form.format(n=self.number(count), **values)

    def pick(self, vi: Optional[str], en: Optional[str]) -> str:
        """Choose between a domain object's two texts, falling back to the other when one is empty."""
        first, second = (vi, en) if self.lang == "vi" else (en, vi)
        return first or second or ""

    def number(self, value: float, digits: int = 0) -> str:
        text = f"{value:,.{digits}f}"
        if self.lang == "vi":
            return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def percent(self, ratio: float, digits: int = 0) -> str:
        return f"{self.number(100 * ratio, digits)}%"

    def date(self, value: Optional[Union[dt.date, dt.datetime]]) -> str:
        """dd/mm/yyyy; a moment also gets its Hanoi time of day, since reports arrive all day long."""
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            return value.astimezone(HANOI).strftime("%d/%m/%Y %H:%M")
        return value.strftime("%d/%m/%Y")

    def month(self, value: dt.date) -> str:
        return value.strftime("%m/%Y")
