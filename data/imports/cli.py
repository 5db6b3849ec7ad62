"""The import commands of ``python -m data``: import, imports, undo-import.

Exit codes: 0 done (one line per table), 2 the files have problems (every one printed,
nothing written) or the command was refused, 1 the target could not be written.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import duckdb
from sqlalchemy.exc import SQLAlchemyError

from data import schema
from data.budget import over_budget
from data.imports import ImportOutOfMemory, ImportRejected, parse_overrides, run_import
from data.imports.loader import UndoRefused, list_batches, memory_limit, undo
from data.imports.profiles import detect_profile, profile_names
from data.imports.reader import expand_paths, peek_headers

COMMANDS = ("import", "imports", "undo-import")


def add_commands(commands) -> None:
    imp = commands.add_parser("import", help="import CRM exports (CSV, Excel, Parquet) into a database")
    imp.add_argument("--profile", default=None, choices=profile_names(),
                     help="the shape of the export (default: detected from the column names)")
    imp.add_argument("--into", required=True,
                     help="target: a DuckDB file (created if missing) or a PostgreSQL URL")
    imp.add_argument("--mode", choices=("replace", "upsert"), default="replace",
                     help="replace the whole data set (default) or update rows by primary key")
    imp.add_argument("--dry-run", action="store_true", help="check the files and write nothing")
    imp.add_argument("--map", action="append", default=[], metavar="TABLE.COLUMN=SOURCE_COLUMN",
                     help="read a target column from another source column (repeatable)")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    lst = commands.add_parser("imports", help="list the imports logged in a database")
    lst.add_argument("--into", required=True)
    und = commands.add_parser("undo-import", help="restore a database as it was before an import")
    und.add_argument("batch", type=int)
    und.add_argument("--into", required=True)


def _same_target(into: str, source: str) -> bool:
    def norm(url: str) -> str:
        url = url if "://" in url else f"duckdb:///{url}"
        if url.startswith("duckdb:///"):
            return "duckdb:///" + str(Path(url[len("duckdb:///"):]).resolve())
        return url

    return norm(into) == norm(source)


def refused_target(into: str, environ=None) -> str | None:
    """Why ``into`` may not be written (it is the dashboard's CRM source), or None.

    The CRM source (CRM_DB_URL, secrets.toml) and the demo are never written to; the
    imported workspace is the one source meant to be written.
    """
    from data.sources import ROOT, SourceError, resolve_url, workspace_url

    environ = os.environ if environ is None else environ
    try:
        source = resolve_url(environ)
    except SourceError:
        source = environ.get("CRM_DB_URL") or ""
    if source and source != workspace_url(environ):
        if source.startswith("duckdb:///") and not source.startswith("duckdb:////"):
            source = "duckdb:///" + str(ROOT / source[len("duckdb:///"):]) if not Path(
                source[len("duckdb:///"):]).is_absolute() else source
        if _same_target(into, source):
            return ("--into is the CRM source of the dashboard, which is never written to; "
                    "import into the workspace (data/workspace.duckdb) or another database")
    return None


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    # a database closed by a failed commit fails again when its connection goes back to the pool:
    # that is logged with a traceback, which must not reach the user (the error is reported below)
    logging.getLogger("sqlalchemy.pool").addHandler(logging.NullHandler())
    if args.command in ("import", "undo-import"):
        why = refused_target(args.into)
        if why:
            print(f"error: {why}", file=err)
            return 2
    try:
        if args.command == "import":
            return _import(args, out, err)
        if args.command == "imports":
            batches = list_batches(args.into)
            if not batches:
                print("no imports logged in this database", file=out)
            for b in batches:
                state = f"undone {b['undone_at']:%Y-%m-%d %H:%M}" if b["undone_at"] else "in place"
                rows = ", ".join(f"{t} {n:,}" for t, n in b["row_counts"].items())
                names = ", ".join(f["file"] for f in b["files"])
                print(f"{b['batch_id']}  {b['imported_at']:%Y-%m-%d %H:%M}  {b['imported_by'] or '-'}  "
                      f"{b['profile']}/{b['mode']}  {state}  [{names}]  {rows}", file=out)
            return 0
        counts = undo(args.into, args.batch)
        print(f"import {args.batch} undone; the tables now hold: "
              + ", ".join(f"{t} {n:,}" for t, n in counts.items()), file=out)
        return 0
    except UndoRefused as exc:
        print(f"error: {exc}", file=err)
        return 2
    except ImportOutOfMemory as exc:
        print(f"error: {exc}", file=err)
        return 1
    except SQLAlchemyError as exc:
        if over_budget(exc):
            print("error: the import needs more memory than CRM_IMPORT_MEMORY_LIMIT allows "
                  f"({memory_limit()}); nothing was imported. Set a larger limit (e.g. "
                  "CRM_IMPORT_MEMORY_LIMIT=8GB) and run the import again.", file=err)
            return 1
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"error: cannot use the target database: {reason}", file=err)
        return 1
    except (duckdb.Error, OSError, MemoryError) as exc:
        if over_budget(exc):
            print("error: the import needs more memory than CRM_IMPORT_MEMORY_LIMIT allows "
                  f"({memory_limit()}); nothing was imported. Set a larger limit (e.g. "
                  "CRM_IMPORT_MEMORY_LIMIT=8GB) and run the import again.", file=err)
            return 1
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: cannot use the target database: {reason}", file=err)
        return 1


def _import(args: argparse.Namespace, out, err) -> int:
    try:
        overrides = parse_overrides(args.map)
    except ValueError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.profile is None:
        args.profile = detect_profile([h for p in expand_paths(args.paths) if p.is_file() for h in peek_headers(p)])
        if args.profile != "crm":
            print(f"note: the files look like a {args.profile} export; importing them with --profile {args.profile} "
                  "(give --profile to choose another)", file=err)
    try:
        result = run_import(args.paths, args.profile, args.into, mode=args.mode, dry_run=args.dry_run,
                            overrides=overrides)
    except ImportRejected as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        for problem in errors:
            print(str(problem), file=err)
        for problem in exc.problems:
            if problem.severity == "warning":
                print(f"warning: {problem}", file=err)
        print(f"{len(errors)} problem(s) found; nothing was imported.", file=err)
        return 2
    for problem in result.warnings:
        print(f"warning: {problem}", file=err)
    for table in schema.TABLES:
        if table.name in result.rows:
            print(f"{table.name}: {result.rows[table.name]:,} rows", file=out)
    if args.dry_run:
        print("dry run: the files are valid; nothing was written", file=out)
    else:
        print(f"import {result.batch_id} written to {args.into} ({result.mode})", file=out)
    return 0
