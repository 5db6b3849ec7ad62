"""Command line.

- ``python -m metrics report --db URL [filters] [--user EMAIL] --format json|csv|markdown|pdf
  [--out FILE]``: every KPI with its value, comparison, delta, target and status, and the
  eight rule scores; ``pdf`` is the executive report (reports/pdf.py). ``--user`` applies
  that user's scope from the access definition.
- ``python -m metrics digest --config digests.toml [--send] [--out DIR]``: the e-mail
  digests with alerts (reports/digest.py).
- ``python -m metrics value --db URL [--calibration-end DATE --unit week] --format json``:
  the fitted BG/NBD and Gamma-Gamma parameters with standard errors, and customer equity.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

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
    report.add_argument("--format", choices=["json", "csv", "markdown", "pdf"], default="markdown",
                        help="pdf: the executive report (A4), written to --out")
    report.add_argument("--out", type=Path, metavar="FILE", help="write the report to FILE instead of the screen "
                                                                  "(required for pdf)")
    _user_arguments(report)

    value = commands.add_parser("value", help="fit BG/NBD + Gamma-Gamma: parameters, errors, customer equity")
    value.add_argument("--db", help="database URL (default: CRM_DB_URL, secrets.toml, then the demo)")
    value.add_argument("--calibration-end", type=_date, help="last day of the order history used (default: yesterday)")
    value.add_argument("--unit", choices=["day", "week", "month"], default="week", help="model time unit")
    value.add_argument("--horizon-months", type=int, default=12, help="CLV horizon")
    value.add_argument("--by", default="segment", help="fit one model per value of this customer dimension, "
                                                         "or 'none' for one pooled model")
    for name in ("segment", "region", "industry", "acquisition_channel", "owner_team"):
        value.add_argument(f"--{name.replace('_', '-')}", dest=name, action="append", default=[], metavar="VALUE")
    value.add_argument("--format", choices=["json", "markdown"], default="json")
    _user_arguments(value)

    digest = commands.add_parser("digest", help="the e-mail digests with alerts, one per recipient of the config")
    digest.add_argument("--config", type=Path, required=True, metavar="FILE", help="digests.toml: the recipients")
    digest.add_argument("--db", help="database URL (default: CRM_DB_URL, secrets.toml, then the demo)")
    digest.add_argument("--send", action="store_true", help="send through the [smtp] server of secrets.toml")
    digest.add_argument("--out", type=Path, metavar="DIR", help="write the messages as .eml files to DIR instead")
    digest.add_argument("--as-of", type=_date, help="last day the digests cover (default: yesterday)")
    digest.add_argument("--access", metavar="FILE", type=Path,
                        help="access definition (default: the one saved in the app, else CRM_ACCESS_FILE, "
                             "else access.toml next to the app)")
    digest.add_argument("--secrets", type=Path, default=Path(".streamlit/secrets.toml"), metavar="FILE",
                        help="where the [smtp] settings are (default: .streamlit/secrets.toml)")
    return parser


def digest_command(args: argparse.Namespace) -> int:
    """Build every recipient's digest; send it (--send), write it (--out DIR), or list it."""
    from data.store import AppStore, StoreError
    from metrics.scope import AccessError, load_access
    from reports.digest import DigestError, build, parse_config, remember, send, smtp_settings, write_eml
    from reports.pdf import RenderError

    try:
        if not args.config.exists():
            raise DigestError(f"{args.config}: not found")
        config = parse_config(args.config.read_text(encoding="utf-8"), str(args.config))
        settings = smtp_settings(args.secrets) if args.send else None
        store = AppStore()
        saved = store.access_definition() if args.access is None else None
        access = load_access(args.access, saved["definition"] if saved else None)
        source = connect(args.db)
        as_of = args.as_of or (date.today() - timedelta(days=1))
        with source.engine.connect() as conn:
            digests, problems = build(conn, config, access, store, as_of, load_targets())
        source.engine.dispose()
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if args.out:
            for digest, path in zip(digests, write_eml(digests, args.out)):
                remember(store, digest)
                print(f"wrote {path} ({len(digest.alerts)} alerts)", file=sys.stderr)
        if args.send:
            send(digests, settings, on_sent=lambda d: (remember(store, d), print(
                f"sent to {d.recipient.email} ({len(d.alerts)} alerts)", file=sys.stderr)))
        if not args.out and not args.send:
            for d in digests:
                print(f"{d.recipient.email}: {d.message['Subject']}")
                for alert in d.alerts:
                    print(f"  - {alert.text}")
            print("(nothing sent: add --send, or --out DIR to write the messages)", file=sys.stderr)
        store.dispose()
    except (DigestError, AccessError, SourceError, StoreError, RenderError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if problems else 0


def _user_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--user", metavar="EMAIL", help="apply this user's scope from the access definition "
                                                         "(filters can narrow it, never widen it)")
    command.add_argument("--access", metavar="FILE", type=Path,
                         help="access definition (default: the one saved in the app, else CRM_ACCESS_FILE, "
                              "else access.toml next to the app)")


