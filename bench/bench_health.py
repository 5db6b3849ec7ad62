"""Benchmark: what the source health checks cost a page, cold and kept on disk.

On the 1M-customer demo (44M interactions), each measurement in a fresh process (the OS page
cache stays warm; the database is opened read-only through ``data.sources.open_engine``, so
with the app's memory and thread budget):

- **previous**: the checks as counted before this change (every check run, duplicate keys as
  ``id IN (ids seen twice)``, foreign keys as ``NOT IN``, one more scan per failing table);
- **cold**: ``metrics.health.count_checks`` (what a data refresh costs: the checks the
  source's constraints enforce are skipped, key checks as one aggregate or an anti-join);
- **cold, no constraints**: the same with no constraint trusted (a source that declares no
  keys, or PostgreSQL's foreign keys);
- **kept on disk**: a new engine's first ``health_report`` (a restarted server or the CLI):
  the fingerprint read (a DuckDB file's: from the file system) and the report file loaded;
- **page**: ``health_report`` again on the same engine (within ``VERIFY_SECONDS``).

A last section splits the no-constraints run into its queries (each check's cost).

Usage::

    .venv/bin/python -m bench.bench_health                 # 1M demo, 3 runs
    .venv/bin/python -m bench.bench_health --db PATH --runs 5

Writes ``bench/results_health.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results_health.md"
SHARED_1M = Path("/work/bench-data/crm_1m.duckdb")
KINDS = ("previous", "cold", "cold_unconstrained", "kept", "page")
LABELS = {"previous": "previous checks", "cold": "cold: count_checks", "cold_unconstrained":
          "cold, no constraint trusted", "kept": "kept on disk: new engine", "page": "page: same engine"}


def _previous_counts(conn, cutoff) -> dict[str, int]:
    """The checks as the previous version counted them (the baseline)."""
    from sqlalchemy import func, or_, select

    from data import schema
    from metrics import health
    from metrics.sql import count_if

    counts = {}
    for table in schema.TABLES:
        checks = health.checks_of(table.name)
        row_checks = [c for c in checks if not c.scan]
        values = conn.execute(select(*[count_if(c.broken(cutoff)) for c in row_checks], func.count())
                              .select_from(table)).one()
        counts.update({c.key: int(n or 0) for c, n in zip(row_checks, values)})
        for check in (c for c in checks if c.scan):
            counts[check.key] = int(conn.execute(select(func.count()).select_from(table)
                                                 .where(check.broken(cutoff))).scalar() or 0)
        failing = [c.broken(cutoff) for c in checks if c.excluded and counts[c.key]]
        if failing:
            conn.execute(select(func.count()).select_from(table).where(or_(*failing))).scalar()
    return counts


def worker(kind: str, db: Path) -> dict:
    """One measurement in this process: seconds, and the counts found (to compare)."""
    from data.sources import open_engine
    from metrics import health

    engine = open_engine(f"duckdb:///{db}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1").fetchall()  # the connection is open before timing
        cutoff = health.cutoff_for(date.today())
        split: list[tuple[str, float]] = []
        started = time.perf_counter()
        if kind == "previous":
            counts = _previous_counts(conn, cutoff)
        elif kind == "cold":
            counts = health.count_checks(conn).counts
        elif kind == "cold_unconstrained":
            original = health.enforced_constraints
            health.enforced_constraints = lambda _conn: frozenset()
            from sqlalchemy import event

            def before(*_args):
                split.append(["", time.perf_counter()])

            def after(_conn, _cursor, statement, *_rest):
                split[-1][0] = " ".join(statement.split())[:110]
                split[-1][1] = time.perf_counter() - split[-1][1]
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)
            counts = health.count_checks(conn).counts
            health.enforced_constraints = original
        elif kind == "kept":
            counts = health.health_report(conn).counts
        elif kind == "page":
            health.health_report(conn)
            started = time.perf_counter()
            counts = health.health_report(conn).counts
        seconds = time.perf_counter() - started
    engine.dispose()
    return {"kind": kind, "seconds": seconds, "counts": counts, "split": split}


def _run(kind: str, db: Path, cache: str) -> dict:
    env = {**os.environ, "CRM_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "bench.bench_health", "--worker", kind, "--db", str(db)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="DuckDB demo file (default: the shared 1M demo)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.db is None:
        if SHARED_1M.exists():
            args.db = SHARED_1M
        else:
            from bench.bench_report import database

            args.db = database(1_000_000)
    if args.worker:
        print(json.dumps(worker(args.worker, args.db), default=str))
        return

    cache = tempfile.mkdtemp(prefix="bench-health-")
    runs: dict[str, list[float]] = {k: [] for k in KINDS}
    loads, counts, split = [], {}, []
    for run in range(args.runs):
        for kind in KINDS:
            if kind == "kept" and not any(Path(cache).glob("health-*.json")):
                _run("page", args.db, cache)  # first keep a report (a first health_report counts and saves)
            result = _run(kind, args.db, cache)
            runs[kind].append(result["seconds"])
            counts[kind] = result["counts"]
            if result["split"]:
                split = result["split"]
            loads.append(_load())
            print(f"run {run + 1} {kind}: {result['seconds']:.3f} s (load {loads[-1]})", flush=True)
    reference = counts["previous"]
    for kind in ("cold", "cold_unconstrained", "kept", "page"):
        assert counts[kind] == reference, f"{kind} counts differ from the previous checks"

    medians = {k: statistics.median(v) for k, v in runs.items()}
    lines = [
        "# Source health checks: cold and kept on disk",
        "",
        f"Measured {datetime.now():%Y-%m-%d %H:%M} with `python -m bench.bench_health --runs {args.runs}` on "
        f"`{args.db.name}` ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average during the runs {loads[0]} ... {loads[-1]}). Each figure is one fresh process "
        "(OS page cache warm), the database opened read-only with the app's memory and thread budget. "
        "Every variant found the same counts as the previous checks.",
        "",
        "| what | median s | runs (s) | vs previous |",
        "|---|---:|---|---:|",
    ]
    for kind in KINDS:
        ratio = medians[kind] / medians["previous"]
        lines.append(f"| {LABELS[kind]} | {medians[kind]:.3f} | {', '.join(f'{v:.3f}' for v in runs[kind])} | "
                     f"{ratio:.3f}x |")
    lines += [
        "",
        "- *previous*: every check run, duplicate keys as `id IN (ids seen twice)`, foreign keys as `NOT IN`.",
        "- *cold*: what a data refresh costs now (the checks DuckDB's declared keys, NOT NULL and foreign keys "
        "enforce are skipped; the row checks of a table in one aggregate).",
        "- *cold, no constraint trusted*: a source without declared keys (or PostgreSQL's foreign keys).",
        "- *kept on disk*: a restarted server or the CLI: the fingerprint (a DuckDB file's identity, size and "
        "times of change) and the report file.",
        "- *page*: a page of a running server within `VERIFY_SECONDS` of the last look.",
        "",
        "## Each query of the no-constraints run (last run)",
        "",
        "| s | statement |",
        "|---:|---|",
    ]
    lines += [f"| {seconds:.3f} | `{statement}` |" for statement, seconds in sorted(split, key=lambda s: -s[1])]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
