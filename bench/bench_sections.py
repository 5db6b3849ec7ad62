"""Every section of every page computed cold, in-process, timed one by one.

``python -m bench.bench_sections [--db PATH] [--runs 3] [--only NAME ...] [--out FILE]``

For each run, the source is opened afresh (read-only) and each computation a page asks
``pages.ui.compute`` / ``records_page`` for is called directly (``ui.COMPUTATIONS``), with
no result cache in between: what a first visitor waits for, minus Streamlit and the browser.
Two filter sets: the default view (the 90 days to the last day with data, compared with the
previous period) and the same with one segment picked (the benchmark's filter change). The
value models (``clv``) are fitted as ``pages.ui._clv_fit_for`` does; the churn section reuses
that fit as the page does. Results (median of the runs, min and max) go to
``bench/results_sections.md`` with the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

DEFAULT_DB = Path("/work/bench-data/crm_1m.duckdb")
OUT = Path(__file__).resolve().parent / "results_sections.md"


def _plan(ui, f, windows, settings, npv):
    """(page, section, callable(conn)) for every computation of every page, in page order."""
    from metrics import churn, clv

    year = ui.month_window(f, 12)
    window12 = replace(ui.month_window(f, 12), compare=f.compare)
    page_window = window12 if window12.start < f.start else f
    targets = tuple(sorted(ui.catalogue.load_targets().items()))
    values = {}

    def c(name, flt, *args):
        return lambda conn: ui.COMPUTATIONS[name](conn, flt, *args)

    def records(name, flt, *args, size=50):
        def run(conn):
            from metrics import drilldown
            return drilldown.page(conn, ui.RECORDS[name](flt, *args), 0, size).total
        return run

    def fit(conn):
        models, frame = clv.customer_values(conn, f, clv.ClvSettings(horizon_months=12), by="segment")
        values["values"] = frame
        return clv.equity_by(frame)

    def churn_section(conn):
        result = churn.churn_risk(conn, f, 180)
        return churn.clv_at_risk(result.scores, values["values"])

    return [
        ("Overview", "scorecard", c("scorecard", f, targets)),
        ("Overview", "trend (6 months)", c("trend", f, 6)),
        ("Overview", "value.revenue (12 months)", c("value.revenue", year)),
        ("Overview", "value.new_customers (12 months)", c("value.new_customers", year)),
        ("Overview", "sla.over_time month", c("sla.over_time", year, "month")),
        ("Overview", "voice.nps", c("voice.nps", year)),
        ("Overview", "forecast revenue", c("forecast", f, "revenue", 6)),
        ("Overview", "forecast new_customers", c("forecast", f, "new_customers", 6)),
        ("Funnel", "funnel.stages", c("funnel.stages", page_window, None, windows)),
        ("Funnel", "funnel.stages by segment", c("funnel.stages", page_window, "segment", windows)),
        ("Service", "sla.summary", c("sla.summary", f)),
        ("Service", "sla.over_time week", c("sla.over_time", f, "week")),
        ("Service", "sla.distribution resolution", c("sla.distribution", f, "resolution")),
        ("Service", "sla.distribution first_response", c("sla.distribution", f, "first_response")),
        ("Service", "forecast tickets", c("forecast", f, "tickets", 6)),
        ("Service", "sla.backlog", c("sla.backlog", f)),
        ("Service", "sla.channels", c("sla.channels", f)),
        ("Service", "records sla.breaches", records("sla.breaches", f)),
        ("Retention", "cohorts.matrix", c("cohorts.matrix", page_window)),
        ("Retention", "survival by segment", c("survival", page_window, "segment", 180, "all")),
        *([("Engagement", "engagement.pressure_overview (with the distribution)",
            c("engagement.pressure_overview", f, settings)),
           ("Engagement", "engagement.any", c("engagement.any", f))]
          if "engagement.pressure_overview" in ui.COMPUTATIONS else   # what pages/engagement.py calls
          [("Engagement", "engagement.pressure", c("engagement.pressure", f, settings)),
           ("Engagement", "engagement.interactions", c("engagement.interactions", f))]),
        ("Engagement", "engagement.consent", c("engagement.consent", f)),
        *([] if "engagement.pressure_overview" in ui.COMPUTATIONS else
          [("Engagement", "engagement.distribution", c("engagement.distribution", f))]),
        ("Engagement", "records engagement.over", records("engagement.over", f, settings, size=200)),
        ("Engagement", "records engagement.violations", records("engagement.violations", f, size=100)),
        ("Engagement", "engagement.personalised", c("engagement.personalised", f)),
        ("Engagement", "engagement.roi", c("engagement.roi", f)),
        ("Segments", "segments.compare", c("segments.compare", f, "segment", "Consumer", "Enterprise")),
        ("Segments", "segments.revenue", c("segments.revenue", f, ("segment", "region"))),
        ("Customer value", "clv fit (12 months, per segment)", fit),
        ("Customer value", "rfm", c("rfm", f)),
        ("Customer value", "churn (180 days)", churn_section),
        ("Customer value", "value.by_group segment", c("value.by_group", f, "segment", npv)),
        ("Pipeline", "pipeline.facts", c("pipeline.facts", f)),
        ("Pipeline", "pipeline.open age", c("pipeline.open", f, "age")),
        ("Pipeline", "pipeline.open owner_team", c("pipeline.open", f, "owner_team")),
        ("Pipeline", "pipeline.open source", c("pipeline.open", f, "source")),
        ("Pipeline", "pipeline.forecast", c("pipeline.forecast", f)),
        ("Pipeline", "pipeline.win_rates source", c("pipeline.win_rates", f, "source")),
        ("Pipeline", "pipeline.win_rates owner_team", c("pipeline.win_rates", f, "owner_team")),
        ("Pipeline", "pipeline.cycle", c("pipeline.cycle", f)),
        ("Data", "quality.fields", c("quality.fields", f)),
    ]


def run_once(url: str, segment: str | None, only: list[str]) -> dict[tuple[str, str], float]:
    """Seconds per (page, section) for one cold pass on a freshly opened source."""
    import i18n
    from data.sources import connect
    from metrics.engagement import PressureSettings
    from metrics.filters import Filters
    from metrics.funnel import FunnelWindows
    from metrics.value import NpvParams
    from pages import ui

    source = connect(url)
    start, end = ui._default_period(url)
    f = Filters(start=start, end=end)
    if segment:
        f = f.with_values(segment=(segment,))
    plan = _plan(ui, f, FunnelWindows(), PressureSettings(max_per_week=3), NpvParams(discount_rate=0.10, horizon_years=5))
    out = {}
    with i18n.using(i18n.DEFAULT):
        for page, name, call in plan:
            if only and not any(o in f"{page} {name}" for o in only):
                continue
            began = time.perf_counter()
            with source.engine.connect() as conn:
                call(conn)
            out[(page, name)] = time.perf_counter() - began
            print(f"  {page:15} {name:40} {out[(page, name)]:7.2f} s", file=sys.stderr, flush=True)
    source.engine.dispose()
    ui._open.clear()
    ui.data_span.clear()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_sections", description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--segment", default="Consumer", help="the segment of the filtered pass")
    parser.add_argument("--only", nargs="*", default=[], help="sections whose 'page name' contains one of these")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--label", default="", help="a heading for this measurement (e.g. before, after)")
    args = parser.parse_args(argv)
    os.environ["CRM_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_sections_")  # nothing cached
    os.environ.setdefault("CRM_WARM", "0")
    url = f"duckdb:///{args.db}"
    os.environ["CRM_DB_URL"] = url
    times: dict[str, dict[tuple[str, str], list[float]]] = {"default": {}, "segment": {}}
    for run in range(args.runs):
        for view, segment in (("default", None), ("segment", args.segment)):
            print(f"run {run + 1}, {view}", file=sys.stderr, flush=True)
            for key, seconds in run_once(url, segment, args.only).items():
                times[view].setdefault(key, []).append(seconds)
    load = os.getloadavg()
    lines = [f"\n## {args.label or 'Measurement'} ({datetime.now():%Y-%m-%d %H:%M}, {args.db.name}, "
             f"{args.runs} runs; load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f})\n",
             f"Seconds: median (min-max). Filtered view: segment = {args.segment}.\n",
             "| page | section | default view s | one segment s |", "|---|---|---:|---:|"]
    pages: dict[str, list[float]] = {}
    for key in times["default"]:
        cells = []
        for view in ("default", "segment"):
            runs = times[view].get(key, [])
            cells.append(f"{statistics.median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f})" if runs else "")
            if view == "default" and runs:
                pages.setdefault(key[0], []).append(statistics.median(runs))
        lines.append(f"| {key[0]} | {key[1]} | {cells[0]} | {cells[1]} |")
    lines += ["", "| page | sum of its sections, default view s |", "|---|---:|"]
    lines += [f"| {page} | {sum(v):.2f} |" for page, v in pages.items()]
    text = "\n".join(lines) + "\n"
    if not args.out.exists():
        args.out.write_text("# Benchmark: page sections computed cold, in-process\n\n"
                            "Generated by `python -m bench.bench_sections` (see its docstring for the method).\n")
    with args.out.open("a") as out:
        out.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
