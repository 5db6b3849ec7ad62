"""The import commands of ``python -m data``: import, imports, undo-import.

Exit codes: 0 done (one line per table), 2 the files have problems (every one printed,
nothing written) or the command was refused, 1 the target could not be written.

Language: ``--lang es|en``, else that of ``LC_ALL``/``LC_MESSAGES``/``LANG`` (English otherwise),
for the help, the problems and every message (:func:`choose_language`, called before the
parsers are built so that ``--help`` is in it too).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb
from sqlalchemy.exc import SQLAlchemyError

from data import schema
from data.budget import over_budget
from data.imports import ImportRejected, parse_overrides, run_import
from data.imports.loader import UndoRefused, list_batches, memory_limit, undo
from data.imports.profiles import profile_names
from i18n import LANGUAGES, _, environment_language, ngettext, set_language

COMMANDS = ("import", "imports", "undo-import")


def choose_language(argv: list[str]) -> str:
    """Make the language of ``--lang X`` in ``argv`` (or of the environment) the current one."""
    chosen = None
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            chosen = argv[i + 1]
        elif arg.startswith("--lang="):
            chosen = arg.split("=", 1)[1]
    return set_language(chosen if chosen in LANGUAGES else environment_language())


def _language_argument(command) -> None:
    command.add_argument("--lang", choices=sorted(LANGUAGES), default=None,
                         help=_("language of the messages (default: from LC_ALL/LANG, else English)"))


def add_commands(commands) -> None:
    imp = commands.add_parser("import", help=_("import CRM exports (CSV, Excel, Parquet) into a database"))
    imp.add_argument("--profile", default="crm", choices=profile_names(), help=_("the shape of the export"))
    imp.add_argument("--into", required=True,
                     help=_("target: a DuckDB file (created if missing) or a PostgreSQL URL"))
    imp.add_argument("--mode", choices=("replace", "upsert"), default="replace",
                     help=_("replace the whole data set (default) or update rows by primary key"))
    imp.add_argument("--dry-run", action="store_true", help=_("check the files and write nothing"))
    imp.add_argument("--map", action="append", default=[], metavar="TABLE.COLUMN=SOURCE_COLUMN",
                     help=_("read a target column from another source column (repeatable)"))
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=_("files or folders"))
    _language_argument(imp)
    lst = commands.add_parser("imports", help=_("list the imports logged in a database"))
    lst.add_argument("--into", required=True, help=_("the database the imports were written to"))
    _language_argument(lst)
    und = commands.add_parser("undo-import", help=_("restore a database as it was before an import"))
    und.add_argument("batch", type=int, help=_("the number of the import, as listed by the imports command"))
    und.add_argument("--into", required=True, help=_("the database the import was written to"))
    _language_argument(und)


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
            return _("--into is the CRM source of the dashboard, which is never written to; "
                     "import into the workspace (data/workspace.duckdb) or another database")
    return None


def out_of_memory_message() -> str:
    """What the import says when it runs out of its memory budget (with ``{limit}``), in the current language."""
    return _("error: the import needs more memory than CRM_IMPORT_MEMORY_LIMIT allows ({limit}); nothing was "
             "imported. Set a larger limit (e.g. CRM_IMPORT_MEMORY_LIMIT=8GB) and run the import again.")


def run(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    if args.command in ("import", "undo-import"):
        why = refused_target(args.into)
        if why:
            print(_("error: {reason}").format(reason=why), file=err)
            return 2
    try:
        if args.command == "import":
            return _import(args, out, err)
        if args.command == "imports":
            batches = list_batches(args.into)
            if not batches:
                print(_("no imports logged in this database"), file=out)
            for b in batches:
                state = (_("undone {moment}").format(moment=f"{b['undone_at']:%Y-%m-%d %H:%M}") if b["undone_at"]
                         else _("in place"))
                rows = ", ".join(f"{t} {n:,}" for t, n in b["row_counts"].items())
                names = ", ".join(f["file"] for f in b["files"])
                print(f"{b['batch_id']}  {b['imported_at']:%Y-%m-%d %H:%M}  {b['imported_by'] or '-'}  "
                      f"{b['profile']}/{b['mode']}  {state}  [{names}]  {rows}", file=out)
            return 0
        counts = undo(args.into, args.batch)
        print(_("import {batch} undone; the tables now hold: {rows}").format(
            batch=args.batch, rows=", ".join(f"{t} {n:,}" for t, n in counts.items())), file=out)
        return 0
    except UndoRefused as exc:
        print(_("error: {reason}").format(reason=exc), file=err)
        return 2
    except SQLAlchemyError as exc:
        if over_budget(exc):
            print(out_of_memory_message().format(limit=memory_limit()), file=err)
            return 1
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(_("error: cannot use the target database: {reason}").format(reason=reason), file=err)
        return 1
    except (duckdb.Error, OSError, MemoryError) as exc:
        if over_budget(exc):
            print(out_of_memory_message().format(limit=memory_limit()), file=err)
            return 1
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(_("error: cannot use the target database: {reason}").format(reason=reason), file=err)
        return 1


def _import(args: argparse.Namespace, out, err) -> int:
    try:
        overrides = parse_overrides(args.map)
    except ValueError as exc:
        print(_("error: {reason}").format(reason=exc), file=err)
        return 2
    try:
        result = run_import(args.paths, args.profile, args.into, mode=args.mode, dry_run=args.dry_run,
                            overrides=overrides)
    except ImportRejected as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        for problem in errors:
            print(str(problem), file=err)
        for problem in exc.problems:
            if problem.severity == "warning":
                print(_("warning: {problem}").format(problem=problem), file=err)
        print(ngettext("{n} problem found; nothing was imported.", "{n} problems found; nothing was imported.",
                       len(errors)).format(n=len(errors)), file=err)
        return 2
    for problem in result.warnings:
        print(_("warning: {problem}").format(problem=problem), file=err)
    for table in schema.TABLES:
        if table.name in result.rows:
            print(ngettext("{table}: {n} row", "{table}: {n} rows", result.rows[table.name]).format(
                table=table.name, n=f"{result.rows[table.name]:,}"), file=out)
    if args.dry_run:
        print(_("dry run: the files are valid; nothing was written"), file=out)
    else:
        print(_("import {batch} written to {target} ({mode})").format(batch=result.batch_id, target=args.into,
                                                                     mode=result.mode), file=out)
    return 0
