"""Text -> typed values, as DuckDB SQL over the staged text (vectorised, no per-row Python).

Accepted spellings (declared here as data):
- numbers: ``1234.5``, ``1234,5`` (decimal comma), ``1.234,5`` and ``1,234.5`` (thousands);
- booleans: TRUE_WORDS / FALSE_WORDS, any case (Spanish ``sí``/``si``/``no`` included);
- timestamps: ISO 8601 with or without a time and an offset (``Z``, ``+0000``, ``+01:00``:
  converted to UTC, then stored without time zone), day-first ``dd/mm/yyyy [hh:mm[:ss]]``
  (DAY_FIRST_FORMATS), and Excel serial day numbers (days since 1899-12-30).
A value that matches none becomes NULL and the validation reports it with its text.
"""

from __future__ import annotations

from sqlalchemy import Boolean, DateTime, Integer, Numeric
from sqlalchemy.sql.schema import Column

from i18n import N_

TRUE_WORDS = ("true", "t", "yes", "y", "1", "sí", "si", "s", "verdadero", "x")
FALSE_WORDS = ("false", "f", "no", "n", "0", "falso")
DAY_FIRST_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y %H:%M:%S",
                     "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")
#: Excel serial day numbers accepted as dates: 1900-03-01 .. 9999-12-31.
EXCEL_SERIAL_RANGE = (61, 2958465)

#: What the user is told a value should have been, per kind.
KIND_WORDS = {"number": N_("a number"), "integer": N_("a whole number"),
              "boolean": N_("yes/no (true/false, sí/no, 1/0)"),
              "timestamp": N_("a date (YYYY-MM-DD, dd/mm/yyyy or ISO 8601 date-time)"), "text": N_("text")}


def _quoted(words) -> str:
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


def kind_of(column: Column) -> str:
    if isinstance(column.type, Boolean):
        return "boolean"
    if isinstance(column.type, DateTime):
        return "timestamp"
    if isinstance(column.type, Integer):
        return "integer"
    if isinstance(column.type, Numeric):
        return "number"
    return "text"


def number_sql(x: str) -> str:
    """DOUBLE from text with a decimal point or a decimal comma (and thousands separators)."""
    normalised = (
        f"CASE WHEN regexp_matches({x}, '^[-+]?\\d{{1,3}}(\\.\\d{{3}})+,\\d+$') "
        f"  OR regexp_matches({x}, '^[-+]?\\d{{1,3}}(\\.\\d{{3}}){{2,}}$') "
        f"  OR regexp_matches({x}, '^[-+]?\\d+,\\d+$') THEN replace(replace({x}, '.', ''), ',', '.') "
        f"WHEN regexp_matches({x}, '^[-+]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?$') THEN replace({x}, ',', '') "
        f"ELSE {x} END"
    )
    return f"COALESCE(TRY_CAST({x} AS DOUBLE), TRY_CAST({normalised} AS DOUBLE))"  # plain numbers first


def integer_sql(x: str) -> str:
    number = number_sql(x)
    return f"CASE WHEN {number} = round({number}) THEN TRY_CAST({number} AS BIGINT) END"


def boolean_sql(x: str) -> str:
    return (f"CASE WHEN lower({x}) IN ({_quoted(TRUE_WORDS)}) THEN true "
            f"WHEN lower({x}) IN ({_quoted(FALSE_WORDS)}) THEN false END")


def timestamp_sql(x: str) -> str:
    """TIMESTAMP (UTC, no time zone); the staging session's TimeZone must be UTC."""
    formats = "[" + _quoted(DAY_FIRST_FORMATS) + "]"
    low, high = EXCEL_SERIAL_RANGE
    # fast path: ISO without an offset (the cast would ignore an offset, so those go below)
    no_offset = (f"NOT (right({x}, 1) = 'Z' OR contains(substr({x}, 11), '+') "
                 f"OR contains(substr({x}, 11), '-'))")
    return (
        f"COALESCE(CASE WHEN {no_offset} THEN TRY_CAST({x} AS TIMESTAMP) END, "
        f"CASE WHEN regexp_matches({x}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}') "
        f"  THEN timezone('UTC', TRY_CAST({x} AS TIMESTAMPTZ)) "
        f"WHEN regexp_matches({x}, '^\\d+(\\.\\d+)?$') AND TRY_CAST({x} AS DOUBLE) BETWEEN {low} AND {high} "
        f"  THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST({x} AS DOUBLE) * 86400000000) AS BIGINT)) "
        f"ELSE try_strptime({x}, {formats}) END)"
    )


def typed_sql(column: Column, x: str) -> str:
    """The SQL that turns the text expression ``x`` into the column's type."""
    kind = kind_of(column)
    if kind == "number":
        return number_sql(x)
    if kind == "integer":
        return integer_sql(x)
    if kind == "boolean":
        return boolean_sql(x)
    if kind == "timestamp":
        return timestamp_sql(x)
    return x
