"""``make bench``: run every benchmark in bench/ and write its results file.

``python -m bench.run`` runs the report benchmark (bench/bench_report.py: 100k and 1M
customers; 7 runs, pandas 5 at 100k) and, when present, the BG/NBD benchmark
(bench/bench_bgnbd.py), the import benchmark (bench/bench_import.py), the Spark benchmark
(bench/bench_spark.py, the scorecard on a local Spark Thrift server against DuckDB at 100k),
then the page benchmark in the browser (bench/pages.py).
``--quick`` runs 100k customers only, 3 runs of each (one run of Spark and of the pages).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench import bench_report, pages

BENCH = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k customers only, 3 runs")
    args = parser.parse_args(argv)
    report_args = ["--sizes", "100000", "--runs", "3", "--pandas-runs", "3"] if args.quick else []
    status = bench_report.main(report_args)
    bgnbd = BENCH / "bench_bgnbd.py"
    if bgnbd.exists():
        bgnbd_args = ["--sizes", "100000", "--runs", "3"] if args.quick else []
        status |= subprocess.run([sys.executable, str(bgnbd), *bgnbd_args], cwd=BENCH.parent).returncode
    importer = BENCH / "bench_import.py"
    if importer.exists():
        import_args = ["--runs", "2"] if args.quick else []
        status |= subprocess.run([sys.executable, str(importer), *import_args], cwd=BENCH.parent).returncode
    spark_args = ["--runs", "1"] if args.quick else []
    status |= subprocess.run([sys.executable, "-m", "bench.bench_spark", *spark_args], cwd=BENCH.parent).returncode
    # the pages in the browser (bench/pages.py; needs the demo databases in /work/bench-data)
    pages_args = ["--dbs", str(pages.DATA / "crm_100k.duckdb"), "--runs", "1", "--no-sessions"] if args.quick else []
    status |= pages.main(pages_args)
    return status


if __name__ == "__main__":
    sys.exit(main())
