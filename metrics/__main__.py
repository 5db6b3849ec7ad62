"""Command line.

- ``python -m metrics report --db URL [filters] [--user EMAIL] --format json|csv|markdown|pdf
  [--out FILE]``: every KPI with its value, comparison, delta, target and status, and the
  eight rule scores; ``pdf`` is the executive report (reports/pdf.py). ``--user`` applies
  that user's scope from the access definition.
- ``python -m metrics digest --config digests.toml [--send] [--out DIR]``: the e-mail
  digests with alerts (reports/digest.py).
- ``python -m metrics value --db URL [--calibration-end DATE --unit week] --format json``:
  the fitted BG/NBD and Gamma-Gamma parameters with standard errors, and customer equity.

``--lang es|en`` chooses the language of the text formats (Markdown, the PDF, the lines on
the screen); the default is the language of ``LC_ALL``/``LANG`` when it is Spanish or English,
else English. JSON keys, CSV headers and the ``name``/``status`` codes stay English.

Every argument is checked before anything is computed: dates between 2000-01-01 and
2100-12-31, known dimensions, filter values that exist in the data (the error names the
valid ones), positive horizons. Exit codes: 0 done, 2 bad argument or unusable source,
3 nothing to report (no KPI has data for the selection: "no data", never a score of 0).
Rows that break the data model are left out and listed (``data_issues`` in JSON, a
section in Markdown, notes on stderr with CSV).
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

from sqlalchemy import select, union
from sqlalchemy.exc import SQLAlchemyError

from data.schema import customers, interactions, tickets
from data.sources import SourceError, connect
from i18n import day as i18n_day
from i18n import LANGUAGES, N_, _, environment_language, number, percent, set_language, significant, using
from metrics import escape, health
from metrics.catalogue import Scorecard, evaluate, load_targets
from metrics.filters import CUSTOMER_DIMENSIONS
from metrics.units import format_value
from metrics.filters import Filters, default_filters


#: Dates the CLI accepts (a typo like 0001-01-01 or 9999-12-01 is an error, not an overflow).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
NO_DATA = 3  # exit code: no KPI has data for the selection


def _date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not EARLIEST <= day <= LATEST:
        raise argparse.ArgumentTypeError(f"{text} is outside {EARLIEST} to {LATEST}")
    return day


def _months(text: str) -> int:
    try:
        months = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of months: {text!r}") from None
    if not 1 <= months <= 120:
        raise argparse.ArgumentTypeError(f"must be between 1 and 120 months, not {months}")
    return months


def _dimension(text: str) -> str:
    if text != "none" and text not in CUSTOMER_DIMENSIONS:
        raise argparse.ArgumentTypeError(
            f"unknown dimension {text!r}: use one of {', '.join(CUSTOMER_DIMENSIONS)} or none")
    return text


def unknown_values(conn, values: dict[str, tuple[str, ...]]) -> list[str]:
    """A sentence per filter value that the data does not have, naming the valid ones."""
    problems = []
    for dim, wanted in values.items():
        if not wanted:
            continue
        if dim == "channel":
            both = union(select(interactions.c.channel.label("v")), select(tickets.c.channel.label("v"))).subquery()
            known = {v for (v,) in conn.execute(select(both.c.v)) if v is not None}
        else:
            col = customers.c[CUSTOMER_DIMENSIONS[dim]]
            known = {v for (v,) in conn.execute(select(col).where(col.is_not(None)).distinct())}
        bad = [v for v in wanted if v not in known]
        if bad:
            valid = ", ".join(sorted(known)) or "none (the data has no values)"
            problems.append(f"unknown {dim.replace('_', ' ')} {', '.join(map(repr, bad))}: valid values are {valid}")
    return problems


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
    _language_argument(report)

    value = commands.add_parser("value", help="fit BG/NBD + Gamma-Gamma: parameters, errors, customer equity")
    value.add_argument("--db", help="database URL (default: CRM_DB_URL, secrets.toml, then the demo)")
    value.add_argument("--calibration-end", type=_date, help="last day of the order history used (default: yesterday)")
    value.add_argument("--unit", choices=["day", "week", "month"], default="week", help="model time unit")
    value.add_argument("--horizon-months", type=_months, default=12, help="CLV horizon (1-120)")
    value.add_argument("--by", type=_dimension, default="segment", help="fit one model per value of this customer dimension, "
                                                         "or 'none' for one pooled model")
    for name in ("segment", "region", "industry", "acquisition_channel", "owner_team"):
        value.add_argument(f"--{name.replace('_', '-')}", dest=name, action="append", default=[], metavar="VALUE")
    value.add_argument("--format", choices=["json", "markdown"], default="json")
    _user_arguments(value)
    _language_argument(value)

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
    _language_argument(digest)
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


def _language_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument("--lang", choices=sorted(LANGUAGES), default=None,
                         help="language of the text formats (default: from LC_ALL/LANG, else English)")


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
            problems = unknown_values(conn, {d: getattr(args, d) for d in CUSTOMER_DIMENSIONS})
            if problems:
                raise ValueError("; ".join(problems))
            models, values = customer_values(conn, filters, settings, end, by)
        source.engine.dispose()
    except (SourceError, NotEnoughHistory, ValueError, SQLAlchemyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parameters = models.parameters()
    overall = equity_by(values).iloc[0]
    groups = equity_by(values, "stratum")
    if args.format == "json":
        payload = {
            "calibration_end": end.isoformat(), "unit": args.unit, "horizon_months": args.horizon_months,
            "stratified_by": by, "customers": models.customers, "repeat_buyers": models.repeat_buyers,
            "notes": {group: list(pair.notes) for group, pair in models.strata.items() if pair.notes},
            "parameters": [{k: _clean(v) for k, v in row.items()} for row in parameters.to_dict("records")],
            "customer_equity": {"total": float(overall.equity), "mean_clv": float(overall.mean_clv),
                                "mean_p_alive": float(overall.p_alive),
                                "expected_purchases": float(overall.expected_purchases),
                                "by_group": [{k: _clean(v) for k, v in row.items()} for row in groups.to_dict("records")]},
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        lines = [_("# Customer value — history to {day}, {months}-month CLV").format(
                     day=i18n_day(end), months=args.horizon_months), "",
                 _("{customers} customers, {repeat} with a repeat purchase. Customer equity: **{equity}**; mean CLV "
                   "{clv}; mean P(alive) {alive}.").format(
                     customers=number(models.customers), repeat=number(models.repeat_buyers),
                     equity=number(overall.equity), clv=number(overall.mean_clv, 2), alive=percent(overall.p_alive)),
                 "", _("| group | model (fitted on) | parameter | estimate | std. error |"), "|---|---|---|---:|---:|"]
        lines += [f"| {r.group} | {r.model} ({r.fitted_on}) | {r.parameter} | {significant(r.coef, 4)} | "
                  f"{significant(r.se)} |" for r in parameters.itertuples()]
        notes = [f"- {group}: {note}" for group, pair in models.strata.items() for note in pair.notes]
        if notes:
            lines += ["", _("Notes:"), *notes]
        lines += ["", _("| group | customers | equity | mean CLV | P(alive) |"), "|---|---:|---:|---:|---:|"]
        lines += [f"| {r.group} | {number(r.customers)} | {number(r.equity)} | {number(r.mean_clv, 2)} | "
                  f"{percent(r.p_alive)} |" for r in groups.itertuples()]
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


def to_json(card: Scorecard, issues: list[dict] | None = None) -> str:
    f = card.filters
    payload = {
        "data_issues": issues or [],
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


def to_csv(card: Scorecard, issues: list[dict] | None = None) -> str:
    out = io.StringIO()
    fields = ["name", "label", "rule", "rule_title", "unit", "direction", "value", "comparison", "delta",
              "target", "attainment", "status"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in card.results:
        writer.writerow({k: escape.csv_cell(_clean(v)) for k, v in r.as_dict().items()})
    return out.getvalue()


#: How a KPI's status reads (English; shown with ``_(...)``).
STATUS_WORDS = {"on target": N_("on target"), "near target": N_("near target"), "off target": N_("off target"),
                "too few answers": N_("too few answers"), "no data": N_("no data")}


def to_markdown(card: Scorecard, issues: list[dict] | None = None) -> str:
    """The scorecard as Markdown, in the current language."""
    f = card.filters
    overall = _("Overall score: **{score}**").format(score=_score(card.overall))
    if f.compare != "none":
        overall += " " + _("(comparison period: {score})").format(score=_score(card.comparison_overall))
    lines = [_("# CRM scorecard — {filters}").format(filters=f.describe(escape.markdown)), "", overall, "",
             _("| rule | score | KPIs with data |"), "|---|---:|---:|"]
    lines += [f"| {r.rule.value} {_(r.rule.title)} | {_score(r.score)} | {r.with_data}/{r.kpis} |" for r in card.rules]
    lines += ["", _("| KPI | value | comparison | delta | target | status |"), "|---|---:|---:|---:|---:|---|"]
    for r in card.results:
        u = r.kpi.unit
        direction = ">=" if r.kpi.direction.value == "higher" else "<="
        lines.append(f"| {_(r.kpi.label)} | {format_value(r.value, u)} | {format_value(r.comparison, u)} | "
                     f"{format_value(r.delta, u, signed=True) if r.delta is not None else '–'} | "
                     f"{direction} {format_value(r.target, u)} | {_(STATUS_WORDS.get(r.status.value, r.status.value))} |")
    if issues:
        lines += ["", _("## Data issues"), "", _("Rows that break the data model; those left out are in no figure above."),
                  ""]
        lines += [f"- {_issue_sentence(i)}" for i in issues]
    return "\n".join(lines) + "\n"


def _issue_sentence(issue: dict) -> str:
    check = health.CHECKS_BY_KEY[f"{issue['table']}.{issue['check']}"]
    return health.Finding(check.table, check.name, check.kind, check.reason, issue["rows"], check.excluded).sentence()


def _score(score: float | None) -> str:
    return _("no data") if score is None else f"{number(score)}/100"


def main(argv: list[str] | None = None) -> int:
    """Run a command; an unexpected failure is one line on stderr (exit 1), never a traceback."""
    try:
        with using(None):  # the language of this run ends with it (set from --lang or LANG)
            return _main(argv)
    except Exception as exc:  # noqa: BLE001 — the user gets a sentence, not 24 frames
        print(f"error: unexpected failure ({type(exc).__name__}): {exc}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_language(args.lang or environment_language())
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
        with source.engine.connect() as conn:
            problems = unknown_values(conn, {d: getattr(args, d) for d in (*CUSTOMER_DIMENSIONS, "channel")})
            if problems:
                raise ValueError("; ".join(problems))
            issues = health.health_report(conn).data_issues()
            card = evaluate(conn, filters, targets)
        source.engine.dispose()
    except (SourceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        print(f"error: the data source failed: {reason}", file=sys.stderr)
        return 2
    if args.format == "pdf":
        return _pdf_report(args, source, filters, targets)
    render = {"json": to_json, "csv": to_csv, "markdown": to_markdown}[args.format]
    text = render(card, issues)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.format == "csv":
        for issue in issues:
            print(_("note: {issue}").format(issue=_issue_sentence(issue)), file=sys.stderr)
    if all(r.value is None for r in card.results if not r.kpi.meta):
        print(_("note: no KPI has data for this selection (no data, not a score of 0)"), file=sys.stderr)
        return NO_DATA
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


