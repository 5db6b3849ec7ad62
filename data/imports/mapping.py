"""Map staged raw files onto the eight tables (typed) in the staging database.

Each raw file is recognised as one source of the profile (by its file or sheet name,
else by its header), each target column is filled by its rule (source column, value map,
derived SQL, default), and the typed table carries, for every row, the file and the
spreadsheet row it came from, and each column's original text (``<column>__raw``) for
the messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from data import schema
from data.imports.convert import kind_of, number_sql, timestamp_sql, typed_sql
from data.imports.problems import Problem
from data.imports.profiles import ColumnRule, Profile, SourceSpec
from data.imports.reader import RawFile
from i18n import lazy

SQL_TYPES = {"number": "DOUBLE", "integer": "BIGINT", "boolean": "BOOLEAN", "timestamp": "TIMESTAMP",
             "text": "VARCHAR"}


@dataclass
class FileMapping:
    """How one file maps onto its table: target column -> where its values come from."""

    raw: RawFile
    source: SourceSpec
    columns: dict[str, str] = field(default_factory=dict)  # target -> source column / description
    unmapped: list[str] = field(default_factory=list)  # source columns nobody reads

    @property
    def table(self) -> str:
        return self.source.table


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def recognise(raw: RawFile, profile: Profile) -> SourceSpec | None:
    """The profile's source for this file: by name, else the best header match."""
    named = profile.source_named(raw.hint)
    if named is not None:
        return named
    header = {h.strip().lower() for h in raw.header}
    best, best_share = None, 0.0
    companions = {name for s in profile.sources for name in s.also}  # read only beside their main source
    for source in profile.sources:
        if source.name in companions:
            continue
        known = source.known_source_columns()
        share = len(header & known) / max(len(known), 1) if known else 0.0
        if share > best_share:
            best, best_share = source, share
    return best if best_share >= 0.5 else None


def _text(raw: RawFile, name: str) -> str | None:
    column = raw.column(name)
    return None if column is None else f"NULLIF(trim({column}), '')"


PLACEHOLDER = re.compile(r"\{(ts:|num:)?([^{}:]+)\}")


def substitute(raw: RawFile, sql: str) -> tuple[str, list[str]]:
    """``sql`` with each ``{Source column}`` replaced by its text (NULL when absent), each
    ``{ts:Source column}`` by its value as a timestamp and each ``{num:Source column}`` by its
    value as a number (NULL when it is not one: never an error); the source columns present."""
    used: list[str] = []

    def sub(match: re.Match) -> str:
        expr = _text(raw, match.group(2))
        if expr is None:
            return "NULL"
        used.append(match.group(2))
        if match.group(1) == "ts:":
            return timestamp_sql(expr)
        return number_sql(expr) if match.group(1) == "num:" else expr

    return PLACEHOLDER.sub(sub, sql), sorted(set(used))


def _rule_sql(raw: RawFile, rule: ColumnRule) -> tuple[str | None, str]:
    """(SQL text expression or None when the source lacks it, description for the mapping view).

    The first source column present wins; else the derived ``sql`` when one of its columns is
    present; else None (the caller applies the default or reports the column missing).
    """
    for name in rule.sources:
        expr = _text(raw, name)
        if expr is not None:
            if rule.values:
                cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in rule.values.items())
                expr = f"CASE lower({expr}) {cases} ELSE {expr} END"
            header_name = raw.header[int(raw.column(name)[1:])].strip()
            return expr, header_name
    if rule.sql:
        expr, used = substitute(raw, rule.sql)
        if used or not PLACEHOLDER.search(rule.sql):  # a constant needs no column
            return f"CAST(({expr}) AS VARCHAR)", (f"({rule.note})" if rule.note else ", ".join(used) or "(fixed value)")
    return None, ""


def map_file(raw: RawFile, source: SourceSpec) -> tuple[FileMapping, dict[str, str], list[Problem]]:
    """The mapping of one file, its text expressions per target column, and problems
    (required column missing = error; defaulted or optional missing, unknown extra = warning)."""
    table = schema.table(source.table)
    mapping = FileMapping(raw, source)
    exprs: dict[str, str] = {}
    problems: list[Problem] = []
    used: set[str] = set()
    for column in table.columns:
        rule = source.rule(column.name)
        expr, described = _rule_sql(raw, rule) if rule else (None, "")
        if expr is not None:
            exprs[column.name] = expr
            mapping.columns[column.name] = described
            used.update(d.strip().lower() for d in described.split(","))
            if rule and rule.sql:
                used.update(name.strip().lower() for _, name in PLACEHOLDER.findall(rule.sql))
            continue
        if rule and rule.default is not None:
            mapping.columns[column.name] = f"(not in the file: {rule.default})"
            problems.append(Problem(raw.label, lazy("not in the file; every row gets {value}", value=repr(rule.default)),
                                    column=column.name, severity="warning"))
        elif not column.nullable:
            wanted = " or ".join(rule.sources) if rule and rule.sources else column.name
            problems.append(Problem(raw.label, lazy("required column is missing (expected {wanted} for {target})",
                                                    wanted=wanted, target=f"{source.table}.{column.name}"),
                                    row=1, column=column.name))
        else:
            mapping.columns[column.name] = "(not in the file: left empty)"
    for name in raw.header:
        if name.strip().lower() not in used:
            mapping.unmapped.append(name.strip())
    if mapping.unmapped:
        problems.append(Problem(raw.label, lazy("column(s) not used by the import and ignored: {names}",
                                                names=", ".join(mapping.unmapped)), severity="warning"))
    return mapping, exprs, problems


