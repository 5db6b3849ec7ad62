"""The checks run on the staged tables; every finding becomes a Problem with file and row.

Declared as data: RANGES (value bounds), TIMELINES (a moment that cannot precede another),
and the schema's NOT NULL, primary keys, foreign keys and ENUMS. Each check lists at most
LISTED rows, then one line counting the rest.
"""

from __future__ import annotations

import duckdb

from data import schema
from data.imports.convert import KIND_WORDS, kind_of
from data.imports.mapping import FileMapping
from data.imports.problems import Problem
from i18n import N_, lazy, lazy_plural

LISTED = 20

#: (table, column, SQL condition that is wrong, message with {value}, its other values).
RANGES: tuple[tuple[str, str, str, str, dict], ...] = (
    *((("surveys", "score", f"kind = '{kind}' AND score NOT BETWEEN {low} AND {high}",
        N_("{value} is outside the {scale} scale {low}..{high}"), {"scale": kind.upper(), "low": low, "high": high}))
      for kind, (low, high) in schema.SURVEY_SCALES.items()),
    ("tickets", "csat", "csat NOT BETWEEN 1 AND 5", N_("{value} is outside the {scale} scale {low}..{high}"),
     {"scale": "CSAT", "low": 1, "high": 5}),
    ("tickets", "contacts_to_resolve", "contacts_to_resolve < 1", N_("{value} contacts: at least 1 is expected"), {}),
    ("campaigns", "cost", "cost < 0", N_("cost {value} is negative"), {}),
)

#: (table, later column, earlier column): the later moment cannot come before the earlier one.
TIMELINES: tuple[tuple[str, str, str], ...] = (
    ("customers", "engaged_at", "created_at"),
    ("customers", "acquired_at", "created_at"),
    ("opportunities", "closed_at", "created_at"),
    ("tickets", "first_response_at", "opened_at"),
    ("tickets", "resolved_at", "opened_at"),
    ("campaigns", "ended_at", "started_at"),
)


class Labels:
    """The source column name a message should show for (file, target column)."""

    def __init__(self, mappings: list[FileMapping]):
        self._by = {}
        for m in mappings:
            for target, described in m.columns.items():
                if described and not described.startswith("("):
                    self._by[(m.raw.label, m.table, target)] = (
                        described if described == target else f"{described} ({m.table}.{target})")

    def __call__(self, file: str, table: str, column: str) -> str:
        return self._by.get((file, table, column), column)


def _listed(con: duckdb.DuckDBPyConnection, sql: str, params=()) -> tuple[list[tuple], int]:
    """Up to LISTED rows of ``sql`` (which selects _file, _row, ...) and the total count."""
    rows = con.execute(f"SELECT *, count(*) OVER () FROM ({sql}) ORDER BY 1, 2 LIMIT {LISTED}", params).fetchall()
    return [r[:-1] for r in rows], (rows[0][-1] if rows else 0)


def _report(out: list[Problem], rows: list[tuple], total: int, table: str, column: str,
            labels: Labels, message) -> None:
    for row in rows:
        out.append(Problem(row[0], message(*row[2:]), row=int(row[1]), column=labels(row[0], table, column)))
    if total > len(rows):
        more = total - len(rows)
        out.append(Problem(rows[-1][0], lazy_plural("... and {n} more row with the same problem",
                                                    "... and {n} more rows with the same problem", more),
                           column=labels(rows[-1][0], table, column)))


def check_types(con, labels: Labels) -> list[Problem]:
    out: list[Problem] = []
    for table in schema.TABLES:
        for column in table.columns:
            kind = kind_of(column)
            if kind == "text":
                continue
            rows, total = _listed(con, f'SELECT _file, _row, "{column.name}__raw" FROM {table.name} '
                                       f'WHERE "{column.name}__raw" IS NOT NULL AND "{column.name}" IS NULL')
            _report(out, rows, total, table.name, column.name, labels,
                    lambda value, kind=kind: lazy("{value} is not {kind}", value=repr(value), kind=lazy(KIND_WORDS[kind])))
    return out


