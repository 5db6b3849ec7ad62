"""Languages of the dashboard: gettext message catalogues (Babel) and locale formatting.

A tiny top-level package that imports nothing from the project, so every layer that
produces user text can use it without breaking the layer rule (``data`` and ``metrics``
never import streamlit; ``data`` never imports ``metrics``):

- ``_("...")`` translates a message into the current language (a context variable,
  set once per script run by the app from ``?lang=`` or the browser's Accept-Language;
  English, the source language, elsewhere — the CLI, tests);
- ``N_("...")`` marks a message defined at import time (KPI labels, rule texts) for
  extraction; it is translated where it is shown, with ``_(kpi.label)``;
- ``lazy("...", **values)`` / ``lazy_plural(...)`` make a :class:`Text`: a message kept in
  a computed result (a forecast's reason, a health check's reason) that is put into the
  language of whoever shows it, since results are cached and shared between sessions;
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
import json
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
    """Within the block, the current language is ``code`` (unknown: English); the one before
    comes back after it (a digest in each recipient's language, a CLI run inside a test)."""
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


def _render(message: str, plural: str | None, n: int | None, values: dict, code: str) -> str:
    """``message`` (or its plural for ``n``) in language ``code``, with ``values`` filled in:
    a callable value is called (e.g. ``partial(number, x)``, formatted by that language's
    locale), a :class:`Text` is rendered in that language."""
    token = _language.set(code)
    try:
        catalogue = translations(code)
        template = catalogue.ngettext(message, plural, n) if plural is not None else catalogue.gettext(message)
        if not values:
            return template
        return template.format(**{key: value() if callable(value) else str(value) for key, value in values.items()})
    finally:
        _language.reset(token)


class Text(str):
    """A message that is translated when shown.

    Its value as a string is the English text, so comparisons, logs and JSON stay English;
    ``str()``, ``format()`` and f-strings give it in the current language. It survives
    pickling (Streamlit's cache), so a result computed for one session reads in the
    language of another. Joining with ``"".join`` or ``+`` uses the English value: call
    ``str()`` first.
    """

    message: str
    plural: str | None
    n: int | None
    values: dict

    def __new__(cls, message: str, plural: str | None = None, n: int | None = None, values: dict | None = None):
        values = dict(values or {})
        self = super().__new__(cls, _render(message, plural, n, values, DEFAULT))
        self.message, self.plural, self.n, self.values = message, plural, n, values
        return self

    def __str__(self) -> str:
        return _render(self.message, self.plural, self.n, self.values, language())

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce__(self):
        return (Text, (self.message, self.plural, self.n, self.values))


def message_of(exc: BaseException) -> str:
    """An exception's message, still translatable when it is a :class:`Text` (an error
    kept in a result that every language reads)."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Text) else str(exc)


def lazy(message: str, **values) -> Text:
    """``message`` with ``values``, translated when shown (see :class:`Text`)."""
    return Text(message, values=values)


def lazy_plural(singular: str, plural: str, n: int, **values) -> Text:
    """The singular or plural of a message for ``n``, translated when shown; ``n`` is also
    available to the message as ``{n}`` unless ``values`` sets it."""
    return Text(singular, plural, n, {"n": n, **values})


# ---- formatting by locale
def number(value: float, decimals: int = 0) -> str:
    """1,234.5 (en) / 1.234,5 (es)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale())


def signed(value: float, decimals: int = 1) -> str:
    """A change with its sign: +3.2 / -0.9 (en), +3,2 / -0,9 (es); 0.0 without a sign when it
    rounds to zero (a -0.04 change is no fall)."""
    shown = round(value, decimals)
    if shown == 0:
        return number(0, decimals)
    return ("+" if shown > 0 else "-") + number(abs(shown), decimals)


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


def month_abbreviation(value: date | datetime) -> str:
    """A month's abbreviated name: Jan / ene."""
    return format_date(value, format="LLL", locale=locale())


def short_day(value: date | datetime) -> str:
    """A day and its month, without the year: 5 Jan / 5 ene."""
    from babel.dates import format_skeleton

    return format_skeleton("dMMM", value, locale=locale())


def month_name(value: date | datetime) -> str:
    """A month in full: November 2026 / noviembre de 2026."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", value, locale=locale())


def moment(value: datetime) -> str:
    return format_datetime(value, format="medium", locale=locale())


def significant(value: float, digits: int = 3) -> str:
    """A value to ``digits`` significant digits (``%g``: 0.0123, 2.18e-75) with the locale's
    decimal sign: 0.0123 (en) / 0,0123 (es)."""
    from babel.numbers import get_decimal_symbol

    return f"{value:.{digits}g}".replace(".", get_decimal_symbol(locale()))


def p_text(value: float) -> str:
    """A test's p-value as reports write it: "p < 0.001" below a thousandth (never
    3.64e-36), otherwise "p = 0.012", three decimals, in the locale's digits."""
    if value < 0.001:
        return _("p < {p}").format(p=number(0.001, 3))
    return _("p = {p}").format(p=number(value, 3))


@lru_cache(maxsize=None)
def plotly_locale(code: str) -> dict | None:
    """plotly.js's translation of its own texts (chart toolbar) for a language, from the
    plotly.js-locales package (i18n/plotly/); None for English, plotly's own language."""
    path = Path(__file__).parent / "plotly" / f"{code}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def environment_language(environ=None) -> str:
    """The language of a command line: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that
    is set, if it is one of ours (``es_ES.UTF-8`` -> es); English otherwise (``C``, ``POSIX``)."""
    import os

    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            code = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return code if code in LANGUAGES else DEFAULT
    return DEFAULT
