"""Where the CRM data comes from, opened read-only, with its schema checked.

Resolution order of the connection URL:
1. the ``CRM_DB_URL`` environment variable;
2. ``[connections.crm] url`` in ``.streamlit/secrets.toml``;
3. the imported workspace ``duckdb:///data/workspace.duckdb`` when it exists (written by
   ``python -m data import`` or the Import data page);
4. the embedded demo database ``duckdb:///data/crm_demo.duckdb`` (built on first use).

The dashboard never writes to a source: DuckDB files are opened with ``read_only``,
PostgreSQL sessions with ``default_transaction_read_only``, SQLite with ``mode=ro``.
Spark SQL (``hive://host:port/database``, PyHive over the Spark Thrift server) has no
read-only session: the engine refuses every statement that is not a query before it is
sent (see :func:`_refuse_writes`); a server-side guarantee needs SELECT-only grants on
the server (Databricks Unity Catalog, Ranger, or a read-only storage credential).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, event, func, inspect, literal_column, select, union_all
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import registry
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.engine.reflection import ObjectKind, ObjectScope
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from data import schema
from data.budget import BudgetError, budget

# every DuckDB URL of the process opens with the app's dialect: duckdb_engine's, without the
# two DuckDB databases it opens in memory first (data/duckdb_dialect.py)
registry.register("duckdb", "data.duckdb_dialect", "Dialect")

ROOT = Path(__file__).resolve().parents[1]
DEMO_PATH = ROOT / "data" / "crm_demo.duckdb"
DEFAULT_URL = "duckdb:///data/crm_demo.duckdb"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"
WORKSPACE_PATH = ROOT / "data" / "workspace.duckdb"
WORKSPACE_URL = "duckdb:///data/workspace.duckdb"

#: The date column that tells each table's time span.
DATE_COLUMNS = {
    "customers": "created_at",
    "orders": "ordered_at",
    "opportunities": "created_at",
    "interactions": "occurred_at",
    "tickets": "opened_at",
    "campaigns": "started_at",
    "surveys": "answered_at",
    "survey_invitations": "sent_at",
}


class SourceError(RuntimeError):
    """The source cannot be used; the message says why, in words for the user."""


class SchemaMismatch(SourceError):
    """The source lacks tables or columns of the data model."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "The data source does not match the CRM data model (docs/data-model.md): "
            + "; ".join(problems)
        )


def workspace_path(environ: dict[str, str] | None = None) -> Path:
    """Where imports go by default: ``CRM_WORKSPACE_PATH`` or ``data/workspace.duckdb``."""
    environ = os.environ if environ is None else environ
    return Path(environ["CRM_WORKSPACE_PATH"]) if environ.get("CRM_WORKSPACE_PATH") else WORKSPACE_PATH


def workspace_url(environ: dict[str, str] | None = None) -> str:
    path = workspace_path(environ)
    return WORKSPACE_URL if path == WORKSPACE_PATH else f"duckdb:///{path.resolve()}"


