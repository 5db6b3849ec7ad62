"""Command line: ``python -m data demo --out PATH --customers N --seed S --end YYYY-MM-DD``."""

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
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
