"""Command line: ``python -m metrics report --db URL [filters] --format json|csv|markdown``.

The scheduled digest for people who do not open the app: every KPI with its value,
comparison, delta, target and status, and the eight rule scores.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from datetime import date, datetime, timedelta

from data.sources import SourceError, connect
from metrics.catalogue import Scorecard, evaluate, load_targets
from metrics.units import format_value
from metrics.filters import Filters, default_filters


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m metrics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="every KPI and the eight rule scores")
    report.add_argument("--db", help="database URL (default: CRM_DB_URL, secrets.toml, then the demo)")
    report.add_argument("--from", dest="start", type=_date, help="first day (default: 90 days before --to)")
    report.add_argument("--to", dest="end", type=_date, help="last day (default: yesterday)")
    report.add_argument("--compare", choices=["previous", "last_year", "none"], default="previous")
    for name in ("segment", "region", "industry", "acquisition_channel", "owner_team", "channel"):
        report.add_argument(f"--{name.replace('_', '-')}", dest=name, action="append", default=[],
                            metavar="VALUE", help=f"filter on {name} (repeatable)")
    report.add_argument("--format", choices=["json", "csv", "markdown"], default="markdown")
    return parser


def _filters(args: argparse.Namespace) -> Filters:
    end = args.end or (date.today() - timedelta(days=1))
    start = args.start or default_filters(end + timedelta(days=1)).start
    return Filters(start=start, end=end, compare=args.compare, segment=tuple(args.segment),
                   region=tuple(args.region), industry=tuple(args.industry),
                   acquisition_channel=tuple(args.acquisition_channel), owner_team=tuple(args.owner_team),
                   channel=tuple(args.channel))


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def to_json(card: Scorecard) -> str:
    f = card.filters
    payload = {
        "filters": {"from": f.start.isoformat(), "to": f.end.isoformat(), "compare": f.compare,
                    **{k: list(getattr(f, k)) for k in ("segment", "region", "industry",
                                                         "acquisition_channel", "owner_team", "channel")}},
        "overall_score": card.overall,
        "comparison_overall_score": card.comparison_overall,
        "rules": [{"rule": r.rule.value, "title": r.rule.title, "score": r.score,
                   "kpis_with_data": r.with_data, "kpis": r.kpis} for r in card.rules],
        "kpis": [{k: _clean(v) for k, v in r.as_dict().items()} for r in card.results],
    }
    return json.dumps(payload, indent=2)


def to_csv(card: Scorecard) -> str:
    out = io.StringIO()
    fields = ["name", "label", "rule", "rule_title", "unit", "direction", "value", "comparison", "delta",
              "target", "attainment", "status"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in card.results:
        writer.writerow({k: _clean(v) for k, v in r.as_dict().items()})
    return out.getvalue()


def to_markdown(card: Scorecard) -> str:
    f = card.filters
    lines = [f"# CRM scorecard — {f.describe()}", "",
             f"Overall score: **{_score(card.overall)}**"
             + (f" (comparison period: {_score(card.comparison_overall)})" if f.compare != "none" else ""), "",
             "| rule | score | KPIs with data |", "|---|---:|---:|"]
    lines += [f"| {r.rule.value} {r.rule.title} | {_score(r.score)} | {r.with_data}/{r.kpis} |" for r in card.rules]
    lines += ["", "| KPI | value | comparison | delta | target | status |", "|---|---:|---:|---:|---:|---|"]
    for r in card.results:
        u = r.kpi.unit
        direction = ">=" if r.kpi.direction.value == "higher" else "<="
        lines.append(f"| {r.kpi.label} | {format_value(r.value, u)} | {format_value(r.comparison, u)} | "
                     f"{format_value(r.delta, u, signed=True) if r.delta is not None else '–'} | "
                     f"{direction} {format_value(r.target, u)} | {r.status.value} |")
    return "\n".join(lines) + "\n"


def _score(score: float | None) -> str:
    return "no data" if score is None else f"{score:.0f}/100"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        filters = _filters(args)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    try:
        targets = load_targets()
        source = connect(args.db)
    except (SourceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with source.engine.connect() as conn:
        card = evaluate(conn, filters, targets)
    source.engine.dispose()
    render = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[args.format]
    sys.stdout.write(render(card))
    return 0


if __name__ == "__main__":
    sys.exit(main())