def check_required(con, labels: Labels) -> list[Problem]:
    out: list[Problem] = []
    for table in schema.TABLES:
        for column in table.columns:
            if column.nullable:
                continue
            rows, total = _listed(con, f'SELECT _file, _row FROM {table.name} '
                                       f'WHERE "{column.name}" IS NULL AND "{column.name}__raw" IS NULL')
            _report(out, rows, total, table.name, column.name, labels, lambda: lazy("is empty; a value is required"))
    return out


def check_enums(con, labels: Labels) -> list[Problem]:
    out: list[Problem] = []
    for (table, column), allowed in schema.ENUMS.items():
        values = ", ".join("'" + v + "'" for v in sorted(allowed))
        rows, total = _listed(con, f'SELECT _file, _row, "{column}" FROM {table} '
                                   f'WHERE "{column}" IS NOT NULL AND "{column}" NOT IN ({values})')
        _report(out, rows, total, table, column, labels,
                lambda value, allowed=allowed: lazy("{value} is not one of: {allowed}", value=repr(value),
                                                       allowed=", ".join(sorted(allowed))))
    return out


def check_keys(con, labels: Labels) -> list[Problem]:
    out: list[Problem] = []
    for table in schema.TABLES:
        key = list(table.primary_key.columns)[0].name
        rows, total = _listed(con, f"""
            SELECT _file, _row, "{key}", first_file, first_row FROM (
              SELECT _file, _row, "{key}",
                     first_value(_file) OVER w AS first_file, first_value(_row) OVER w AS first_row,
                     row_number() OVER w AS n
              FROM {table.name} WHERE "{key}" IS NOT NULL
              WINDOW w AS (PARTITION BY "{key}" ORDER BY _file, _row)) WHERE n > 1""")
        _report(out, rows, total, table.name, key, labels,
                lambda value, f, r: lazy("{value} appears more than once (first at {where})", value=repr(value),
                                            where=f"{f}:{r}"))
    return out


def check_references(con, labels: Labels, existing: set[str] = frozenset()) -> list[Problem]:
    """Foreign keys resolve to a staged parent row (or, in upsert mode, to one already in the target:
    tables named ``existing_<parent>`` in ``existing``)."""
    out: list[Problem] = []
    for table in schema.TABLES:
        for fk in table.foreign_keys:
            parent, parent_key = fk.column.table.name, fk.column.name
            column = fk.parent.name
            keys = f'SELECT "{parent_key}" FROM {parent}'
            if f"existing_{parent}" in existing:
                keys += f" UNION ALL SELECT key FROM existing_{parent}"
            rows, total = _listed(con, f'SELECT _file, _row, "{column}" FROM {table.name} '
                                       f'WHERE "{column}" IS NOT NULL AND "{column}" NOT IN ({keys})')
            _report(out, rows, total, table.name, column, labels,
                    lambda value, parent=parent, pk=parent_key:
                    lazy("{value} is not a known {key} (no such row in {table})", value=repr(value), key=pk,
                         table=parent))
    return out


def check_ranges(con, labels: Labels) -> list[Problem]:
    out: list[Problem] = []
    for table, column, wrong, message, values in RANGES:
        rows, total = _listed(con, f'SELECT _file, _row, "{column}" FROM {table} WHERE {wrong}')
        _report(out, rows, total, table, column, labels,
                lambda value, message=message, values=values: lazy(message, value=value, **values))
    return out


def check_timelines(con, labels: Labels) -> list[Problem]:
    out: list[Problem] = []
    for table, later, earlier in TIMELINES:
        rows, total = _listed(con, f'SELECT _file, _row, "{later}", "{earlier}" FROM {table} '
                                   f'WHERE "{later}" < "{earlier}"')
        _report(out, rows, total, table, later, labels,
                lambda a, b, later=later, earlier=earlier: lazy("{later} ({a}) is before {earlier} ({b})",
                                                                later=later, a=a, earlier=earlier, b=b))
    return out


def validate(con: duckdb.DuckDBPyConnection, mappings: list[FileMapping],
             existing: set[str] = frozenset()) -> list[Problem]:
    """Every problem of the staged tables (errors only; warnings come from reading and mapping)."""
    labels = Labels(mappings)
    out: list[Problem] = []
    for check in (check_types, check_required, check_enums, check_keys, check_ranges, check_timelines):
        out.extend(check(con, labels))
    out.extend(check_references(con, labels, existing))
    return out
