"""Spanish and English: the catalogue matches the code, placeholders survive translation,
numbers and dates follow the locale, the language follows the link and the browser."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.pofile import read_po

import i18n
from i18n.catalogues import ROOT, check, code_messages
from metrics.catalogue import CATALOGUE, RULE_TEXT, Unit
from metrics.units import format_value

PO = ROOT / "i18n" / "locales" / "es" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@pytest.fixture
def spanish():
    token = i18n._language.set("es")
    yield
    i18n._language.reset(token)


def test_every_message_is_translated_and_every_translation_is_used():
    result = check("es")
    assert result.untranslated == [], "run `make i18n` and translate these in messages.po"
    assert result.unused == [], "no code uses these any more: run `make i18n` to drop them"


def test_translations_keep_their_placeholders():
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="es")
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (message.id, string)


def test_kpis_and_rules_are_marked_for_translation():
    marked = code_messages()
    for kpi in CATALOGUE:
        assert kpi.label in marked and kpi.definition in marked, kpi.name
    for title, definition in RULE_TEXT.values():
        assert title in marked and definition in marked


def test_spanish_words_numbers_and_dates(spanish):
    assert i18n._("Overview") == "Resumen"
    assert i18n._("Gartner's eight rules") == "Las 8 reglas de oro de Gartner"
    assert i18n._("Escalations within SLA") == "Escalamientos dentro del SLA"
    assert format_value(0.897, Unit.PERCENT) == "89,7 %"
    assert format_value(-0.012, Unit.PERCENT, signed=True) == "-1,2 p. p."
    assert format_value(1234.5, Unit.PER_THOUSAND) == "1.234,5 por cada 1.000"
    assert i18n.money(1183940.0, "EUR") == "1.183.940 €"
    assert i18n.day(date(2026, 11, 26)) == "26 nov 2026"
    assert i18n.ngettext("{n} deal", "{n} deals", 1) == "{n} oportunidad"
    # a change: its sign, the Spanish decimal comma, and no sign when it rounds to zero
    assert [i18n.signed(v) for v in (3.24, -0.91, -0.04, 0.0)] == ["+3,2", "-0,9", "0,0", "0,0"]
    # a p-value as reports write it: never in scientific notation
    assert [i18n.p_text(v) for v in (3.64e-36, 0.0009, 0.0455, 0.5)] == [
        "p < 0,001", "p < 0,001", "p = 0,046", "p = 0,500"]


def test_english_is_the_default_and_the_source():
    assert i18n.language() == "en"
    assert i18n._("Overview") == "Overview"
    assert format_value(0.897, Unit.PERCENT) == "89.7 %"
    assert i18n.money(1183940.0, "USD") == "US$1,183,940"
    assert i18n.day(date(2026, 11, 26)) == "26 Nov 2026"
    assert [i18n.signed(v, 0) for v in (12.6, -1234.4)] == ["+13", "-1,234"]
    assert [i18n.p_text(v) for v in (2.18e-75, 0.001, 0.0123)] == ["p < 0.001", "p = 0.001", "p = 0.012"]


@pytest.mark.parametrize("header, expected", [
    ("es-ES,es;q=0.9,en;q=0.8", "es"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9,es;q=0.5", "es"),      # the best language we have
    ("de-DE", "en"),                          # none we have: English
    (None, "en"),
    ("es-MX", "es"),
])
def test_language_from_accept_language(header, expected):
    assert i18n.negotiate(header) == expected


def test_a_language_used_for_a_block_gives_the_previous_one_back():
    import i18n

    i18n.set_language("es")
    with i18n.using("en"):
        assert i18n.language() == "en"
    assert i18n.language() == "es"
    i18n.set_language("en")