def _scoped(filters: Filters, args: argparse.Namespace) -> Filters:
    """The filters within ``--user``'s scope (unchanged without --user)."""
    if not getattr(args, "user", None):
        return filters
    from metrics.scope import user_access

    return user_access(args.user, args.access).apply(filters)


def value_report(args: argparse.Namespace) -> int:
    from metrics.clv import UNITS, ClvSettings, NotEnoughHistory, customer_values, equity_by

    end = args.calibration_end or (date.today() - timedelta(days=1))
    filters = Filters(start=end, end=end, compare="none", segment=tuple(args.segment), region=tuple(args.region),
                      industry=tuple(args.industry), acquisition_channel=tuple(args.acquisition_channel),
                      owner_team=tuple(args.owner_team))
    try:
        filters = _scoped(filters, args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    by = None if args.by == "none" else args.by
    settings = ClvSettings(unit=UNITS[args.unit], horizon_months=args.horizon_months)
    try:
        source = connect(args.db)
        with source.engine.connect() as conn:
            models, values = customer_values(conn, filters, settings, end, by)
        source.engine.dispose()
    except (SourceError, NotEnoughHistory, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parameters = models.parameters()
    overall = equity_by(values).iloc[0]
    groups = equity_by(values, "stratum")
    if args.format == "json":
        payload = {
            "calibration_end": end.isoformat(), "unit": args.unit, "horizon_months": args.horizon_months,
            "stratified_by": by, "customers": models.customers, "repeat_buyers": models.repeat_buyers,
            "parameters": [{k: _clean(v) for k, v in row.items()} for row in parameters.to_dict("records")],
            "customer_equity": {"total": float(overall.equity), "mean_clv": float(overall.mean_clv),
                                "mean_p_alive": float(overall.p_alive),
                                "expected_purchases": float(overall.expected_purchases),
                                "by_group": [{k: _clean(v) for k, v in row.items()} for row in groups.to_dict("records")]},
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        lines = [f"# Customer value — history to {end:%Y-%m-%d}, {args.horizon_months}-month CLV", "",
                 f"{models.customers:,} customers, {models.repeat_buyers:,} with a repeat purchase. "
                 f"Customer equity: **{overall.equity:,.0f}**; mean CLV {overall.mean_clv:,.2f}; "
                 f"mean P(alive) {overall.p_alive:.1%}.", "", "| group | model | parameter | estimate | std. error |",
                 "|---|---|---|---:|---:|"]
        lines[-2] = "| group | model (fitted on) | parameter | estimate | std. error |"
        lines += [f"| {r.group} | {r.model} ({r.fitted_on}) | {r.parameter} | {r.coef:.4g} | {r.se:.3g} |"
                  for r in parameters.itertuples()]
        lines += ["", "| group | customers | equity | mean CLV | P(alive) |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r.group} | {r.customers:,} | {r.equity:,.0f} | {r.mean_clv:,.2f} | {r.p_alive:.1%} |"
                  for r in groups.itertuples()]
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


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
        "scope": {dim: list(values) for dim, values in f.scope},
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
    if args.command == "value":
        return value_report(args)
    if args.command == "digest":
        return digest_command(args)
    try:
        filters = _filters(args)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    try:
        filters = _scoped(filters, args)
        targets = load_targets()
        source = connect(args.db)
    except (SourceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "pdf":
        return _pdf_report(args, source, filters, targets)
    with source.engine.connect() as conn:
        card = evaluate(conn, filters, targets)
    source.engine.dispose()
    render = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[args.format]
    if args.out:
        args.out.write_text(render(card), encoding="utf-8")
    else:
        sys.stdout.write(render(card))
    return 0


def _pdf_report(args: argparse.Namespace, source, filters: Filters, targets: dict[str, float]) -> int:
    """Write the executive PDF (reports/pdf.py) for the already scoped filters to --out."""
    from metrics.scope import user_access
    from reports.pdf import RenderError, html_to_pdf, report_data, report_html

    if args.out is None:
        print("error: --format pdf needs --out FILE", file=sys.stderr)
        return 2
    access = user_access(args.user, args.access) if args.user else None
    try:
        with source.engine.connect() as conn:
            data = report_data(conn, filters, targets, access)
        source.engine.dispose()
        pdf = html_to_pdf(report_html(data))
        args.out.write_bytes(pdf)
    except (RenderError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({len(pdf):,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