def resolve_url(environ: dict[str, str] | None = None, secrets_path: Path = SECRETS_PATH,
                workspace: Path | None = None) -> str:
    """The source URL: CRM_DB_URL, then secrets.toml [connections.crm] url, then the imported
    workspace when it exists, then the demo."""
    environ = os.environ if environ is None else environ
    if environ.get("CRM_DB_URL"):
        return environ["CRM_DB_URL"]
    if secrets_path.exists():
        try:
            secrets = tomllib.loads(secrets_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SourceError(f"{secrets_path}: not valid TOML ({exc})") from exc
        url = secrets.get("connections", {}).get("crm", {}).get("url")
        if url:
            return str(url)
    if workspace is not None:  # tests pass the path; the app reads CRM_WORKSPACE_PATH
        return WORKSPACE_URL if workspace.exists() else DEFAULT_URL
    if workspace_path(environ).exists():
        return workspace_url(environ)
    return DEFAULT_URL


_SECRET_PARAMETER = re.compile(r"(?i)([?&;](?:password|passwd|pwd|secret|token|sslpassword)=)[^&;]*")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***: the one after ``user:`` (which may itself hold
    an unescaped ``@`` or ``:``: the host starts after the last ``@``) and any ``password=``
    in the query string. Never raises."""
    try:
        text = str(url)
        scheme, sep, rest = text.partition("://")
        if not sep:
            return _SECRET_PARAMETER.sub(r"\1***", text)
        query_at = rest.find("?")
        authority = rest if query_at < 0 else rest[:query_at]
        at = authority.rfind("@")
        if at >= 0:
            user, colon, _password = rest[:at].partition(":")
            rest = f"{user}{':***' if colon else ''}{rest[at:]}"
        return _SECRET_PARAMETER.sub(r"\1***", f"{scheme}://{rest}")
    except Exception:  # noqa: BLE001 — a message helper must never fail
        return "<unparseable URL>"


def is_default_demo(url: str) -> bool:
    return url == DEFAULT_URL


def _absolute_duckdb(url: URL) -> URL:
    """Relative DuckDB paths are taken from the project root, whatever the CWD."""
    database = url.database
    if database and database != ":memory:" and not Path(database).is_absolute():
        return url.set(database=str(ROOT / database))
    return url


def open_engine(url: str) -> Engine:
    """A read-only engine for the source URL (nothing is connected yet)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise SourceError(f"Not a database URL: {mask_url(url)!r}") from exc
    backend = parsed.get_backend_name()
    try:
        bounds = budget()
    except BudgetError as exc:
        raise SourceError(str(exc)) from exc
    try:
        if backend == "duckdb":
            parsed = _absolute_duckdb(parsed)
            if parsed.database not in (None, "", ":memory:") and not Path(parsed.database).exists():
                raise SourceError(f"DuckDB file not found: {parsed.database}")
            # the app's dialect (registered above): its compiled-statement cache is on
            engine = create_engine(parsed, connect_args={"read_only": True})
            # bounded memory and threads, spilling to disk beyond the limit (data/budget.py); set
            # per connection, as another reader of the same file may have opened it without them
            event.listen(engine, "connect", bounds.apply_to_duckdb)
            return engine
        if backend == "postgresql":
            # every session starts read-only, and every transaction is made READ ONLY when it
            # begins (a session default alone is bypassed by BEGIN READ WRITE); statements time out
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={
                "options": f"-c default_transaction_read_only=on {bounds.postgresql_options()}"})
            event.listen(engine, "begin", _read_only_transaction)
            event.listen(engine, "connect", _read_only_driver)
            event.listen(engine, "before_cursor_execute", _refuse_transaction_control)
            return engine
        if backend == "sqlite":
            path = parsed.database or ""
            return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        if backend == "hive":
            return _spark_engine(parsed)
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise SourceError(f"No driver installed for {backend!r} ({exc})") from exc


def separate_connections(engine: Engine) -> bool:
    """True when each ``engine.connect()`` is a connection of its own to the same data, so
    that two threads can run statements at once: a database server or a database file. Not
    an in-memory database (each connection would be another, empty one) nor a pool that
    hands every caller the same connection."""
    if isinstance(engine.pool, (StaticPool, SingletonThreadPool)):
        return False
    return not (engine.url.get_backend_name() in ("duckdb", "sqlite")
                and engine.url.database in (None, "", ":memory:"))


#: Statements a read-only Spark source lets through (first keyword).
SPARK_READ_STATEMENTS = frozenset({"select", "with", "show", "describe", "desc", "explain", "values"})
_WRITE_AFTER_CTE = re.compile(r"\)\s*(insert|merge|update|delete)\b", re.IGNORECASE)


def _refuse_writes(conn, cursor, statement: str, parameters, context, executemany) -> None:
    """Stop anything but a query before it reaches a Spark server (it has no read-only mode)."""
    words = statement.lstrip(" \t\r\n(").split(None, 1)
    first = words[0].lower() if words else ""
    if first not in SPARK_READ_STATEMENTS or (first == "with" and _WRITE_AFTER_CTE.search(statement)):
        raise SourceError(f"The Spark source is read-only: the dashboard does not send {first.upper()} statements.")


