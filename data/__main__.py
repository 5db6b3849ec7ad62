"""Command line.

``python -m data demo --out PATH --customers N --seed S --end YYYY-MM-DD``
``python -m data import --profile crm --into URL [--mode replace|upsert] [--dry-run] [--map T.COL=SRC] PATH...``
``python -m data imports --into URL`` and ``python -m data undo-import BATCH --into URL``
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from data.build import build_demo
from data.demo import DemoSpec


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


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
    from data.imports import cli as import_cli  # the import commands live beside the importer

    import_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in import_cli.COMMANDS:
        return import_cli.run(args)

    if args.command == "demo":
        if args.customers < 1:
            parser.error("--customers must be at least 1")
        report = build_demo(args.out, DemoSpec(customers=args.customers, seed=args.seed, end=args.end))
        size = f", {report.bytes / 1e6:.1f} MB" if report.bytes is not None else ""
        rows = ", ".join(f"{name} {count:,}" for name, count in report.rows.items())
        print(f"built {report.target} in {report.seconds:.1f} s{size}: {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
