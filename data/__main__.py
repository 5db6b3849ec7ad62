"""Command line.

``python -m data demo --out PATH --customers N --seed S --end YYYY-MM-DD``
``python -m data import --profile crm --into URL [--mode replace|upsert] [--dry-run] [--map T.COL=SRC] PATH...``
``python -m data imports --into URL`` and ``python -m data undo-import BATCH --into URL``
``python -m data export-parquet --source URL --out DIR [--location URI] [--database NAME]
[--register hive://HOST:PORT]`` (the eight tables as Parquet, and the Spark SQL that registers them)
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from data.build import build_demo
from data.demo import DemoSpec


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _refusal(out: str, force: bool) -> str | None:
    """Why the demo must not be written to ``out`` (None when it may): an existing file is
    replaced only with --force; a database that already holds tables never is."""
    if "://" not in out:
        if Path(out).exists() and not force:
            return f"{out} already exists; pass --force to replace it"
        return None
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    from data.sources import mask_url

    try:
        engine = create_engine(out)
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
        engine.dispose()
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return f"cannot open {mask_url(out)}: {reason}"
    if tables:
        return (f"the database {mask_url(out)} is not empty ({len(tables)} tables, e.g. {', '.join(sorted(tables)[:3])}); "
                "the demo is only written to an empty database")
    return None


def main(argv: list[str] | None = None) -> int:
    from data.imports.cli import choose_language

    choose_language(sys.argv[1:] if argv is None else argv)  # the import commands' help and messages
    parser = argparse.ArgumentParser(prog="python -m data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="generate the demo CRM database")
    demo.add_argument("--out", required=True,
                      help="DuckDB file path, or a database URL (e.g. postgresql+psycopg://...)")
    demo.add_argument("--customers", type=int, default=5_000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--end", type=_date, default=date.today(),
                      help="last day of history (default: today); three years before it are generated")
    demo.add_argument("--force", action="store_true",
                      help="replace an existing file (a database URL must still be empty)")
    export = commands.add_parser(
        "export-parquet", help="export the eight tables to Parquet folders, with the Spark SQL that registers them")
    export.add_argument("--source", default=None,
                        help="database URL to read (default: CRM_DB_URL, secrets.toml, then the demo)")
    export.add_argument("--out", required=True, help="folder to write <table>/part-00000.parquet and create_tables.sql")
    export.add_argument("--location", default=None,
                        help="where Spark will read the folders (e.g. s3://bucket/crm); default: --out")
    export.add_argument("--database", default="crm", help="Spark database for the tables (default: crm)")
    export.add_argument("--register", default=None, metavar="HIVE_URL",
                        help="also run create_tables.sql on this Spark Thrift server (hive://host:port)")
    from data.imports import cli as import_cli  # the import commands live beside the importer

    import_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in import_cli.COMMANDS:
        return import_cli.run(args)

    if args.command == "export-parquet":
        return _export_parquet(args)

    if args.command == "demo":
        if args.customers < 1:
            parser.error("--customers must be at least 1")
        refusal = _refusal(args.out, args.force)
        if refusal:
            print(f"error: {refusal}", file=sys.stderr)
            return 2
        report = build_demo(args.out, DemoSpec(customers=args.customers, seed=args.seed, end=args.end))
        size = f", {report.bytes / 1e6:.1f} MB" if report.bytes is not None else ""
        rows = ", ".join(f"{name} {count:,}" for name, count in report.rows.items())
        print(f"built {report.target} in {report.seconds:.1f} s{size}: {rows}")
    return 0


def _export_parquet(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from data.parquet import create_table_statements, export_parquet, register_tables, write_sql
    from data.sources import SourceError, connect

    out = Path(args.out).resolve()
    location = args.location or str(out)
    try:
        create_table_statements(location, args.database)  # checks the names before any work
        source = connect(args.source, build_missing_demo=False)
    except (ValueError, SourceError) as exc:
        print(f"export-parquet: {exc}", file=sys.stderr)
        return 2
    with source.engine.connect() as conn:
        rows = export_parquet(conn, out, progress=lambda name, n: print(f"{name}: {n:,} rows"))
    source.engine.dispose()
    sql = write_sql(out, location, args.database)
    print(f"wrote {sum(rows.values()):,} rows to {out} and the Spark SQL to {sql}")
    if args.register:
        engine = create_engine(args.register)
        try:
            with engine.connect() as conn:
                register_tables(conn, location, args.database)
        except (SQLAlchemyError, OSError) as exc:
            print(f"export-parquet: could not register the tables on {args.register}: {exc}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
        print(f"registered the eight tables in database {args.database} on {args.register}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
