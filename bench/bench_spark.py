"""Benchmark: the scorecard report on a local Spark Thrift server against DuckDB, same data.

The 100k demo (``/work/bench-data/crm_100k.duckdb`` by default, seed 42, built by
``python -m data demo``) is exported once to Parquet (``python -m data export-parquet``,
cached in bench/work/) and registered in Spark. Each run, in this order:

- **DuckDB**: a new read-only engine; *cold* = first ``evaluate`` (opening included),
  *warm* = a second ``evaluate`` on the same engine;
- **Spark**: a freshly started Thrift server (``local[2]``, 2 GB driver, new JVM, tables
  registered from the Parquet folders); *cold* = first ``evaluate`` (JIT, file and
  metadata caches cold), *warm* = a second one on the same session.

The scorecard is every KPI for 2026-08-01..2026-10-31 and the previous period (plus the
third period the growth KPIs read), ``metrics.catalogue.evaluate``. Both engines must
agree on every value to 1e-9 before anything is reported. Where Spark's time goes is
measured, not guessed: the number of statements and the time each spends in
``cursor.execute`` (the server's planning and execution) and in fetching; the Thrift
round trip (``SELECT 1``, median of 20); the planning time of every statement
(``EXPLAIN`` of it minus a round trip); and, from Spark's event log, the jobs, stages,
shuffles and task time of the warm report.

Usage::

    .venv/bin/python -m bench.bench_spark                  # 3 runs
    .venv/bin/python -m bench.bench_spark --runs 1 --db /work/bench-data/crm_100k.duckdb

Writes ``bench/results_spark.md`` (raw measurements in bench/work/results_spark.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, text  # noqa: E402

from data.parquet import export_parquet, register_tables, write_sql  # noqa: E402
from data.sources import open_engine  # noqa: E402
from metrics.catalogue import evaluate  # noqa: E402
from metrics.filters import Filters  # noqa: E402
from tests.spark import thrift_server  # noqa: E402

WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results_spark.md"
RAW_RESULTS = WORK / "results_spark.json"
#: The 100k demo: make bench's own copy, else the shared one on this machine.
CANDIDATE_DBS = (WORK / "crm_100k.duckdb", Path("/work/bench-data/crm_100k.duckdb"))
RANGE = (date(2026, 8, 1), date(2026, 10, 31))
TOLERANCE = 1e-9
DATABASE = "crm"


def filters() -> Filters:
    return Filters(*RANGE, compare="previous")


def values(card) -> dict[str, tuple]:
    return {r.kpi.name: (r.value, r.comparison) for r in card.results}


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


class StatementLog:
    """Every statement an engine sends: its SQL (parameters substituted as PyHive does),
    time in ``cursor.execute`` and the wall time from one statement's start to the next."""

    def __init__(self, engine):
        self.rows: list[dict] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        from pyhive.hive import _escaper

        sql = statement % _escaper.escape_args(parameters) if parameters else statement
        self.rows.append({"sql": sql, "start": time.perf_counter()})

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.rows[-1]["execute"] = time.perf_counter() - self.rows[-1]["start"]

    def mark(self) -> int:
        return len(self.rows)


def duckdb_run(db: Path) -> dict:
    started = time.perf_counter()
    engine = open_engine(f"duckdb:///{db}")
    with engine.connect() as conn:
        card = evaluate(conn, filters(), targets={})
        cold = time.perf_counter() - started
        started = time.perf_counter()
        evaluate(conn, filters(), targets={})
        warm = time.perf_counter() - started
    engine.dispose()
    return {"cold": cold, "warm": warm, "values": values(card)}


