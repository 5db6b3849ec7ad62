"""The application store: the dashboard's own state, never the CRM source.

Target overrides, self-assessments (with the KPI snapshot taken when saved), the
transformation roadmap and the CRM lead's answers about implementation risks live here.
SQLAlchemy on a local SQLite file by default (``CRM_APP_DB_URL`` for PostgreSQL or any
other database), created on first use, with a versioned schema (``store_meta``).

Every save is one transaction, so a crash mid-save leaves the previous state intact.
Every saved item records when and by whom. Edits are per item (never a whole-document
overwrite), so two people editing different items at once keep both edits; an edit of an
item that someone else changed since it was read raises :class:`Conflict`.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Column, Date, DateTime, Float, ForeignKey, Integer, MetaData, Table, Text, create_engine, delete, event, func,
    insert, select, update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = f"sqlite:///{ROOT / 'app_store.sqlite'}"
SCHEMA_VERSION = 2

ROADMAP_STAGES = ("Vision", "Assessment", "Concept", "Development", "Implementation")  # seed 003
ROADMAP_STATUSES = ("planned", "in progress", "done", "blocked")
#: Roles (see metrics/scope.py) allowed to change targets, assessments, the roadmap, risks,
#: imports and alert rules; and the roles allowed to edit the access definition.
WRITER_ROLES = frozenset({"crm_lead", "admin"})
ADMIN_ROLES = frozenset({"admin"})
ALERT_KINDS = ("below", "above", "change")  # value below / above the threshold; |change| more than it

metadata = MetaData()
store_meta = Table("store_meta", metadata, Column("key", Text, primary_key=True), Column("value", Text, nullable=False))
target_overrides = Table(
    "target_overrides", metadata,
    Column("kpi", Text, primary_key=True), Column("target", Float, nullable=False),
    Column("updated_at", DateTime, nullable=False), Column("updated_by", Text, nullable=False))
target_changes = Table(
    "target_changes", metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True), Column("kpi", Text, nullable=False),
    Column("old_target", Float), Column("new_target", Float),
    Column("changed_at", DateTime, nullable=False), Column("changed_by", Text, nullable=False))
assessments = Table(
    "assessments", metadata,
    Column("assessment_id", Integer, primary_key=True, autoincrement=True),
    Column("assessed_on", Date, nullable=False), Column("saved_at", DateTime, nullable=False),
    Column("saved_by", Text, nullable=False), Column("notes", Text),
    Column("phase", Integer), Column("rule_scores", Text), Column("self_scores", Text))
assessment_answers = Table(
    "assessment_answers", metadata,
    Column("assessment_id", Integer, ForeignKey("assessments.assessment_id", ondelete="CASCADE"), primary_key=True),
    Column("statement", Text, primary_key=True), Column("score", Integer, nullable=False))
assessment_snapshots = Table(
    "assessment_snapshots", metadata,
    Column("assessment_id", Integer, ForeignKey("assessments.assessment_id", ondelete="CASCADE"), primary_key=True),
    Column("kpi", Text, primary_key=True), Column("value", Float), Column("target", Float),
    Column("status", Text, nullable=False))
roadmap_items = Table(
    "roadmap_items", metadata,
    Column("item_id", Integer, primary_key=True, autoincrement=True), Column("stage", Text, nullable=False),
    Column("title", Text, nullable=False), Column("owner", Text), Column("due_date", Date),
    Column("status", Text, nullable=False), Column("checkpoints", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False), Column("updated_by", Text, nullable=False))
risk_answers = Table(
    "risk_answers", metadata,
    Column("risk", Text, primary_key=True), Column("answer", Text, nullable=False), Column("note", Text),
    Column("updated_at", DateTime, nullable=False), Column("updated_by", Text, nullable=False))

access_versions = Table(
    "access_versions", metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True), Column("definition", Text, nullable=False),
    Column("saved_at", DateTime, nullable=False), Column("saved_by", Text, nullable=False))
alert_rules = Table(
    "alert_rules", metadata,
    Column("rule_id", Integer, primary_key=True, autoincrement=True), Column("kpi", Text, nullable=False),
    Column("kind", Text, nullable=False), Column("threshold", Float, nullable=False),
    Column("updated_at", DateTime, nullable=False), Column("updated_by", Text, nullable=False))
digest_values = Table(
    "digest_values", metadata,
    Column("recipient", Text, primary_key=True), Column("kpi", Text, primary_key=True), Column("value", Float),
    Column("status", Text), Column("sent_at", DateTime, nullable=False))

MIGRATIONS = {1: [store_meta, target_overrides, target_changes, assessments, assessment_answers,
                  assessment_snapshots, roadmap_items, risk_answers],
              2: [access_versions, alert_rules, digest_values]}  # version -> tables it adds


class StoreError(ValueError):
    """A value the store refuses; the message names the item, the field and the value."""


class Conflict(StoreError):
    """Someone else changed the item since it was read."""


class Forbidden(StoreError):
    """The user's role may not make this change."""


