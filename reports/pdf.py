"""The executive PDF report: one A4 document a manager can forward.

Contents: a cover with the filters and the reader's scope; the overall score and the eight
rule scores with the radar; every KPI with its value, comparison, target and status, rule by
rule; the off-target KPIs worst first with the dashboard page to look at; the headline trends
of the 12 months up to the end of the range.

The report is HTML (Jinja2, autoescaped) printed to PDF by the system Chromium through
Playwright's ``page.pdf()``; the charts are plotly figures drawn by plotly.js inside that
page as static plots (the same figures as the dashboard's, from ``pages.charts``).

The report is written in the current language (``i18n``: the app's language, the CLI's
``--lang``, a digest recipient's ``lang``), numbers and dates by its locale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import plotly.io as pio
from jinja2 import Environment, select_autoescape
from sqlalchemy.engine import Connection

from i18n import N_, _, day, language, moment, number, percent
from metrics import catalogue, sla, value, voice
from metrics.catalogue import Rule, Scorecard
from metrics.filters import Filters
from metrics.scope import Access
from metrics.units import format_value

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
COMPARE_TEXT = {"previous": N_("the previous period"), "last_year": N_("the same period last year"),
                "none": N_("nothing")}

#: Where to look for each KPI: the dashboard page that explains it (as in pages/ui.kpi_page_links).
PAGE_BY_RULE = {1: N_("Overview"), 2: N_("Segments"), 3: N_("Service & SLA"), 4: N_("Service & SLA"),
                5: N_("Service & SLA"), 6: N_("Data"), 7: N_("Service & SLA"), 8: N_("Gartner's eight rules")}
PAGE_BY_KPI = {"campaign_response_rate": N_("Engagement"), "win_rate": N_("Lifecycle funnel"),
               "sales_cycle_days": N_("Lifecycle funnel"), "partner_won_share": N_("Segments"),
               "multi_department_share": N_("Engagement"), "digital_share": N_("Engagement"),
               "active_customers_growth": N_("Retention cohorts"), "nps": N_("Gartner's eight rules"),
               "nps_change": N_("Gartner's eight rules"), "survey_response_rate": N_("Gartner's eight rules")}
#: How a KPI's status reads (English; shown with ``_(...)``).
STATUS_WORDS = {"on target": N_("on target"), "near target": N_("near target"), "off target": N_("off target"),
                "too few answers": N_("too few answers"), "no data": N_("no data")}


class RenderError(RuntimeError):
    """The PDF could not be rendered (no Chromium, or it failed); the message says what to do."""


def where_to_look(kpi_name: str) -> str:
    """The dashboard page where the problem behind a KPI can be examined."""
    return PAGE_BY_KPI.get(kpi_name, PAGE_BY_RULE[catalogue.KPIS[kpi_name].rule.value])


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed for one (scoped) set of filters."""

    card: Scorecard
    trends: dict[str, pd.DataFrame]
    access: Access | None
    generated_at: datetime


def _year_window(f: Filters) -> Filters:
    start = date(f.end.year - 1, f.end.month, 1)
    start = date(start.year + (start.month == 12), start.month % 12 + 1, 1)  # 12 calendar months
    return replace(f, start=start, compare="none")


def report_data(conn: Connection, filters: Filters, targets: dict[str, float] | None = None,
                access: Access | None = None, generated_at: datetime | None = None) -> ReportData:
    """The scorecard and the headline trends, within ``access``'s scope when given."""
    f = access.apply(filters) if access is not None else filters
    card = catalogue.evaluate(conn, f, targets)
    year = _year_window(f)
    compliance = sla.compliance_over_time(conn, year, "month")
    if len(compliance):
        compliance = compliance.groupby("period", as_index=False)[["met", "breached"]].sum()
        total = compliance.met + compliance.breached
        compliance["compliance"] = [m / t if t else None for m, t in zip(compliance.met, total)]
    trends = {"revenue": value.revenue_by_period(conn, year), "new_customers": value.new_customers_by_period(conn, year),
              "sla": compliance, "nps": voice.nps_by_period(conn, year)}
    return ReportData(card, trends, access, generated_at or datetime.now(timezone.utc).replace(microsecond=0))


