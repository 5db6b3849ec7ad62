"""Languages of the dashboard: gettext message catalogues (Babel) and locale formatting.

A tiny top-level package that imports nothing from the project, so every layer that
produces user text can use it without breaking the layer rule (``data`` and ``metrics``
never import streamlit; ``data`` never imports ``metrics``):

- ``_("...")`` translates a message into the current language (a context variable,
  set once per script run by the app from ``?lang=`` or the browser's Accept-Language;
  English, the source language, elsewhere — the CLI, tests);
- ``N_("...")`` marks a message defined at import time (KPI labels, rule texts) for
  extraction; it is translated where it is shown, with ``_(kpi.label)``;
- ``number``, ``percent``, ``money``, ``day`` format by the current locale (Babel).

Catalogues: ``i18n/locales/<lang>/LC_MESSAGES/messages.po``, extracted and updated with
``make i18n`` (``pybabel extract`` / ``update``). They are compiled in memory from the
``.po`` when first used (Babel's ``read_po``/``write_mo``), so no binary ``.mo`` is
committed and none can go stale; ``pybabel compile`` (``make i18n-compile``) is still
available for tools that want ``.mo`` files.
"""

from __future__ import annotations

import gettext
import io
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT = "en"
#: Babel locale used for numbers, dates and money in each language.
LOCALES = {"en": "en_GB", "es": "es_ES"}

_language: ContextVar[str | None] = ContextVar("language", default=None)
_provider: list = []  # a function giving the language when none was set in this context


def set_provider(provider) -> None:
    """Where the language comes from when this thread has not set one (the app: the session's
    choice, so that a fragment rerun, which skips the frame, keeps the page's language)."""
    _provider[:] = [provider]


def set_language(code: str | None) -> str:
    """Make ``code`` the current language (unknown codes fall back to English); returns it."""
    chosen = code if code in LANGUAGES else DEFAULT
    _language.set(chosen)
    return chosen


@contextmanager
def using(code: str | None):
    """``code`` as the current language inside the block, the caller's language restored after
    (a computation cached per language must not change the language of the page that ran it)."""
    token = _language.set(code if code in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _language.reset(token)


def language() -> str:
    current = _language.get()
    if current is None and _provider:
        try:
            current = _provider[0]()
        except Exception:  # noqa: BLE001 — no session (bare mode): the default language
            current = None
    return current if current in LANGUAGES else DEFAULT


def locale() -> str:
    """The Babel locale of the current language (e.g. es_ES)."""
    return LOCALES[language()]


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (English when none fits)."""
    if not accept_language:
        return DEFAULT
    wanted = []
    for part in accept_language.split(","):
        tag, _sep, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag:
            wanted.append((weight, tag.replace("-", "_")))
    for _weight, tag in sorted(wanted, key=lambda w: -w[0]):
        try:
            code = Locale.parse(tag).language
        except (ValueError, UnknownLocaleError):
            continue
        if code in LANGUAGES:
            return code
    return DEFAULT


@lru_cache(maxsize=None)
def translations(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of one language (English: the messages themselves)."""
    po = LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if code == DEFAULT or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for extraction; translate it where it is shown."""
    return message


# ---- formatting by locale
def number(value: float, decimals: int = 0) -> str:
    """1,234.5 (en) / 1.234,5 (es)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale())


def percent(value: float, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.897 -> 89.7 % (en) / 89,7 % (es)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + " %"
    return format_percent(value, format=pattern, locale=locale())


def money(value: float, currency: str = "EUR", decimals: int = 0) -> str:
    """An amount in ``currency``: €1,234 (en) / 1.234 € (es)."""
    if language() == "es":
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + " ¤"
    else:
        pattern = "¤#,##0" + ("." + "0" * decimals if decimals else "")
    return format_currency(value, currency, format=pattern, locale=locale(), currency_digits=False)


def day(value: date | datetime, style: str = "medium") -> str:
    """A date: 26 Nov 2026 (en) / 26 nov 2026 (es)."""
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format=style, locale=locale())


def month(value: date | datetime) -> str:
    """A month: Nov 2026 / nov 2026."""
    return format_date(value, format="MMM y", locale=locale())


def month_name(value: date | datetime) -> str:
    """A month in full: November 2026 / noviembre de 2026."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", value, locale=locale())


def moment(value: datetime) -> str:
    return format_datetime(value, format="medium", locale=locale())