def _spark_engine(url: URL) -> Engine:
    """A Spark SQL engine (PyHive): queries only, and every session in UTC like the other
    sources (naive timestamps are read as UTC wall-clock times)."""
    engine = create_engine(url, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _utc(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET spark.sql.session.timeZone=UTC")
            cursor.fetchall()
        finally:
            cursor.close()

    event.listen(engine, "before_cursor_execute", _refuse_writes)
    return engine


def table_names(conn: Connection) -> set[str]:
    """Names of the tables and views the connection sees (a company may expose its CRM
    to the dashboard as views named after the data model's tables).

    PyHive's ``get_table_names`` reads the first column of ``SHOW TABLES``, which on
    Spark is the database (namespace), not the table: there the ``tableName`` column is read.
    """
    if conn.dialect.name == "hive":
        result = conn.exec_driver_sql("SHOW TABLES")
        keys = list(result.keys())
        column = keys.index("tableName") if "tableName" in keys else 0
        return {row[column] for row in result}
    inspector = inspect(conn)
    return set(inspector.get_table_names()) | set(inspector.get_view_names())


def _read_only_transaction(conn: Connection) -> None:
    """Engine ``begin`` hook: the transaction just begun is READ ONLY, and locked so: after a
    first query PostgreSQL refuses to switch it back ("must be set before any query"), so
    a later ``BEGIN READ WRITE`` or ``SET TRANSACTION READ WRITE`` cannot undo it."""
    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    conn.exec_driver_sql("SELECT 1")


#: Statements that would end or reconfigure the read-only transaction from SQL text.
_TRANSACTION_CONTROL = re.compile(
    r"(?ix)(^|;)\s*(begin|start\s+transaction|commit|end|rollback|abort|prepare\s+transaction|"
    r"set\s+(session\s+|local\s+)?(characteristics|transaction|default_transaction_read_only|transaction_read_only)|"
    r"reset\s+(all|default_transaction_read_only|transaction_read_only))\b")


_SQL_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)


class ReadOnlyViolation(SourceError):
    """SQL sent to a source that tried to leave the read-only transaction."""


def _refuse_transaction_control(conn, cursor, statement, parameters, context, executemany) -> None:
    """Engine ``before_cursor_execute`` hook: transaction control sent as SQL text is refused
    (only the dashboard's own ``SET TRANSACTION READ ONLY`` passes)."""
    if statement.strip().upper() == "SET TRANSACTION READ ONLY":
        return
    if _TRANSACTION_CONTROL.search(_SQL_COMMENTS.sub(" ", statement)):
        raise ReadOnlyViolation("The data source is opened read-only: transaction control sent as SQL "
                                "(BEGIN, COMMIT, SET TRANSACTION ...) is refused, so no read-only transaction "
                                "can be turned into a read-write one.")


def _read_only_driver(dbapi_connection, _record) -> None:
    """Pool ``connect`` hook: the driver itself opens every transaction READ ONLY (also one it
    starts after a COMMIT sent as SQL, which SQLAlchemy does not see)."""
    if hasattr(dbapi_connection, "read_only"):  # psycopg 3
        dbapi_connection.read_only = True
    elif hasattr(dbapi_connection, "set_session"):  # psycopg2
        dbapi_connection.set_session(readonly=True)


def schema_problems(conn: Connection) -> list[str]:
    """Every table and column of the data model that the source lacks (empty = fine)."""
    present = table_names(conn)
    columns = reflected_columns(conn, present)
    problems: list[str] = []
    for table in schema.TABLES:
        if table.name not in present:
            problems.append(f"missing table {table.name}")
            continue
        have = {c["name"] for c in columns.get(table.name, [])}
        missing = [c.name for c in table.columns if c.name not in have]
        if missing:
            problems.append(f"table {table.name} lacks column(s) {', '.join(missing)}")
    wrong = type_problems(columns)
    if wrong:
        problems.append("wrong column types (found, expected): " + ", ".join(wrong))
    return problems


def reflected_columns(conn: Connection, present: set[str]) -> dict[str, list[dict]]:
    """The source's columns of the data model's tables, reflected in one pass where the
    dialect can (DuckDB: one catalogue query instead of one per table, ~0.9 s at 1M rows)."""
    wanted = [t.name for t in schema.TABLES if t.name in present]
    if not wanted:
        return {}
    multi = inspect(conn).get_multi_columns(filter_names=wanted, kind=ObjectKind.ANY, scope=ObjectScope.ANY)  # views too
    return {name: cols for (_schema, name), cols in multi.items()}


#: Accepted reflected types per declared type (a family: any text type for Text, ...).
TYPE_FAMILIES: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (sqltypes.Boolean, (sqltypes.Boolean,), "boolean"),
    (sqltypes.Integer, (sqltypes.Integer, sqltypes.Numeric), "integer"),
    (sqltypes.Numeric, (sqltypes.Numeric, sqltypes.Integer), "numeric"),
    (sqltypes.DateTime, (sqltypes.DateTime, sqltypes.Date), "timestamp"),
    (sqltypes.String, (sqltypes.String,), "text"),
)