# ---- HTML
def _figures(data: ReportData) -> list[dict]:
    from pages import charts  # pure plotly figures, shared with the dashboard

    card = data.card
    rules = pd.DataFrame([{"rule": r.rule.value, "title": _(r.rule.title), "score": r.score} for r in card.rules])
    if card.comparison_rules is not None:
        rules["comparison"] = [r.score for r in card.comparison_rules]
    figures = [("radar", charts.rule_radar(rules), 330)]
    t = data.trends
    nps_target, sla_target = card.result("nps").target, card.result("sla_compliance").target
    if len(t["revenue"]):
        figures.append(("revenue", charts.monthly_line(t["revenue"], "period", "revenue", _("Revenue per month"),
                                                       _("Revenue"), money=True, kind="bar"), 250))
    if len(t["new_customers"]):
        figures.append(("new_customers", charts.monthly_line(t["new_customers"], "period", "new_customers",
                                                             _("New customers per month"), _("Customers acquired"),
                                                             colour=charts.GREEN, kind="bar"), 250))
    if len(t["sla"]):
        figures.append(("sla", charts.monthly_line(t["sla"], "period", "compliance", _("SLA compliance per month"),
                                                   _("Met / (met + breached)"), target=sla_target,
                                                   target_label=_("target {value}").format(value=percent(sla_target, 0)),
                                                   percent=True, colour=charts.ORANGE), 250))
    if len(t["nps"]):
        figures.append(("nps", charts.monthly_line(t["nps"], "period", "nps", _("NPS per month"),
                                                   _("NPS (promoters % - detractors %)"), target=nps_target,
                                                   target_label=_("target {value}").format(value=number(nps_target)),
                                                   colour=charts.PURPLE), 250))
    out = []
    for name, fig, height in figures:
        fig.update_layout(height=height, width=700 if name == "radar" else 335, margin=dict(l=10, r=10, t=50, b=10))
        if name != "radar":  # the title says what and the unit; axis titles would not fit half a page
            fig.update_layout(showlegend=False, title_font_size=13, margin=dict(l=50, r=15, t=45, b=30))
            fig.update_xaxes(title=None, tickangle=0, dtick="M3", tickformat="%b %Y")
            fig.update_yaxes(title=None)
        out.append({"name": name, "spec": pio.to_json(fig, validate=False)})
    return out


