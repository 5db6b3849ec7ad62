"""Benchmark: ``python -m data import`` of a demo exported as CSV, against DuckDB's own
``COPY ... FROM`` of the same files into the same (empty) tables — the floor.

The demo database (default: bench/work/crm_100k.duckdb, built on first use; about 4.8 M rows) is
exported once as one CSV per table into bench/work/. Each run starts a fresh target file
in a child process (so its peak RSS is its own) and times, interleaved:

- ``copy``: create the eight tables, ``COPY <table> FROM '<table>.csv' (HEADER)`` each;
- ``import``: ``data.imports.run_import`` (sniff, read all text, map, type, every check,
  load in one transaction, log the batch).

Usage::

    .venv/bin/python bench/bench_import.py                        # 100k, 3 runs
    .venv/bin/python bench/bench_import.py --source PATH.duckdb --runs 3 --label 1M
    nice -n 10 .venv/bin/python -m bench.bench_import --customers 1000000 --runs 1 --temp-csv

``--customers N`` uses bench/work/crm_<N>.duckdb (built on first use, as bench_report does);
``--temp-csv`` exports into a temporary folder deleted at the end (the 1M export is ~4 GB).

Writes ``bench/results_import.md`` (appends a section per --label).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import schema  # noqa: E402
from data.imports.loader import memory_limit  # noqa: E402

WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results_import.md"


def export_csv(source: Path, folder: Path) -> dict[str, int]:
    """One CSV per table (DuckDB's COPY TO), reused when already there; rows per table."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(source), read_only=True, config={"memory_limit": memory_limit()})
    try:
        rows = {}
        for table in schema.TABLES:
            path = folder / f"{table.name}.csv"
            if not path.exists():
                con.execute(f"COPY {table.name} TO '{path}.part' (HEADER)")
                os.replace(f"{path}.part", path)
            rows[table.name] = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
        return rows
    finally:
        con.close()


def one_copy(folder: Path, target: Path) -> dict:
    from sqlalchemy import create_engine

    started = time.perf_counter()
    engine = create_engine(f"duckdb:///{target}")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SET memory_limit = '{memory_limit()}'")  # the importer's bound, for a fair floor
        schema.create_schema(conn)
        for table in schema.TABLES:
            conn.exec_driver_sql(f"COPY {table.name} FROM '{folder / (table.name + '.csv')}' (HEADER)")
    engine.dispose()
    return {"seconds": time.perf_counter() - started}


def one_import(folder: Path, target: Path) -> dict:
    from data.imports import run_import

    started = time.perf_counter()
    result = run_import([folder], "crm", str(target))
    return {"seconds": time.perf_counter() - started, "rows": sum(result.rows.values()),
            "errors": len(result.errors)}


def child(kind: str, folder: Path, target: Path) -> dict:
    """Run one measurement in a fresh process; its wall time and peak RSS."""
    target.unlink(missing_ok=True)
    Path(str(target) + ".wal").unlink(missing_ok=True)
    done = subprocess.run([sys.executable, __file__, "--child", kind, "--folder", str(folder),
                           "--target", str(target)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    out = json.loads(done.stdout.strip().splitlines()[-1])
    target.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None,
                        help="the demo DuckDB file to export (default: bench/work/crm_100k.duckdb, built if missing)")
    parser.add_argument("--customers", type=int, default=None,
                        help="use the demo of this many customers in bench/work/ (built if missing)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default=None, help="section title (default: from the number of customers)")
    parser.add_argument("--import-only", action="store_true",
                        help="measure only the import, not the COPY floor (the 1M run, for time)")
    parser.add_argument("--temp-csv", action="store_true",
                        help="export into a temporary folder, deleted at the end (default: kept in bench/work/)")
    parser.add_argument("--child", choices=("copy", "import"))
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--target", type=Path)
    args = parser.parse_args(argv)

    if args.child:
        out = (one_copy if args.child == "copy" else one_import)(args.folder, args.target)
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return 0

    if args.source is None:
        from bench.bench_report import database

        args.source = database(args.customers or 100_000)
    if not args.source.exists():
        print(f"no demo database at {args.source}; build one with "
              f"`python -m data demo --out {args.source} --customers 100000`", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    if args.temp_csv:
        folder = Path(tempfile.mkdtemp(prefix="bench-import-csv-", dir=WORK))
        try:
            return measure(args, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            for kind in ("copy", "import"):
                for leftover in WORK.glob(f"bench_import_{kind}.duckdb*"):
                    shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink()
    return measure(args, WORK / f"import_csv_{args.source.stem}")


def measure(args: argparse.Namespace, folder: Path) -> int:
    """Export, run the interleaved measurements, write the results section."""
    rows = export_csv(args.source, folder)
    total_rows = sum(rows.values())
    csv_bytes = sum((folder / f"{t}.csv").stat().st_size for t in rows)
    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"copy": [], "import": []}
    for i in range(args.runs):
        order = ("copy", "import") if i % 2 == 0 else ("import", "copy")
        for kind in order:
            if args.import_only and kind == "copy":
                continue
            runs[kind].append(child(kind, folder, WORK / f"bench_import_{kind}.duckdb"))
            print(f"run {i + 1} {kind}: {runs[kind][-1]}", file=sys.stderr)
    assert all(r["errors"] == 0 and r["rows"] == total_rows for r in runs["import"])
    if args.label is None:
        customers = rows["customers"]
        args.label = (f"{customers // 1_000_000}M customers" if customers % 1_000_000 == 0
                      else f"{customers // 1000}k customers")
    runs = {k: v for k, v in runs.items() if v}
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    peak = {k: max(r["peak_rss_mib"] for r in v) for k, v in runs.items()}
    lines = [
        f"## {args.label}: {total_rows:,} rows in {len(rows)} CSV files ({csv_bytes / 1e6:,.0f} MB)",
        "",
        f"- source: `{args.source}`; {args.runs} runs of each, interleaved, each in a fresh process and a fresh target file",
        f"- CPU: `nproc` = {os.cpu_count()}; load average before: {load_before[0]:.2f} / {load_before[1]:.2f} / "
        f"{load_before[2]:.2f} (a shared machine: other jobs were running); after: {os.getloadavg()[0]:.2f}",
        f"- Python {platform.python_version()}, duckdb {__import__('duckdb').__version__}; DuckDB memory_limit "
        f"{memory_limit()} for both (`CRM_IMPORT_MEMORY_LIMIT`); the machine has "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        "",
        "| | median seconds | all runs (s) | rows / s | peak RSS (MiB) |",
        "|---|---:|---|---:|---:|",
    ]
    for kind, label in (("copy", "floor: DuckDB `COPY ... FROM` into the eight tables"),
                        ("import", "`python -m data import --profile crm` (validated, atomic, logged)")):
        if kind not in runs:
            continue
        secs = ", ".join(f"{r['seconds']:.1f}" for r in runs[kind])
        lines.append(f"| {label} | {med[kind]:.1f} | {secs} | {total_rows / med[kind]:,.0f} | {peak[kind]:,.0f} |")
    verdict = (f"**The import takes {med['import'] / med['copy']:.2f}x the time of the floor** (aim: within 2x)."
               if "copy" in runs else
               f"**Peak RSS of the import: {peak['import'] / 1024:.1f} GiB** (aim: within the machine's memory); "
               "the floor was not measured in this run (`--import-only`).")
    lines += ["", verdict, "",
              "Rows per table: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()), ""]
    header = ("# Import benchmark\n\n`bench/bench_import.py`: the demo exported as CSV, imported with the "
              "`crm` profile into a new DuckDB file, against DuckDB's own `COPY ... FROM` of the same files "
              "into the same empty tables in the same run.\n\n")
    previous = RESULTS.read_text() if RESULTS.exists() else header
    sections = [s for s in previous.split("\n## ") if not s.startswith(f"{args.label}:")]
    text = "\n## ".join(sections).rstrip() + "\n\n" + "\n".join(lines)
    RESULTS.write_text(text)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