def _expected(declared) -> tuple[tuple[type, ...], str] | None:
    for kind, accepted, label in TYPE_FAMILIES:
        if isinstance(declared, kind):
            return accepted, label
    return None


def type_problems(columns: dict[str, list[dict]]) -> list[str]:
    """Every ``table.column`` whose type in the source is not of the declared kind, as
    ``"orders.amount text, expected numeric"`` (types the driver cannot name are accepted)."""
    out = []
    for table in schema.TABLES:
        if table.name not in columns:
            continue
        found = {c["name"]: c["type"] for c in columns[table.name]}
        for column in table.columns:
            actual = found.get(column.name)
            if isinstance(actual, sqltypes.TypeDecorator):  # PyHive reflects HiveTimestamp, HiveDecimal...
                actual = actual.impl_instance
            expected = _expected(column.type)
            if actual is None or expected is None or isinstance(actual, sqltypes.NullType):
                continue
            accepted, label = expected
            if not isinstance(actual, accepted):
                shown = (_expected(actual) or (None, str(actual).lower()))[1]
                out.append(f"{table.name}.{column.name} {shown}, expected {label}")
    return out


def _transport_errors() -> tuple[type[Exception], ...]:
    """Errors a driver raises outside the DBAPI: PyHive lets thrift's transport errors
    (server down, wrong authentication mode) through unwrapped."""
    try:
        from thrift.Thrift import TException
    except ImportError:
        return (OSError,)
    return (OSError, TException)


#: SQLAlchemy dialect names as the products are called (Spark's Thrift server speaks Hive's).
PRODUCT_NAMES = {"duckdb": "DuckDB", "postgresql": "PostgreSQL", "hive": "Spark SQL", "sqlite": "SQLite"}


@dataclass(frozen=True)
class Source:
    """An opened, checked source."""

    url: str
    engine: Engine

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def product(self) -> str:
        """The database product as people name it ("DuckDB", "PostgreSQL", "Spark SQL")."""
        return PRODUCT_NAMES.get(self.dialect, self.dialect)


def connect(url: str | None = None, build_missing_demo: bool = True) -> Source:
    """Open the source read-only and check its schema; SourceError with a clear message.

    The embedded demo database is generated first when it does not exist yet.
    """
    url = url or resolve_url()
    if is_default_demo(url) and build_missing_demo and not DEMO_PATH.exists():
        ensure_demo()
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            problems = schema_problems(conn)
    except (SQLAlchemyError, *_transport_errors()) as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise SourceError(f"Cannot reach the data source {mask_url(url)}: {reason}") from exc
    if problems:
        engine.dispose()
        raise SchemaMismatch(problems)
    return Source(url=url, engine=engine)


def ensure_demo(path: Path = DEMO_PATH, customers: int = 5_000, seed: int = 42,
                end: date | None = None) -> Path:
    """Build the embedded demo database at ``path`` if it is missing."""
    if path.exists():
        return path
    from data.build import build_demo  # only needed the first time
    from data.demo import DemoSpec

    build_demo(path, DemoSpec(customers=customers, seed=seed, end=end or date.today()))
    return path


def table_summaries(conn: Connection) -> list[dict]:
    """Row count and time span of each table (one statement: an aggregate per table, in
    the order of :data:`data.schema.TABLES`)."""
    parts = [select(literal_column(str(i)).label("i"), func.count().label("rows"),
                    func.min(table.c[DATE_COLUMNS[table.name]]).label("first"),
                    func.max(table.c[DATE_COLUMNS[table.name]]).label("last")).select_from(table)
             for i, table in enumerate(schema.TABLES)]
    found = {int(row.i): row for row in conn.execute(union_all(*parts))}
    return [{"table": table.name, "rows": int(found[i].rows), "date_column": DATE_COLUMNS[table.name],
             "first": found[i].first, "last": found[i].last} for i, table in enumerate(schema.TABLES)]