def _enum_column(table: str, column: str) -> bool:
    return (table, column) in schema.ENUMS


def stage_table(con: duckdb.DuckDBPyConnection, table_name: str,
                parts: list[tuple[FileMapping, dict[str, str]]]) -> None:
    """Create the typed staged table ``table_name`` from its files (empty when none)."""
    table = schema.table(table_name)
    selects = []
    for mapping, exprs in parts:
        items = [f"{_lit(mapping.raw.label)} AS _file", f"({mapping.raw.row_expr})::BIGINT AS _row"]
        for column in table.columns:
            expr = exprs.get(column.name, "NULL")
            if _enum_column(table_name, column.name) and expr != "NULL":
                expr = f"lower({expr})"
            items.append(f"CAST({expr} AS VARCHAR) AS \"{column.name}__raw\"")
        where = ""
        if mapping.source.where:
            where = f" WHERE coalesce(({substitute(mapping.raw, mapping.source.where)[0]}), false)"
        selects.append(f"SELECT {', '.join(items)} FROM {mapping.raw.table}{where}")
    if not selects:
        items = ["NULL::VARCHAR AS _file", "NULL::BIGINT AS _row"]
        items += [f"NULL::VARCHAR AS \"{c.name}__raw\"" for c in table.columns]
        selects.append(f"SELECT {', '.join(items)} WHERE false")
    defaults = {}
    for mapping, _ in parts:
        for column in table.columns:
            rule = mapping.source.rule(column.name)
            if rule and rule.default is not None:
                defaults[column.name] = rule.default
    typed = []
    for column in table.columns:
        raw = f'"{column.name}__raw"'
        sql = f"CAST({typed_sql(column, raw)} AS {SQL_TYPES[kind_of(column)]})"
        if column.name in defaults:
            sql = f"COALESCE({sql}, CAST({_lit(defaults[column.name])} AS {SQL_TYPES[kind_of(column)]}))"
        typed.append(f'{sql} AS "{column.name}"')
    raws = ", ".join(f'"{c.name}__raw"' for c in table.columns)
    con.execute(f"CREATE TABLE {table_name} AS SELECT _file, _row, {', '.join(typed)}, {raws} "
                f"FROM ({' UNION ALL '.join(selects)})")


def stage(con: duckdb.DuckDBPyConnection, raws: list[RawFile], profile: Profile
          ) -> tuple[list[FileMapping], list[Problem]]:
    """Map every readable raw file and create the eight typed staged tables."""
    problems: list[Problem] = []
    mappings: list[FileMapping] = []
    parts: dict[str, list] = {t.name: [] for t in schema.TABLES}
    for raw in raws:
        if raw.table is None:
            continue
        source = recognise(raw, profile)
        if source is None:
            names = ", ".join(s.match[0] for s in profile.sources)
            problems.append(Problem(raw.label, lazy("not recognised as a table of the {profile} profile (name the "
                                                    "file after one of: {names})", profile=profile.name, names=names)))
            continue
        for spec in (source, *(profile.source(name) for name in source.also)):
            mapping, exprs, found = map_file(raw, spec)
            if spec is not source and any(p.severity == "error" and p.row == 1 for p in found):
                continue  # the file lacks the companion's columns (tickets without ratings): no rows from it
            if spec is not source:  # columns of the file that the main source ignores are reported once
                found = [p for p in found if not (p.severity == "warning" and "not used by the import" in p.message)]
                mapping.unmapped = []
            problems.extend(found)
            mappings.append(mapping)
            if not any(p.severity == "error" for p in found) and not raw.unreadable_rows:
                parts[spec.table].append((mapping, exprs))
    for table in schema.TABLES:
        stage_table(con, table.name, parts[table.name])
    for statement in profile.derive:
        con.execute(statement)
    return mappings, problems