TEMPLATE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ t.title }}</title>
<style>
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; color: #262730; }
h1 { font-size: 22pt; margin: 0 0 4mm 0; color: #0072B2; }
h2 { font-size: 13pt; margin: 6mm 0 2mm 0; border-bottom: 1px solid #ccc; padding-bottom: 1mm; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm 0; }
.cover { page-break-after: always; }
.cover dl { display: grid; grid-template-columns: 38mm 1fr; gap: 2mm 4mm; font-size: 11pt; }
.cover dt { font-weight: bold; }
.score { font-size: 30pt; font-weight: bold; margin: 6mm 0 1mm 0; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2mm; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: bold; }
td.num, th.num { text-align: right; white-space: nowrap; }
.status { white-space: nowrap; font-weight: bold; }
.on-target { color: #007a5a; } .near-target { color: #b37400; } .off-target { color: #c0392b; }
.no-data { color: #777; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm 3mm; }
.chart { page-break-inside: avoid; }
.note { color: #555; font-size: 8.5pt; }
</style>
<script>{{ plotly_js|safe }}</script>
</head><body>
<section class="cover">
  <h1>{{ t.title }}</h1>
  <p style="font-size:12pt">{{ period }}</p>
  <dl>
    <dt>{{ t.prepared_for }}</dt><dd>{{ reader }}</dd>
    <dt>{{ t.scope }}</dt><dd>{{ scope }}</dd>
    <dt>{{ t.filters }}</dt><dd>{{ filters }}</dd>
    <dt>{{ t.compared_with }}</dt><dd>{{ compared }}</dd>
    <dt>{{ t.generated }}</dt><dd>{{ generated }}</dd>
  </dl>
  <div class="score">{{ t.overall }}</div>
  <p>{{ overall_change }}</p>
  <p>{{ t.off_count }}</p>
  <p class="note">{{ t.score_note }}</p>
</section>

<h2>{{ t.rules }}</h2>
<div class="chart" id="chart-radar"></div>
<table><thead><tr><th>{{ t.rule }}</th><th class="num">{{ t.score }}</th><th class="num">{{ t.comparison }}</th>
<th class="num">{{ t.kpis_with_data }}</th></tr></thead><tbody>
{% for r in rules %}<tr><td>{{ r.rule }}</td><td class="num">{{ r.score }}</td><td class="num">{{ r.comparison }}</td>
<td class="num">{{ r.with_data }}</td></tr>{% endfor %}
</tbody></table>

<h2>{{ t.off_target }}</h2>
{% if off %}<table><thead><tr><th>{{ t.kpi }}</th><th class="num">{{ t.value }}</th><th class="num">{{ t.target }}</th><th>{{ t.status }}</th>
<th>{{ t.where_to_look }}</th></tr></thead><tbody>
{% for k in off %}<tr><td>{{ k.label }}</td><td class="num">{{ k.value }}</td><td class="num">{{ k.target }}</td>
<td class="status {{ k.css }}">{{ k.status }}</td><td>{{ k.page }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p>{{ t.all_on_target }}</p>{% endif %}

<h2>{{ t.every_kpi }}</h2>
{% for group in groups %}<h3>{{ group.title }}</h3>
<table><thead><tr><th style="width:34%">{{ t.kpi }}</th><th class="num">{{ t.value }}</th><th class="num">{{ t.comparison }}</th>
<th class="num">{{ t.change }}</th><th class="num">{{ t.target }}</th><th>{{ t.status }}</th></tr></thead><tbody>
{% for k in group.kpis %}<tr><td>{{ k.label }}</td><td class="num">{{ k.value }}</td><td class="num">{{ k.comparison }}</td>
<td class="num">{{ k.delta }}</td><td class="num">{{ k.target }}</td><td class="status {{ k.css }}">{{ k.status }}</td></tr>
{% endfor %}</tbody></table>{% endfor %}

<h2>{{ t.trends }}</h2>
{% if trend_names %}<div class="charts">{% for name in trend_names %}<div class="chart" id="chart-{{ name }}"></div>
{% endfor %}</div>{% else %}<p>{{ t.no_activity }}</p>{% endif %}

<script>
const figures = {{ figures|tojson }};
Promise.all(figures.map(f => {
  const spec = JSON.parse(f.spec);
  return Plotly.newPlot("chart-" + f.name, spec.data, spec.layout, {staticPlot: true, displayModeBar: false});
})).then(() => { document.body.dataset.ready = "yes"; });
</script>
</body></html>
"""


def _row(r) -> dict:
    u = r.kpi.unit
    comparator = "≥" if r.kpi.direction.value == "higher" else "≤"
    return {"name": r.kpi.name, "label": _(r.kpi.label), "value": format_value(r.value, u),
            "comparison": format_value(r.comparison, u),
            "delta": format_value(r.delta, u, signed=True) if r.delta is not None else "–",
            "target": f"{comparator} {format_value(r.target, u)}",
            "status": _(STATUS_WORDS.get(r.status.value, r.status.value)),
            "css": r.status.value.replace(" ", "-"),
            "page": _("{page} page").format(page=_(where_to_look(r.kpi.name)))}


def _score(score: float | None) -> str:
    return _("no data") if score is None else f"{number(score)} / 100"


def _words(overall: str, off_count: int, with_data: int) -> dict[str, str]:
    """The report's fixed words in the current language."""
    return {
        "title": _("CRM scorecard"), "prepared_for": _("Prepared for"), "scope": _("Scope"), "filters": _("Filters"),
        "compared_with": _("Compared with"), "generated": _("Generated"),
        "overall": _("Overall CRM score: {score}").format(score=overall),
        "off_count": _("{off} of {with_data} KPIs with data are off or near target.").format(
            off=off_count, with_data=with_data),
        "score_note": _("The overall score is the mean of the eight rule scores; a rule's score is 100 × the mean "
                        "attainment of its KPIs (value / target, capped at 1). KPIs without data are left out, "
                        "never counted as 0."),
        "rules": _("Gartner's eight rules"), "rule": _("Rule"), "score": _("Score"), "comparison": _("Comparison"),
        "kpis_with_data": _("KPIs with data"), "off_target": _("Off target — where to look"), "kpi": _("KPI"),
        "value": _("Value"), "target": _("Target"), "status": _("Status"), "where_to_look": _("Where to look"),
        "all_on_target": _("Every KPI with data is on target."), "every_kpi": _("Every KPI"),
        "change": _("Change"), "trends": _("Headline trends (12 months)"),
        "no_activity": _("No activity in the 12 months up to the end of the range for this selection."),
    }


def report_html(data: ReportData) -> str:
    """The report as a self-contained HTML page (plotly.js inlined, so it renders offline)."""
    from plotly.offline import get_plotlyjs

    card, f = data.card, data.card.filters
    comparison = f.comparison()
    results = list(card.results)
    off = sorted([r for r in results if r.status.value in ("off target", "near target")],
                 key=lambda r: (r.attainment if r.attainment is not None else 1.0))
    if card.overall is not None and card.comparison_overall is not None:
        points = card.overall - card.comparison_overall
        change = _("{change} points against {comparison}.").format(
            change=("+" if points > 0 else "") + number(points, 1), comparison=_(COMPARE_TEXT[f.compare]))
    else:
        change = _("No comparison.") if f.compare == "none" else _("No score for the comparison period.")
    reader = _("everyone with access to the whole company")
    if data.access is not None:
        reader = data.access.email
    figures = _figures(data)
    selection = replace(f, scope=())
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    period = _("{start} to {end}")
    return env.from_string(TEMPLATE).render(
        plotly_js=get_plotlyjs(), lang=language(),
        t=_words(_score(card.overall), len(off), sum(r.status.value != "no data" for r in results)),
        period=period.format(start=day(f.start, "long"), end=day(f.end, "long")),
        reader=reader,
        scope=(data.access.describe_scope() if data.access is not None
               else "; ".join(f"{d}: {', '.join(v)}" for d, v in f.scope) or _("the whole company")),
        filters=selection.describe(),
        compared=(_("nothing") if comparison is None else
                  _("{comparison} ({period})").format(comparison=_(COMPARE_TEXT[f.compare]), period=period.format(
                      start=day(comparison.start), end=day(comparison.end)))),
        generated=_("{moment} UTC").format(moment=moment(data.generated_at.replace(tzinfo=None))),
        overall_change=change,
        rules=[{"rule": f"{r.rule.value}. {_(r.rule.title)}", "score": _score(r.score),
                "comparison": _score(c.score) if c is not None else "–",
                "with_data": _("{n} of {total}").format(n=r.with_data, total=r.kpis)}
               for r, c in zip(card.rules, card.comparison_rules or [None] * len(card.rules))],
        off=[_row(r) for r in off],
        groups=[{"title": f"{rule.value}. {_(rule.title)}", "kpis": [_row(r) for r in results if r.kpi.rule is rule]}
                for rule in Rule],
        trend_names=[fig["name"] for fig in figures if fig["name"] != "radar"],
        figures=figures,
    )


# ---- PDF
def chromium_path() -> str:
    """The Chromium that prints the PDF: ``CHROMIUM``, else the system one."""
    path = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RenderError(_("Chromium not found at {path}: install the Debian package chromium, or set CHROMIUM to "
                            "its path").format(path=path))
    return path


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` to an A4 PDF with the system Chromium (charts drawn first)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load")
                page.wait_for_selector("body[data-ready=yes]", timeout=60_000)
                return page.pdf(format="A4", print_background=True, display_header_footer=True,
                                header_template="<span></span>",
                                footer_template='<div style="font-size:8px;width:100%;text-align:center;color:#777">'
                                                + _("CRM scorecard · page {page} of {pages}").format(
                                                    page='<span class="pageNumber"></span>',
                                                    pages='<span class="totalPages"></span>') + '</div>',
                                margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise RenderError(_("Chromium could not print the report: {reason}").format(
            reason=str(exc).splitlines()[0])) from None


def pdf_report(conn: Connection, filters: Filters, targets: dict[str, float] | None = None,
               access: Access | None = None) -> bytes:
    """The executive report for ``filters`` within ``access``'s scope, as PDF bytes."""
    return html_to_pdf(report_html(report_data(conn, filters, targets, access)))


def in_thread(function, *args, **kwargs):
    """Run ``function`` in a fresh thread (Playwright's sync API refuses a thread with an
    asyncio loop, as a Streamlit script thread may have)."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    context = contextvars.copy_context()  # the thread keeps the caller's language
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, function, *args, **kwargs).result()


def kpi_labels() -> list[str]:
    """Every KPI label, as the report prints them (for checks)."""
    return [k.label for k in catalogue.CATALOGUE]