def _events(folder: Path, since_ms: float, until_ms: float) -> dict:
    """Jobs, stages, shuffles and task time from Spark's event log between two instants."""
    jobs = stages = shuffle_stages = tasks = 0
    shuffle_bytes = task_ms = 0.0
    for path in folder.glob("*"):
        for line in path.read_text(errors="replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            kind = item.get("Event")
            if kind == "SparkListenerJobStart" and since_ms <= item.get("Submission Time", 0) <= until_ms:
                jobs += 1
            elif kind == "SparkListenerStageCompleted":
                info = item["Stage Info"]
                if not since_ms <= info.get("Submission Time", 0) <= until_ms:
                    continue
                stages += 1
                tasks += info.get("Number of Tasks", 0)
                metrics = {a.get("Name"): a.get("Value") for a in info.get("Accumulables", [])}
                task_ms += float(metrics.get("internal.metrics.executorRunTime", 0) or 0)
                written = float(metrics.get("internal.metrics.shuffle.write.bytesWritten", 0) or 0)
                shuffle_bytes += written
                shuffle_stages += written > 0
    return {"jobs": jobs, "stages": stages, "shuffle_stages": shuffle_stages, "tasks": tasks,
            "shuffle_mb": shuffle_bytes / 1e6, "task_seconds": task_ms / 1000}


def spark_run(parquet: Path, explain: bool) -> dict:
    base = Path(tempfile.mkdtemp(prefix="crm-bench-spark-"))
    events = base / "events"
    events.mkdir()
    conf = {"spark.eventLog.enabled": "true", "spark.eventLog.dir": events.as_uri()}
    started = time.perf_counter()
    with thrift_server(memory="2g", base=base / "server", conf=conf) as url:
        server_start = time.perf_counter() - started
        started = time.perf_counter()
        admin = create_engine(url)
        with admin.connect() as conn:
            register_tables(conn, str(parquet), DATABASE)
        admin.dispose()
        register = time.perf_counter() - started

        engine = open_engine(url.rsplit("/", 1)[0] + f"/{DATABASE}")
        log = StatementLog(engine)
        out: dict = {"server_start": server_start, "register": register}
        with engine.connect() as conn:
            for phase in ("cold", "warm"):
                first = log.mark()
                wall_start, started = time.time() * 1000, time.perf_counter()
                card = evaluate(conn, filters(), targets={})
                seconds = time.perf_counter() - started
                rows = log.rows[first:]
                out[phase] = seconds
                out[f"{phase}_statements"] = len(rows)
                out[f"{phase}_execute"] = sum(r["execute"] for r in rows)
                out[f"{phase}_events"] = _events(events, wall_start, time.time() * 1000)
            out["values"] = values(card)
            round_trips = []
            for _ in range(20):
                started = time.perf_counter()
                conn.execute(text("SELECT 1")).scalar()
                round_trips.append(time.perf_counter() - started)
            out["round_trip"] = statistics.median(round_trips)
            if explain:  # planning: EXPLAIN parses, analyses and optimises without running
                planning = []
                for row in rows:
                    started = time.perf_counter()
                    conn.exec_driver_sql("EXPLAIN " + row["sql"].replace("%", "%%")).all()
                    planning.append(time.perf_counter() - started - out["round_trip"])
                out["planning"] = sum(planning)
        engine.dispose()
    import shutil

    shutil.rmtree(base, ignore_errors=True)
    return out


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def write_results(db: Path, export_seconds: float | None, duck: list[dict], spark: list[dict],
                  planned: int) -> None:
    import duckdb
    import pyspark

    s0 = spark[0]
    warm_events = s0["warm_events"]
    lines = [
        "# Benchmark: the scorecard report on Spark (local) against DuckDB",
        "",
        f"Generated by `python -m bench.bench_spark` ({datetime.now():%Y-%m-%d %H:%M}); "
        "raw measurements in `bench/work/results_spark.json`.",
        "",
        "## Setup",
        "",
        "| | |", "|---|---|",
        f"| data | `{db.name}` ({db.stat().st_size / 1e6:.0f} MB DuckDB), exported to Parquet "
        f"({sum(f.stat().st_size for f in (WORK / f'spark_parquet_{db.stem}').rglob('*.parquet')) / 1e6:.0f} MB)"
        + (f" in {export_seconds:.0f} s" if export_seconds else "") + " |",
        f"| machine | {os.cpu_count()} cores, Python {platform.python_version()}, load average at the end "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} |",
        f"| engines | DuckDB {duckdb.__version__} (embedded); Spark {pyspark.__version__} Thrift server, "
        "`local[2]`, 2 GB driver, 4 shuffle partitions, PyHive 0.7 over Thrift |",
        f"| report | every KPI of the catalogue, {RANGE[0]}..{RANGE[1]} against the previous period |",
        f"| runs | {len(duck)} of {planned} (each: DuckDB cold and warm, then a new Spark server, cold and warm) |",
        "",
        "Both engines gave the same value and comparison for every KPI (1e-9 relative) in every run.",
        "",
        "## Results",
        "",
        "Medians over the runs, the best run in brackets.",
        "",
        "| engine | cold (s) | warm (s) | statements | warm / DuckDB warm |",
        "|---|---:|---:|---:|---:|",
        f"| DuckDB | {_median(duck, 'cold'):.2f} ({min(r['cold'] for r in duck):.2f}) | "
        f"{_median(duck, 'warm'):.2f} ({min(r['warm'] for r in duck):.2f}) | – | 1 |",
        f"| Spark local | {_median(spark, 'cold'):.1f} ({min(r['cold'] for r in spark):.1f}) | "
        f"{_median(spark, 'warm'):.1f} ({min(r['warm'] for r in spark):.1f}) | {s0['warm_statements']} | "
        f"{_median(spark, 'warm') / _median(duck, 'warm'):.0f}x |",
        "",
        f"Starting the Spark server took {_median(spark, 'server_start'):.0f} s (median), registering the "
        f"eight Parquet tables {_median(spark, 'register'):.1f} s; neither is in the times above.",
        "",
        "## Where Spark's time goes (warm report)",
        "",
    ]
    warm = _median(spark, "warm")
    execute = _median(spark, "warm_execute")
    trips = s0["warm_statements"] * _median(spark, "round_trip")
    lines += [
        "| part | seconds | share |", "|---|---:|---:|",
        f"| statements x Thrift round trip ({s0['warm_statements']} x {_median(spark, 'round_trip') * 1000:.0f} ms, "
        f"`SELECT 1`) | {trips:.1f} | {trips / warm:.0%} |",
    ]
    if "planning" in s0:
        lines.append(f"| planning: parse, analyse, optimise (sum of `EXPLAIN` of each statement, less a round trip) "
                     f"| {s0['planning']:.1f} | {s0['planning'] / warm:.0%} |")
        rest = execute - trips - s0["planning"]
        lines.append(f"| execution: jobs and shuffles (time in `cursor.execute` less the two above) "
                     f"| {rest:.1f} | {rest / warm:.0%} |")
    lines += [
        f"| fetching rows and Python (report wall time less time in `cursor.execute`) | {warm - execute:.1f} | "
        f"{(warm - execute) / warm:.0%} |",
        "",
        f"Spark's event log for the warm report of the first run: {warm_events['jobs']} jobs, "
        f"{warm_events['stages']} stages ({warm_events['tasks']} tasks), {warm_events['shuffle_stages']} of "
        f"them writing a shuffle ({warm_events['shuffle_mb']:.1f} MB in all), {warm_events['task_seconds']:.1f} s "
        "of task time on the two cores.",
        "",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None,
                        help="the demo DuckDB file (default: bench/work/crm_100k.duckdb, built if missing, "
                             "or /work/bench-data/crm_100k.duckdb when present)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.db is None:
        from bench.bench_report import database

        args.db = next((p for p in CANDIDATE_DBS if p.exists()), None) or database(100_000)
    if not args.db.exists():
        print(f"bench_spark: {args.db} not found", file=sys.stderr)
        return 2
    parquet = WORK / f"spark_parquet_{args.db.stem}"
    export_seconds = None
    if not (parquet / "create_tables.sql").exists():
        started = time.perf_counter()
        engine = open_engine(f"duckdb:///{args.db}")
        with engine.connect() as conn:
            export_parquet(conn, parquet)
        engine.dispose()
        write_sql(parquet, str(parquet), DATABASE)
        export_seconds = time.perf_counter() - started
    duck, spark = [], []
    for run in range(args.runs):
        duck.append(duckdb_run(args.db))
        spark.append(spark_run(parquet, explain=run == 0))
        for name, (value, comparison) in duck[-1]["values"].items():
            other = spark[-1]["values"][name]
            if not (same(value, other[0]) and same(comparison, other[1])):
                print(f"bench_spark: {name} differs: DuckDB {(value, comparison)} Spark {other}", file=sys.stderr)
                return 1
        print(f"run {run + 1}: DuckDB {duck[-1]['cold']:.2f}/{duck[-1]['warm']:.2f} s, "
              f"Spark {spark[-1]['cold']:.1f}/{spark[-1]['warm']:.1f} s (cold/warm)", flush=True)
        # written after every run, so that an interrupted benchmark still leaves its results
        WORK.mkdir(parents=True, exist_ok=True)
        RAW_RESULTS.write_text(json.dumps({"duckdb": duck, "spark": spark}, default=str, indent=1))
        write_results(args.db, export_seconds, duck, spark, args.runs)
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
