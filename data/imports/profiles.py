"""Mapping profiles: how the files of one CRM's export map onto the eight tables.

A profile is data (``profiles/<name>.toml``). Each ``[[sources]]`` entry is one kind of
file (a Salesforce ``Account`` export, the ``customers`` sheet...) and says

- ``match``: file or sheet names that are this source (case-insensitive, without extension);
  a file whose name matches nothing is recognised from its header instead;
- ``table``: the target table of the data model;
- ``columns``: target column = source column, a list of alternative source columns
  (the first present wins: UI labels or internal names), or a table with ``from``,
  ``values`` (a value map, case-insensitive), ``sql`` (a derived value: an SQL
  expression over ``{Source column}`` placeholders, for fields a CRM spreads over
  several columns; ``{ts:Column}`` and ``{num:Column}`` read it as a timestamp or a number), ``default`` (used when the source lacks the column, with a warning) and
  ``note`` (what the mapping view shows for a derived value, e.g. "the campaign's channel");
- ``identity = true``: every column not listed is read from the source column of the same
  name (the ``crm`` profile);
- ``defaults``: target column -> value used when the source lacks the column ("Unassigned").

``[[derive]]`` entries are SQL statements run on the staged tables after mapping (e.g.
``acquired_at`` from the first won opportunity).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from data import schema

PROFILES_DIR = Path(__file__).with_name("profiles")


@dataclass(frozen=True)
class ColumnRule:
    """How one target column is filled from a source file."""

    target: str
    sources: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)
    sql: str | None = None
    default: str | None = None
    note: str | None = None  # how the mapping view describes a derived value


@dataclass(frozen=True)
class SourceSpec:
    """One kind of file of an export, mapped onto one target table."""

    name: str
    table: str
    match: tuple[str, ...]
    columns: dict[str, ColumnRule]
    identity: bool = False
    where: str | None = None  # SQL over {Source column}: only matching rows are this source
    also: tuple[str, ...] = ()  # other sources read from the same file (tickets -> surveys)

    def rule(self, target: str) -> ColumnRule | None:
        if target in self.columns:
            return self.columns[target]
        if self.identity:
            return ColumnRule(target, (target,))
        return None

    def known_source_columns(self) -> set[str]:
        names = {s.lower() for r in self.columns.values() for s in r.sources}
        for r in self.columns.values():
            if r.sql:
                names.update(p.lower() for p in _placeholders(r.sql))
        if self.identity:
            names.update(c.name for c in schema.table(self.table).columns)
        return names


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    sources: tuple[SourceSpec, ...]
    derive: tuple[str, ...] = ()

    def source(self, name: str) -> SourceSpec:
        return next(s for s in self.sources if s.name == name)

    def source_named(self, name: str) -> SourceSpec | None:
        key = _norm_name(name)
        for source in self.sources:
            if key in source.match:
                return source
        return None


    def with_overrides(self, overrides: dict[str, str]) -> "Profile":
        """The profile with ``table.column -> source column`` overrides (``--map``)."""
        sources = []
        for source in self.sources:
            columns = dict(source.columns)
            for key, source_column in overrides.items():
                table, _, column = key.partition(".")
                if table == source.table:
                    columns[column] = ColumnRule(column, (source_column,))
            sources.append(SourceSpec(source.name, source.table, source.match, columns, source.identity,
                                      source.where, source.also))
        return Profile(self.name, self.title, tuple(sources), self.derive)


def _placeholders(sql: str) -> list[str]:
    import re

    return [name for _, name in re.findall(r"\{(ts:|num:)?([^{}:]+)\}", sql)]


def _norm_name(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _rule(target: str, spec) -> ColumnRule:
    if isinstance(spec, str):
        return ColumnRule(target, (spec,))
    if isinstance(spec, list):
        return ColumnRule(target, tuple(spec))
    sources = spec.get("from", ())
    sources = (sources,) if isinstance(sources, str) else tuple(sources)
    values = {str(k).lower(): str(v) for k, v in spec.get("values", {}).items()}
    return ColumnRule(target, sources, values, spec.get("sql"), spec.get("default"), spec.get("note"))


def parse_profile(data: dict) -> Profile:
    """A Profile from the parsed TOML; ValueError naming what is wrong."""
    sources = []
    for entry in data["sources"]:
        table = entry["table"]
        columns_of_table = {c.name for c in schema.table(table).columns}
        rules = {t: _rule(t, s) for t, s in entry.get("columns", {}).items()}
        for target, value in entry.get("defaults", {}).items():
            base = rules.get(target) or (ColumnRule(target, (target,)) if entry.get("identity") else ColumnRule(target))
            rules[target] = ColumnRule(target, base.sources, base.values, base.sql, str(value), base.note)
        unknown = set(rules) - columns_of_table
        if unknown:
            raise ValueError(f"profile {data['name']}: {table} has no column(s) {', '.join(sorted(unknown))}")
        match = tuple(_norm_name(m) for m in entry.get("match", [entry["name"]]))
        sources.append(SourceSpec(entry["name"], table, match, rules, bool(entry.get("identity")),
                                  entry.get("where"), tuple(entry.get("also", ()))))
    return Profile(data["name"], data.get("title", data["name"]), tuple(sources),
                   tuple(d["sql"] for d in data.get("derive", [])))


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def load_profile(name: str) -> Profile:
    """The profile called ``name``; ValueError listing the known ones."""
    path = PROFILES_DIR / f"{name}.toml"
    if not path.exists():
        raise ValueError(f"unknown profile {name!r}; choose one of: {', '.join(profile_names())}")
    return parse_profile(tomllib.loads(path.read_text()))


def detect_profile(headers: list[list[str]]) -> str:
    """The profile whose known source columns best cover the given headers."""
    best, best_score = "crm", -1.0
    seen = {h.strip().lower() for header in headers for h in header}
    for name in profile_names():
        profile = load_profile(name)
        known = set().union(*(s.known_source_columns() for s in profile.sources))
        score = len(seen & known) / max(len(seen), 1)
        if score > best_score:
            best, best_score = name, score
    return best