def check_role(role: str | None, allowed: frozenset[str], what: str) -> None:
    """Refuse a change by a role not in ``allowed``; ``None`` is the local single-user mode
    and command-line tools run by whoever owns the store (everything allowed)."""
    if role is not None and role not in allowed:
        raise Forbidden(f"{what}: your role ({role}) may not make this change; ask your CRM lead or admin")


def resolve_url(environ: dict[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("CRM_APP_DB_URL") or DEFAULT_URL


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _as_date(value, what: str) -> date | None:
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise StoreError(f"{what}: due_date {value!r} is not a date (YYYY-MM-DD)") from None


def _who(who: str | None) -> str:
    who = (who or "").strip()
    return who or "local"


@dataclass(frozen=True)
class Checkpoint:
    text: str
    done: bool = False


class AppStore:
    """The application store at ``url`` (created and migrated on first use)."""

    def __init__(self, url: str | None = None):
        self.url = url or resolve_url()
        kwargs = {}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.migrate()

    # ---- schema
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            if not self.engine.dialect.has_table(conn, "store_meta"):
                return 0
            value = conn.execute(select(store_meta.c.value).where(store_meta.c.key == "schema_version")).scalar()
        return int(value or 0)

    def migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one version per transaction."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(f"application store {self.url} has schema version {current}, newer than this app "
                             f"({SCHEMA_VERSION}); upgrade the app")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.engine.begin() as conn:
                metadata.create_all(conn, tables=MIGRATIONS[version])
                conn.execute(delete(store_meta).where(store_meta.c.key == "schema_version"))
                conn.execute(insert(store_meta).values(key="schema_version", value=str(version)))

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- targets
    def target_overrides(self) -> dict[str, float]:
        with self.engine.connect() as conn:
            return {k: float(v) for k, v in conn.execute(select(target_overrides.c.kpi, target_overrides.c.target))}

    def set_target(self, kpi: str, target, who: str | None = None, role: str | None = None) -> None:
        """Override a KPI's target (``target`` None removes the override)."""
        check_role(role, WRITER_ROLES, f"target {kpi}")
        if not kpi or not isinstance(kpi, str):
            raise StoreError(f"target: KPI name {kpi!r} is not valid")
        if target is not None:
            try:
                target = float(target)
            except (TypeError, ValueError):
                raise StoreError(f"target {kpi}: {target!r} is not a number") from None
            if target != target or target in (float("inf"), float("-inf")):
                raise StoreError(f"target {kpi}: {target!r} is not a finite number")
        at, by = _now(), _who(who)
        with _saving(f"target {kpi}"), self.engine.begin() as conn:
            _serialise(conn, f"target:{kpi}")
            old = conn.execute(select(target_overrides.c.target).where(target_overrides.c.kpi == kpi)).scalar()
            conn.execute(delete(target_overrides).where(target_overrides.c.kpi == kpi))
            if target is not None:
                conn.execute(insert(target_overrides).values(kpi=kpi, target=target, updated_at=at, updated_by=by))
            conn.execute(insert(target_changes).values(kpi=kpi, old_target=old, new_target=target, changed_at=at,
                                                       changed_by=by))

    def target_history(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(select(target_changes).order_by(target_changes.c.change_id.desc())).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in target_changes.columns])

    # ---- assessments
    def save_assessment(self, answers: dict[str, int], assessed_on: date | None = None, who: str | None = None,
                        notes: str | None = None, snapshot: list[dict] | None = None, phase: int | None = None,
                        rule_scores: dict | None = None, self_scores: dict | None = None,
                        statements: set[str] | None = None, role: str | None = None) -> int:
        """Save a dated self-assessment with the KPI snapshot of that moment; its id.

        ``answers`` maps statement ids to scores 1..5; with ``statements`` given, every id
        must be one of them.
        """
        check_role(role, WRITER_ROLES, "assessment")
        if not answers:
            raise StoreError("assessment: no answers")
        for statement, score in answers.items():
            if statements is not None and statement not in statements:
                raise StoreError(f"assessment: unknown statement {statement!r}")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or score != int(score) \
                    or not 1 <= int(score) <= 5:
                raise StoreError(f"assessment: statement {statement!r} score {score!r} is outside 1..5")
        assessed_on = _as_date(assessed_on, "assessment") or date.today()
        with self.engine.begin() as conn:
            assessment_id = conn.execute(insert(assessments).values(
                assessed_on=assessed_on, saved_at=_now(), saved_by=_who(who), notes=notes, phase=phase,
                rule_scores=json.dumps(rule_scores or {}), self_scores=json.dumps(self_scores or {}),
            )).inserted_primary_key[0]
            conn.execute(insert(assessment_answers), [
                {"assessment_id": assessment_id, "statement": s, "score": int(v)} for s, v in answers.items()])
            if snapshot:
                conn.execute(insert(assessment_snapshots), [
                    {"assessment_id": assessment_id, "kpi": row["kpi"], "value": _float(row.get("value")),
                     "target": _float(row.get("target")), "status": row["status"]} for row in snapshot])
        return int(assessment_id)

    def assessments(self) -> pd.DataFrame:
        """Every assessment, oldest first, with its phase and rule scores (JSON decoded)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(assessments).order_by(assessments.c.assessed_on,
                                                             assessments.c.assessment_id)).mappings().all()
        frame = pd.DataFrame(rows, columns=[c.name for c in assessments.columns])
        for column in ("rule_scores", "self_scores"):
            frame[column] = [json.loads(v) if v else {} for v in frame[column]]
        return frame

    def answers(self, assessment_id: int) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(assessment_answers.c.statement, assessment_answers.c.score)
                                     .where(assessment_answers.c.assessment_id == assessment_id)).all())

    def snapshot(self, assessment_id: int) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(select(assessment_snapshots).where(
                assessment_snapshots.c.assessment_id == assessment_id)).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in assessment_snapshots.columns])

    # ---- roadmap
    def add_item(self, stage: str, title: str, owner: str | None = None, due_date=None, status: str = "planned",
                 checkpoints: list[Checkpoint] | None = None, who: str | None = None, role: str | None = None) -> int:
        check_role(role, WRITER_ROLES, f"roadmap item {title!r}")
        values = self._item_values(stage, title, owner, due_date, status, checkpoints or [], f"roadmap item {title!r}")
        with self.engine.begin() as conn:
            return int(conn.execute(insert(roadmap_items).values(
                **values, version=1, updated_at=_now(), updated_by=_who(who))).inserted_primary_key[0])

    def update_item(self, item_id: int, version: int, who: str | None = None, role: str | None = None,
                    **fields) -> int:
        """Change some fields of an item read at ``version``; its new version.

        Raises :class:`Conflict` when the item changed since (another session's edit is
        kept, never overwritten).
        """
        check_role(role, WRITER_ROLES, f"roadmap item {item_id}")
        with self.engine.begin() as conn:
            current = conn.execute(select(roadmap_items).where(roadmap_items.c.item_id == item_id)).mappings().first()
            if current is None:
                raise StoreError(f"roadmap item {item_id}: no such item (deleted by someone else?)")
            merged = {k: current[k] for k in ("stage", "title", "owner", "due_date", "status")}
            merged["checkpoints"] = _decode_checkpoints(current["checkpoints"])
            merged.update(fields)
            values = self._item_values(merged["stage"], merged["title"], merged["owner"], merged["due_date"],
                                       merged["status"], merged["checkpoints"], f"roadmap item {merged['title']!r}")
            changed = conn.execute(update(roadmap_items).where(roadmap_items.c.item_id == item_id,
                                                               roadmap_items.c.version == version)
                                   .values(**values, version=version + 1, updated_at=_now(), updated_by=_who(who)))
            if changed.rowcount != 1:
                raise Conflict(f"roadmap item {current['title']!r} was changed by {current['updated_by']} at "
                               f"{current['updated_at']:%Y-%m-%d %H:%M} since you opened it; reload to see their "
                               "edit, then apply yours")
        return version + 1

    def delete_item(self, item_id: int, version: int, role: str | None = None) -> None:
        check_role(role, WRITER_ROLES, f"roadmap item {item_id}")
        with self.engine.begin() as conn:
            gone = conn.execute(delete(roadmap_items).where(roadmap_items.c.item_id == item_id,
                                                            roadmap_items.c.version == version))
            if gone.rowcount != 1:
                raise Conflict(f"roadmap item {item_id} was changed or deleted since you opened it; reload")

    def items(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(select(roadmap_items).order_by(roadmap_items.c.item_id)).mappings().all()
        frame = pd.DataFrame(rows, columns=[c.name for c in roadmap_items.columns])
        frame["checkpoints"] = [_decode_checkpoints(v) for v in frame["checkpoints"]]
        frame["stage_order"] = [ROADMAP_STAGES.index(s) for s in frame["stage"]]
        return frame.sort_values(["stage_order", "due_date", "item_id"], na_position="last", ignore_index=True)

    @staticmethod
    def _item_values(stage, title, owner, due_date, status, checkpoints, what: str) -> dict:
        if stage not in ROADMAP_STAGES:
            raise StoreError(f"{what}: stage {stage!r} is not one of {', '.join(ROADMAP_STAGES)}")
        if not title or not str(title).strip():
            raise StoreError("roadmap item: the title is empty")
        if status not in ROADMAP_STATUSES:
            raise StoreError(f"{what}: status {status!r} is not one of {', '.join(ROADMAP_STATUSES)}")
        points = [c if isinstance(c, Checkpoint) else Checkpoint(**c) for c in checkpoints]
        return {"stage": stage, "title": str(title).strip(), "owner": (owner or None), "status": status,
                "due_date": _as_date(due_date, what),
                "checkpoints": json.dumps([{"text": c.text, "done": bool(c.done)} for c in points])}

    # ---- risks
    def set_risk_answer(self, risk: str, answer: str, note: str | None = None, who: str | None = None,
                        role: str | None = None) -> None:
        check_role(role, WRITER_ROLES, f"risk {risk!r}")
        if answer not in ("yes", "no", "unsure"):
            raise StoreError(f"risk {risk!r}: answer {answer!r} is not yes, no or unsure")
        with _saving(f"risk {risk!r}"), self.engine.begin() as conn:
            _serialise(conn, f"risk:{risk}")
            conn.execute(delete(risk_answers).where(risk_answers.c.risk == risk))
            conn.execute(insert(risk_answers).values(risk=risk, answer=answer, note=note, updated_at=_now(),
                                                     updated_by=_who(who)))

    def risk_answers(self) -> dict[str, dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(risk_answers)).mappings().all()
        return {r["risk"]: dict(r) for r in rows}

    # ---- access definition (admins)
    def save_access(self, definition: str, who: str | None = None, role: str | None = None) -> int:
        """Store a new version of the access definition (TOML text, validated by the caller)."""
        check_role(role, ADMIN_ROLES, "access definition")
        if not definition or not definition.strip():
            raise StoreError("access definition: empty; it would lock everybody out")
        with self.engine.begin() as conn:
            return int(conn.execute(insert(access_versions).values(
                definition=definition, saved_at=_now(), saved_by=_who(who))).inserted_primary_key[0])

    def access_definition(self) -> dict | None:
        """The latest saved access definition (definition, saved_at, saved_by), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(access_versions).order_by(access_versions.c.version_id.desc())
                               .limit(1)).mappings().first()
        return dict(row) if row else None

    def access_history(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(select(access_versions.c.version_id, access_versions.c.saved_at,
                                       access_versions.c.saved_by)
                                .order_by(access_versions.c.version_id.desc())).mappings().all()
        return pd.DataFrame(rows, columns=["version_id", "saved_at", "saved_by"])

    # ---- alert rules (CRM lead) and digest state
    def add_alert_rule(self, kpi: str, kind: str, threshold, who: str | None = None, role: str | None = None) -> int:
        """An alert on a KPI: value ``below``/``above`` threshold, or ``change`` of more than it."""
        check_role(role, WRITER_ROLES, f"alert rule on {kpi}")
        if kind not in ALERT_KINDS:
            raise StoreError(f"alert rule on {kpi}: kind {kind!r} is not one of {', '.join(ALERT_KINDS)}")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise StoreError(f"alert rule on {kpi}: threshold {threshold!r} is not a number") from None
        if threshold != threshold or threshold in (float("inf"), float("-inf")) or (kind == "change" and threshold < 0):
            raise StoreError(f"alert rule on {kpi}: threshold {threshold!r} is not a valid {kind} threshold")
        with self.engine.begin() as conn:
            return int(conn.execute(insert(alert_rules).values(
                kpi=kpi, kind=kind, threshold=threshold, updated_at=_now(),
                updated_by=_who(who))).inserted_primary_key[0])

    def delete_alert_rule(self, rule_id: int, role: str | None = None) -> None:
        check_role(role, WRITER_ROLES, f"alert rule {rule_id}")
        with self.engine.begin() as conn:
            conn.execute(delete(alert_rules).where(alert_rules.c.rule_id == rule_id))

    def alert_rules(self) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(select(alert_rules).order_by(alert_rules.c.rule_id)).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in alert_rules.columns])

    def digest_values(self, recipient: str) -> dict[str, dict]:
        """The KPI values and statuses sent in ``recipient``'s previous digest."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(digest_values).where(digest_values.c.recipient == recipient)).mappings().all()
        return {r["kpi"]: dict(r) for r in rows}

    def save_digest_values(self, recipient: str, values: dict[str, tuple[float | None, str]]) -> None:
        """Remember what ``recipient``'s digest just sent: kpi -> (value, status)."""
        at = _now()
        with self.engine.begin() as conn:
            conn.execute(delete(digest_values).where(digest_values.c.recipient == recipient))
            if values:
                conn.execute(insert(digest_values), [
                    {"recipient": recipient, "kpi": k, "value": _float(v), "status": st, "sent_at": at}
                    for k, (v, st) in values.items()])


def _serialise(conn, key: str) -> None:
    """Saves of the same item wait for each other: on PostgreSQL a transaction-scoped advisory
    lock on the item (two sessions' delete + insert would otherwise collide on its key);
    SQLite already lets one writer at a time."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


@contextmanager
def _saving(what: str):
    """A save that collides with another one anyway (a database without advisory locks) is a
    :class:`Conflict` with a message, never an IntegrityError."""
    try:
        yield
    except (IntegrityError, OperationalError) as exc:
        if isinstance(exc, OperationalError) and "locked" not in str(exc).lower():
            raise
        raise Conflict(f"{what} was being saved by someone else at the same moment; nothing of yours was "
                       "saved. Reload and save again.") from exc


def _decode_checkpoints(text: str) -> list[Checkpoint]:
    return [Checkpoint(**c) for c in json.loads(text or "[]")]


def _float(value) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(value)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
