"""Streamlit glue shared by the pages: the source, the global filters (bound to the URL),
cached computations, KPI tiles, chart-click filters, drill-down dialogs and empty states.

Pages stay thin: they lay out widgets and call :func:`compute` / :func:`records_button`.
Everything that computes lives in ``metrics``; results are cached per filter set.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import html
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from data.budget import over_budget
from data.cache import ResultStore, source_fingerprint
from data.sources import Source, SourceError, connect, mask_url, resolve_url
from data.store import AppStore
from data.store import resolve_url as resolve_store_url
from metrics import (catalogue, churn, clv, cohorts, forecast, rfm, drilldown, engagement, funnel, maturity, pipeline, quality,
                     segments, sla, survival, value, voice)
from metrics.catalogue import CATALOGUE, KPIS, Unit
from metrics.filters import DIMENSION_LABELS, Filters, activity_span, first_visit_period
from metrics.units import format_value, shown
from metrics import escape, health, keeping
import i18n
from i18n import N_, _
from pages import ahead, keeper

TTL = 600  # seconds a cached lookup (dimension values, data span, settings) lives
#: Seconds between two looks at the source's fingerprint: a data refresh is seen within them,
#: and results are kept per fingerprint (in memory and on disk, data/cache.py), not per time.
REFRESH_SECONDS = int(os.environ.get("CRM_REFRESH_SECONDS", "60"))
#: Bytes each cache of results may hold (least recently used entries go first), so that
#: many sessions and filter sets cannot grow the server without bound.
CACHE_BUDGET = {"compute": "400MB", "clv": "600MB", "records": "100MB", "csv": "200MB"}
APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
FILTER_KEYS = ("segment", "region", "industry", "acquisition_channel", "owner_team", "channel")
COMPARE_LABELS = {"previous": i18n.N_("Previous period"), "last_year": i18n.N_("Same period last year"),
                  "none": i18n.N_("No comparison")}
COMPARE_CODES = {label: code for code, label in COMPARE_LABELS.items()}


# --------------------------------------------------------------------------- navigation
def navigation_pages() -> dict[str, list]:
    """Every page of the app, by section (app.py's st.navigation).

    Each url_path is its file's stem, so that a first visit in Streamlit's legacy
    ``pages/`` mode finds the same page (see :func:`frame`); the default page is at "/".
    """
    return {
        _("Executives"): [
            st.Page("pages/overview.py", title=_("Overview"), icon=":material/dashboard:", default=True),
            st.Page("pages/rules.py", title=_("Gartner's eight rules"), icon=":material/checklist:", url_path="rules"),
        ],
        _("Managers"): [
            st.Page("pages/funnel.py", title=_("Lifecycle funnel"), icon=":material/filter_alt:", url_path="funnel"),
            st.Page("pages/service.py", title=_("Service & SLA"), icon=":material/support_agent:", url_path="service"),
            st.Page("pages/retention.py", title=_("Retention cohorts"), icon=":material/grid_on:",
                    url_path="retention"),
            st.Page("pages/engagement.py", title=_("Engagement"), icon=":material/campaign:", url_path="engagement"),
            st.Page("pages/segments.py", title=_("Segments"), icon=":material/compare_arrows:", url_path="segments"),
            st.Page("pages/value.py", title=_("Customer value"), icon=":material/savings:", url_path="value"),
            st.Page("pages/pipeline.py", title=_("Sales pipeline"), icon=":material/trending_up:", url_path="pipeline"),
        ],
        _("CRM lead"): [
            st.Page("pages/maturity.py", title=_("CRM maturity"), icon=":material/stairs:", url_path="maturity"),
        ],
        _("Data"): [
            st.Page("pages/data_source.py", title=_("Data"), icon=":material/database:", url_path="data_source"),
            st.Page("pages/import_data.py", title=_("Import data"), icon=":material/upload_file:",
                    url_path="import_data"),
        ],
    }


PAGE_CSS = """<style>
/* long KPI labels, values and badges wrap instead of being cut with an ellipsis */
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricValue"] .stMarkdownEllipsis,
[data-testid="stMetricLabel"] p, [data-testid="stMetricValue"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricValue"] { font-size: clamp(1.5rem, 2.2vw, 2.25rem); }
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; height: auto !important; }
.stMarkdownBadge { white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  max-width: 100% !important; height: auto !important; }
[data-testid="stPageLink-NavLink"] p, [data-testid="stPageLink-NavLink"] span {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
/* KPI tiles with a sparkline grow with their label; at least this tall, so a row lines up */
[data-testid="stMetric"]:has([data-testid="stMetricChart"]) { min-height: 190px; }
/* a button in a narrow column wraps its label instead of cutting it */
.stButton button p, .stButton button [data-testid="stMarkdownContainer"] {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
</style>"""


def page_style() -> None:
    """CSS every page shares: nothing a reader needs is cut by an ellipsis (app.py's frame)."""
    st.html(PAGE_CSS)


def frame() -> None:
    """Make sure the page runs inside app.py's frame (sidebar filters, navigation).

    With a ``pages/`` folder beside app.py, Streamlit starts in its legacy multipage mode
    until some session has called ``st.navigation``; a first visit straight to a page URL
    then runs the page alone (and Streamlit's AppTest does so on every run).
    """
    from streamlit.runtime.pages_manager import PagesManager  # the flag Streamlit itself consults

    if getattr(PagesManager, "uses_pages_directory", False):
        # run the frame (navigation, sidebar, then this page) within this same run, so that
        # nothing the user just did (a button, a form) is lost; then stop the lone run
        import runpy

        runpy.run_path(str(APP_PATH), run_name="__main__")
        st.stop()


# --------------------------------------------------------------------------- the source
@st.cache_resource(show_spinner=False)  # the spinner (in the page's language) is in source()
def _open(url: str) -> Source:
    opened = connect(url)
    if _serving():
        start_warming(url)
    return opened


#: The server's warming thread of each source (pages/warm.py), while it runs.
_WARMING: dict[str, threading.Thread] = {}
_WARMING_LOCK = threading.Lock()


def start_warming(url: str) -> threading.Thread | None:
    """Warm ``url``'s default view in a background thread of this server (pages/warm.py),
    unless ``CRM_WARM=0`` or a warming of it is running already; the thread, or None.

    ``python -m pages.serve`` calls it as the server starts (the morning's first visitor
    then finds the Overview computed or under way); a source opened later (another source,
    the workspace after an import) is warmed when a visitor first opens it."""
    if os.environ.get("CRM_WARM", "1") == "0":
        return None
    from pages import warm

    with _WARMING_LOCK:
        running = _WARMING.get(url)
        if running is not None and running.is_alive():
            return None
        warming = threading.Thread(target=warm.default_view, args=(url, resolve_store_url(), VISITORS),
                                   daemon=True, name="warm-default-view")
        _WARMING[url] = warming
        warming.start()
    atexit.register(warm.stop, warming)
    return warming


def _serving() -> bool:
    """True in a real Streamlit server (not in AppTest, whose runtime is a stand-in)."""
    from streamlit.runtime import Runtime

    try:
        return isinstance(Runtime.instance(), Runtime)
    except RuntimeError:
        return False


#: The sources this process has opened (``_open`` keeps them; :func:`release_source` forgets).
_OPENED: set[str] = set()


def source() -> Source | None:
    """The opened source, or None after showing why it cannot be used."""
    try:
        url = resolve_url()
        if url in _OPENED:      # opened before: no spinner (it starts a thread, on every call)
            return _open(url)
        with st.spinner(_("Opening the data source…")):
            opened = _open(url)
        _OPENED.add(url)
        return opened
    except SourceError as exc:
        st.error(str(exc), icon=":material/error:")
        st.caption(_("Set CRM_DB_URL or `[connections.crm] url` in .streamlit/secrets.toml, then reload. "
                     "The dashboard only ever reads from the source."))
        return None


def release_source() -> None:
    """Close the cached source and forget every cached result: an import is about to write
    the workspace (DuckDB lets one process hold a file either read-only or writable)."""
    try:
        url = resolve_url()
    except SourceError:
        url = None
    if url is not None:
        try:
            _open(url).engine.dispose()
        except SourceError:
            pass
    BUILDER.clear()
    _open.clear()
    _OPENED.clear()
    st.cache_data.clear()


def require_source() -> Source:
    """The opened source; stops the page (not the app) when there is none."""
    opened = source()
    if opened is None:
        st.stop()
    return opened


def engine() -> Engine:
    return require_source().engine


# --------------------------------------------------------------------------- cached facts
@st.cache_data(ttl=TTL, show_spinner=False)
def dimension_values(url: str) -> dict[str, list[str]]:
    """The values each filter dimension takes in the source (for the multiselects), kept
    with the results of the data refresh (pages.keeper.kept_filter_values)."""
    with _open(url).engine.connect() as conn:
        return keeper.kept_filter_values(results(), url, fingerprint(url), conn)


@st.cache_data(ttl=TTL, show_spinner=False)
def data_span(url: str) -> tuple[date, date]:
    """First and last day with activity (metrics.filters.activity_span)."""
    with _open(url).engine.connect() as conn:
        return activity_span(conn, date.today())


# --------------------------------------------------------------------------- global filters
def _default_period(url: str) -> tuple[date, date]:
    """The 90 days up to the last full day with data (metrics.filters.first_visit_period)."""
    return first_visit_period(*data_span(url), date.today())


def follow_new_data() -> None:
    """Make the next run's filters the defaults of the data as it now is (after an import),
    whatever the session or its link held before."""
    st.session_state["_new_data"] = True


def sidebar_filters() -> None:
    """The global filters in the sidebar, bound to the URL; stores a Filters in the session."""
    try:
        url = resolve_url()
        opened = _open(url)
    except SourceError:
        st.session_state["filters"] = None
        return
    values = dimension_values(opened.url)
    scope = dict(st.session_state["access"].scope) if st.session_state.get("access") else {}
    values = {dim: [v for v in vs if dim not in scope or v in scope[dim]] for dim, vs in values.items()}
    first, last = data_span(opened.url)
    default_start, default_end = _default_period(opened.url)
    raw = {key: st.query_params.get_all(key) for key in ("period", "compare", *FILTER_KEYS)}

    if st.session_state.pop("_new_data", False):  # after an import: the new data's defaults,
        # also over a link's values (a query parameter bound to a widget is set through the widget)
        st.session_state["period"] = (default_start, default_end)
        st.session_state["compare"] = COMPARE_LABELS["previous"]
        st.session_state.update({key: [] for key in FILTER_KEYS})
        raw = {key: [] for key in raw}
    bar = st.sidebar
    bar.header(_("Filters"))
    fix = st.session_state.pop("_period_fix", None)  # a link's range corrected by the run before
    if fix is not None:
        raw["period"], corrected = fix["link"], fix["range"]
    else:
        corrected = _link_period(raw["period"], first, max(last, date.today()), (default_start, default_end))
    if corrected is not None:  # a reversed or surplus range in the link: fix the link itself
        if "period" in st.session_state:  # the widget is bound already: set its value instead
            st.session_state["period"] = corrected
        else:
            st.query_params["period"] = [d.isoformat() for d in corrected]
    period = bar.date_input(_("Date range"), value=(default_start, default_end), min_value=first,
                            max_value=max(last, date.today()), key="period", bind="query-params",
                            format="YYYY-MM-DD", help=_("Both days included. KPIs are computed as of the end."))
    shown = tuple(period) if isinstance(period, (tuple, list)) else (period,)
    if corrected is not None and fix is None and shown != tuple(corrected):
        # on a session's first run Streamlit fills a bound widget from the link as it came:
        # run once more, the corrected range set on the widget, so the widget, the caption
        # and the figures show the same dates
        st.session_state["_period_fix"] = {"link": raw["period"], "range": corrected}
        st.rerun()
    # bound widgets write their displayed label to the URL, so the labels are the options
    compare_label = bar.selectbox(_("Compare with"), list(COMPARE_LABELS.values()), key="compare",
                                  bind="query-params", format_func=_)
    compare = COMPARE_CODES.get(compare_label, "previous")
    chosen: dict[str, tuple[str, ...]] = {}
    for key in FILTER_KEYS:
        # empty is "All": no "Select all" entry (Streamlit's, English on a Spanish page), which
        # would only pick every value one by one into the link
        chosen[key] = tuple(bar.multiselect(_(DIMENSION_LABELS[key]), values[key], key=key, bind="query-params",
                                            placeholder=_("All"), select_all=False))
    if bar.button(_("Reset filters"), icon=":material/restart_alt:", width="stretch"):
        for key in ("period", "compare", *FILTER_KEYS):
            st.session_state.pop(key, None)
        st.rerun()
    _notice_ignored(raw, values, period, compare, chosen)

    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = sorted(period)
    else:  # a range being picked: one day chosen so far
        start = end = period[0] if isinstance(period, (tuple, list)) and period else default_end
    if corrected is not None:  # the widget read the link before it was fixed
        start, end = corrected
    st.session_state["filters"] = Filters(start=start, end=end, compare=compare or "previous", **chosen,
                                          scope=tuple(scope.items()))  # the user's scope (metrics/scope.py)


def _parse_days(values: list[str]) -> list[date] | None:
    try:
        return [date.fromisoformat(v) for v in values]
    except (TypeError, ValueError):
        return None


def _reversed(values: list[str]) -> bool:
    days = _parse_days(values)
    return days is not None and len(days) == 2 and days[0] > days[1]


def _link_period(values: list[str], lowest: date, highest: date,
                 default: tuple[date, date]) -> tuple[date, date] | None:
    """The range to use instead of the link's ``period`` values, or None to take them as they
    are: reversed dates are turned around, more than two dates give the default range."""
    if len(values) > 2:
        return default
    days = _parse_days(values)
    if _reversed(values) and days and lowest <= days[1] and days[0] <= highest:
        return days[1], days[0]
    return None


def _notice_ignored(raw: dict, values: dict, period, compare, chosen: dict) -> None:
    """Tell the user which values from the URL were not valid and were ignored."""
    ignored = []
    for key in FILTER_KEYS:
        bad = [v for v in raw[key] if v not in values[key]]
        if bad:
            ignored.append(_("{dimension}: {values}").format(
                dimension=_(DIMENSION_LABELS[key]), values=", ".join(escape.markdown(_short(v)) for v in bad)))
    if raw["compare"] and COMPARE_CODES.get(raw["compare"][0]) != compare:
        ignored.append(_("comparison: {value}").format(value=escape.markdown(_short(raw["compare"][0]))))
    if len(raw["period"]) > 2:
        ignored.append(_("date range: {values} (a range has two dates)").format(
            values=", ".join(escape.markdown(_short(v)) for v in raw["period"][:5])))
    elif _reversed(raw["period"]):
        st.sidebar.info(_("The date range in the link ended before it started; it was turned around."),
                        icon=":material/swap_horiz:")
    elif raw["period"]:
        shown = {d.isoformat() for d in (period if isinstance(period, (tuple, list)) else [period]) if d}
        if set(raw["period"]) != shown:  # a one-day range comes back as a single date
            ignored.append(_("date range: {values}").format(
                values=", ".join(escape.markdown(_short(v)) for v in raw["period"])))
    if ignored:
        st.sidebar.warning(_("Ignored values from the link that this data does not have or that are outside "
                             "your access — {values}").format(values="; ".join(ignored)), icon=":material/link_off:")


def filters() -> Filters:
    """The active global filters (stops the page when there is no source)."""
    frame()
    current = st.session_state.get("filters")
    if current is None:
        require_source()
        st.stop()
    return current


def caption_filters(f: Filters, tables: tuple[str, ...] | None = None) -> None:
    """The filters in words under the title, and the rows of ``tables`` (default: every table)
    that the figures leave out because they break the data model."""
    comparison = f.comparison()
    extra = "" if comparison is None else " · " + _("compared with {start} to {end}").format(
        start=i18n.day(comparison.start), end=i18n.day(comparison.end))
    st.caption(f"{f.describe(escape.markdown)}{extra}")
    exclusion_note(tables)


def sidebar_source() -> None:
    try:
        url = resolve_url()
    except SourceError as exc:
        st.sidebar.caption(_("Source: {problem}").format(problem=exc))
        return
    st.sidebar.caption(_("Source: `{url}` (read-only)").format(url=mask_url(url)))


# --------------------------------------------------------------------------- computations
def _scorecard(conn, f: Filters, targets: tuple) -> dict:
    """The scorecard, as the app shows it: with its sparklines, which read part of its
    families with it (metrics.catalogue.read_together)."""
    card = catalogue.evaluate(conn, f, dict(targets), sparklines=catalogue.SPARKLINE_MONTHS)
    rules = pd.DataFrame([{"rule": r.rule.value, "title": r.rule.title, "definition": r.rule.definition,
                           "score": r.score, "with_data": r.with_data, "kpis": r.kpis} for r in card.rules])
    if card.comparison_rules is not None:
        rules["comparison"] = [r.score for r in card.comparison_rules]
    for column in ("score", "comparison"):  # no data is NaN, never 0
        if column in rules:
            rules[column] = pd.to_numeric(rules[column], errors="coerce").astype(float)
    return {"kpis": pd.DataFrame([r.as_dict() for r in card.results]), "rules": rules,
            "overall": card.overall, "comparison_overall": card.comparison_overall, "card": card}


def _survival(conn, f: Filters, dimension: str | None, churn_days: int, cohort: str) -> dict:
    data = survival.survival_data(conn, f, dimension, churn_days, cohort)
    curves = survival.curve_by_day(survival.kaplan_meier(data))    # one point per day: the chart stays light
    return {"customers": len(data), "curves": curves, "medians": survival.median_survival(data),
            "logrank": survival.logrank(data)}


VALUE_COLUMNS = ["customer_id", "name", "segment", "region", "frequency", "monetary_value", "p_alive",
                 "expected_purchases", "expected_spend", "clv"]


def _clv_fit(url: str, f: Filters, horizon_months: int, by: str | None) -> dict:
    return _clv_fit_for(url, fingerprint(url), f, horizon_months, by)


@st.cache_data(show_spinner=False, max_entries=8, max_size=CACHE_BUDGET["clv"])
def _clv_fit_for(url: str, version: str, f: Filters, horizon_months: int, by: str | None) -> dict:
    """The value models fitted once per selection and data refresh, shared by the value and
    churn sections, by every session and language (the notes and the error are
    :class:`i18n.Text`, translated where they are shown: at 1M customers the fit takes about
    4 s) and across restarts."""
    def fit() -> dict:
        with _open(url).engine.connect() as conn:
            try:
                models, values = clv.customer_values(conn, f, clv.ClvSettings(horizon_months=horizon_months), by=by)
            except clv.NotEnoughHistory as exc:
                return {"error": i18n.message_of(exc)}
        return {"error": None, "parameters": models.parameters(),
                "notes": {g: p.notes for g, p in models.strata.items()}, "customers": models.customers,
                "repeat_buyers": models.repeat_buyers, "values": values[VALUE_COLUMNS]}
    return results().get_or_compute(version, ("clv.fit", url, f, horizon_months, by), fit)


#: The source of the computation running in this context (set by :func:`_compute_for`): a
#: computation that reads another kept result (the value models, the scorecard) reads that
#: of its own source, also in a thread of the server's warming, where there is no page.
_COMPUTING_URL: contextvars.ContextVar[str] = contextvars.ContextVar("computing_url")


def _computing_url() -> str:
    """The source of the computation running now (outside :func:`_compute_for`, as when a
    test calls a computation itself: the source the page would open)."""
    url = _COMPUTING_URL.get(None)
    return url if url is not None else require_source().url


def _customer_value(_conn, f: Filters, horizon_months: int, by: str | None) -> dict:
    """Predictive value, summarised for the page (the map of every customer's P(alive) and
    CLV, and the top list; not every customer)."""
    fit = _clv_fit(_computing_url(), f, horizon_months, by)
    if fit["error"]:
        return {"error": str(fit["error"])}
    values = fit["values"]
    return {"error": None, "parameters": fit["parameters"], "notes": fit["notes"],
            "overall": clv.equity_by(values).iloc[0].to_dict(), "by_segment": clv.equity_by(values, "segment"),
            "distribution": clv.clv_distribution(values), "top": values.nlargest(200, "clv"),
            "alive_value": clv.alive_value_grid(values),
            "customers": fit["customers"], "repeat_buyers": fit["repeat_buyers"]}


#: The months of history a forecast is fitted on (up to the end of the range).
FORECAST_HISTORY_MONTHS = 36


def _forecast(conn, f: Filters, what: str, horizon: int) -> forecast.Forecast:
    """Monthly ``what`` (revenue, new_customers, tickets) over the 36 months to the end of
    the range, forecast ``horizon`` months ahead."""
    window = month_window(f, FORECAST_HISTORY_MONTHS)
    if what == "revenue":
        frame, column = value.revenue_by_period(conn, window), "revenue"
    elif what == "new_customers":
        frame, column = value.new_customers_by_period(conn, window), "new_customers"
    else:
        frame = sla.compliance_over_time(conn, window, "month").groupby("period", as_index=False)[
            ["met", "breached", "pending"]].sum()
        frame["tickets"] = frame.met + frame.breached + frame.pending
        column = "tickets"
    series = forecast.monthly_series(frame, column, end=f.end)
    return forecast.forecast(series, horizon, last_period_complete=f.as_of.day == 1)


def _rfm(conn, f: Filters) -> dict:
    table = rfm.rfm_table(conn, f)
    return {"customers": len(table), "grid": rfm.rfm_grid(table), "segments": rfm.segment_summary(table),
            "pareto": rfm.pareto_share(conn, f)}


def _churn(conn, f: Filters, horizon_days: int, clv_horizon_months: int = 12, by: str | None = "segment") -> dict:
    """Churn model, its drivers and the CLV at risk (CLV from the value models already fitted)."""
    fit = _clv_fit(_computing_url(), f, clv_horizon_months, by)
    if fit["error"]:
        return {"error": str(fit["error"])}
    try:
        result = churn.churn_risk(conn, f, horizon_days)
    except churn.NotEnoughData as exc:
        return {"error": str(exc)}
    values = fit["values"]
    return {"error": None, "odds_ratios": result.odds_ratios, "auc": result.auc,
            "validation_auc": result.validation_auc, "notes": result.notes, "churn_rate": result.churn_rate,
            "customers": len(result.scores), "at_risk": churn.clv_at_risk(result.scores, values),
            "top": churn.customers_at_risk(result.scores, values, 50)}


def _maturity_evidence(conn, f: Filters, targets: tuple, thresholds) -> list:
    """The maturity phases' criteria; the scorecard (same filters and targets) from the results."""
    card = _compute(_computing_url(), "scorecard", f, (targets,))["card"]
    return maturity.evidence(conn, f, card, thresholds)


def _trend(conn, f: Filters, months: int, kpis: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The KPIs month by month (sparklines), with the scorecard's settings, read with the
    scorecard of the same filters when ``months`` are its sparklines'."""
    return catalogue.trend(conn, f, months, kpis, catalogue.load_settings(),
                           with_scorecard=months == catalogue.SPARKLINE_MONTHS)


COMPUTATIONS: dict[str, Callable[..., Any]] = {
    "maturity.evidence": _maturity_evidence,
    "rfm": _rfm,
    "churn": _churn,
    "forecast": _forecast,
    "clv": _customer_value,
    "survival": _survival,
    "scorecard": _scorecard,
    "trend": _trend,
    "cubes": catalogue.keep_cubes,  # warming: the dimension cubes of the scorecard's dates
    "value.revenue_cube": value.keep_revenue_cube,      # warming: the cubes of the Overview's series
    "voice.nps_cube": voice.keep_nps_cube,
    "sla.over_time_cube": sla.keep_compliance_cube,
    "sla.summary": sla.summary,
    "sla.over_time": sla.compliance_over_time,
    "sla.backlog": sla.backlog_by_age,
    "sla.channels": sla.channel_mix,
    "sla.distribution": sla.time_distribution,
    "funnel.stages": funnel.stage_counts,
    "cohorts.matrix": cohorts.cohort_matrix,
    "engagement.interactions": engagement.interaction_facts,
    "engagement.pressure": engagement.pressure_facts,
    "engagement.distribution": engagement.pressure_distribution,
    "engagement.pressure_overview": engagement.pressure_overview,  # the two above in one statement
    "engagement.any": engagement.has_interactions,
    "engagement.consent": engagement.consent_facts,
    "engagement.personalised": engagement.personalization_response,
    "engagement.roi": engagement.campaign_roi,
    "pipeline.facts": pipeline.pipeline_facts,
    "pipeline.open": pipeline.open_pipeline,
    "pipeline.win_rates": pipeline.win_rates,
    "pipeline.cycle": pipeline.cycle_days,
    "pipeline.forecast": pipeline.close_forecast,
    "quality.facts": quality.quality_facts,
    "quality.fields": quality.field_completeness,
    "value.facts": value.value_facts,
    "value.by_group": value.value_by_group,
    "value.revenue": value.revenue_by_period,
    "value.new_customers": value.new_customers_by_period,
    "voice.facts": voice.survey_facts,
    "voice.nps": voice.nps_by_period,
    "segments.compare": segments.compare,
    "segments.revenue": segments.revenue_by,
}


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def fingerprint(url: str) -> str:
    """The source's fingerprint (data/cache.py), looked at once per REFRESH_SECONDS."""
    with _open(url).engine.connect() as conn:
        return source_fingerprint(conn, url)


@st.cache_resource(show_spinner=False)
def results() -> ResultStore:
    """Results kept on disk per data refresh: shared by sessions, kept across restarts."""
    return ResultStore()


#: Computations whose results hold sentences for people (notes, explanations): kept per
#: language; every other result is numbers, labels and :class:`i18n.Text` translated where
#: shown, kept once (RFM's segment names and the forecasts' captions among them: the
#: server's warming computed those for each language, 0.5 s and 0.2 s each at 1M customers).
TEXT_RESULTS = frozenset({"maturity.evidence", "survival", "churn", "clv", "funnel.stages", "segments.compare",
                          "cohorts.matrix", "engagement.personalised", "pipeline.forecast"})


def _result_language(name: str) -> str:
    """The language ``name``'s result is kept in: the page's for results holding sentences."""
    return i18n.language() if name in TEXT_RESULTS else i18n.DEFAULT


def _compute(url: str, name: str, f: Filters, args: tuple) -> Any:
    return _compute_for(url, fingerprint(url), _result_language(name), name, f, args)


@st.cache_data(show_spinner=False, max_entries=512, max_size=CACHE_BUDGET["compute"])
def _compute_for(url: str, version: str, lang: str, name: str, f: Filters, args: tuple) -> Any:
    """``name`` computed for the filters, once per data refresh (``version``, the fingerprint)
    and language (results may hold sentences)."""
    def run() -> Any:
        token = _COMPUTING_URL.set(url)
        try:
            with i18n.using(lang), keeping.keeping(_keeper(url, version, name)), _open(url).engine.connect() as conn:
                return COMPUTATIONS[name](conn, f, *args)
        finally:
            _COMPUTING_URL.reset(token)
    return results().get_or_compute(version, ("compute", url, lang, name, f, args), run)


#: Computations that build the dimension cubes when they run (the warming's); any other
#: answers directly while a cube is not kept and leaves it to :data:`BUILDER`.
BUILDS_CUBES = frozenset({"cubes", "value.revenue_cube", "voice.nps_cube", "sla.over_time_cube"})


def _keeper(url: str, version: str, name: str) -> keeping.Keeper:
    """Intermediate results (metrics/keeping.py) kept with the results of this data refresh: a
    family's facts read by two pages are computed once; the first selection of customer
    dimensions on some dates answers directly and queues their cube (metrics/cube.py), which
    later selections sum (pages/keeper.py)."""
    if name in BUILDS_CUBES:
        return keeper.Kept(results(), url, version)
    return keeper.BuiltAhead(results(), url, version, BUILDER, lambda: _open(url).engine.connect())


def is_kept(url: str, name: str, f: Filters, args: tuple) -> bool:
    """True when ``name``'s result for these filters is kept on disk for the source as it is
    now (warming then leaves it to the page, which reads it)."""
    return (fingerprint(url), ("compute", url, _result_language(name), name, f, args)) in results()


OVER_BUDGET_MESSAGE = N_("This section needs more memory or time than the server allows for one computation, "
                      "so it was stopped. Narrow the date range or add a filter, then try again.")


class _Visitors:
    """How many script runs and computations people are waiting for right now, and when the
    last ended: the server's background warming and cube building wait for them
    (pages/warm.py, pages/keeper.py) rather than slow them down. A whole run counts, not only
    its computations: between two computations the script builds figures and sends them,
    and a model fit started then in the background would take the interpreter from it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = 0
        self._last = 0.0
        self._last_page: float | None = None

    @contextlib.contextmanager
    def waiting(self, page: bool = False):
        """Someone waits for what runs inside: a computation, or a whole page run (``page``)."""
        with self._lock:
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1
                self._last = time.monotonic()
                if page:
                    self._last_page = self._last

    def idle(self, quiet: float) -> bool:
        """Nobody waiting for a computation, and nobody for ``quiet`` seconds."""
        with self._lock:
            return self._waiting == 0 and time.monotonic() - self._last >= quiet

    def last_page(self) -> float | None:
        """When (``time.monotonic()``) the last page run of this server ended (None before any)."""
        with self._lock:
            return self._last_page


VISITORS = _Visitors()


def _pause_for_visitors() -> None:
    from pages import warm

    warm.wait_for_a_pause(VISITORS)


#: Builds, in the pauses of the visitors' computations, the cubes they missed (pages/keeper.py).
BUILDER = keeper.Builder(_pause_for_visitors)
atexit.register(BUILDER.stop)


def compute(name: str, f: Filters, *args) -> Any:
    """A metric computation for the filters, cached per (source, filters, arguments); the
    one started ahead by :func:`prefetch` when there is one.

    A computation that goes over the engine's budget (data/budget.py) stops with a
    message where its section would be, not with a traceback or a dead server.
    """
    url = require_source().url
    started = _started().claim((url, name, f, args))
    # no spinner for a result already there (each spinner starts a thread: 2-3 ms, and a
    # warm page reads a dozen results)
    ready = (started is not None and started.done()) or is_kept(url, name, f, args)
    with (contextlib.nullcontext() if ready else st.spinner(_("Computing…"))), VISITORS.waiting():
        return within_budget(ahead.result, started, lambda: _compute(url, name, f, args))


def _started() -> ahead.Started:
    """This session's sections started ahead (pages/ahead.py)."""
    if "_sections_started" not in st.session_state:
        st.session_state["_sections_started"] = ahead.Started()
    return st.session_state["_sections_started"]


def prefetch(plan: ahead.Plan, f: Filters) -> None:
    """Start the page's sections (``plan``, see pages/ahead.py) for ``f`` side by side, ahead of
    the script that draws them; :func:`compute` then takes each one's result. Called once, at
    the top of a page, after the widgets its arguments come from."""
    url = require_source().url
    jobs = {}
    for name, window, args in plan_sections(plan, f, tuple(sorted(targets().items()))):
        def job(name=name, window=window, args=args, lang=_result_language(name)) -> Any:
            with VISITORS.waiting():
                return _compute_for(url, fingerprint(url), lang, name, window, args)
        jobs[(url, name, window, args)] = job
    _started().start(jobs)


def plan_sections(plan: ahead.Plan, f: Filters, kpi_targets: tuple) -> list[tuple[str, Filters, tuple]]:
    """``plan``'s sections for ``f`` as computed: (computation, filters, arguments), its window
    ("range", "year") made filters and its "targets" argument ``kpi_targets``."""
    windows = {"range": f, "year": month_window(f, 12), "history": month_window(f, FORECAST_HISTORY_MONTHS)}
    return [(name, windows[window], tuple(kpi_targets if a == "targets" else a for a in args))
            for name, window, args in plan]


class _SectionStopped(Exception):
    """Ends the current :func:`section` (and only it) after its message was shown."""


_SECTIONS = threading.local()


def section(function: Callable[..., Any]) -> Callable[..., Any]:
    """A page section drawn as an ``st.fragment`` (its controls rerun it alone) whose
    computation, when it goes over the engine's budget, ends this section with a message
    while the rest of the page is drawn."""
    import functools

    @functools.wraps(function)
    def run(*args, **kwargs):
        depth = getattr(_SECTIONS, "depth", 0)
        _SECTIONS.depth = depth + 1
        try:
            return function(*args, **kwargs)
        except _SectionStopped:
            return None
        finally:
            _SECTIONS.depth = depth
    return st.fragment(run)


def within_budget(function: Callable[..., Any], *args) -> Any:
    """``function(*args)``; when it goes over the engine's budget, a message in its place
    and the rest of its section (a :func:`section`) or, outside one, of the page stopped."""
    try:
        return function(*args)
    except Exception as exc:
        if not over_budget(exc):
            raise
        st.error(_(OVER_BUDGET_MESSAGE), icon=":material/memory:")
        if getattr(_SECTIONS, "depth", 0):
            raise _SectionStopped() from None
        st.stop()


@st.cache_resource(show_spinner=False)
def _store(url: str) -> AppStore:
    return AppStore(url)


def store() -> AppStore:
    """The application store (the app's own state, never the CRM source)."""
    return _store(resolve_store_url())


def user_name() -> str:
    """Who is saving: the signed-in user's name, or "local"."""
    try:
        if st.user.is_logged_in:
            return str(st.user.get("name") or st.user.get("email") or "local")
    except Exception:  # authentication not configured
        pass
    return "local"


@st.cache_data(ttl=TTL, show_spinner=False)
def settings() -> catalogue.Settings:
    """The dashboard settings of targets.toml's ``[settings]`` (minimum base, freshness, currency)."""
    return catalogue.load_settings()


def money(amount: float | None, decimals: int = 0) -> str:
    """An amount in the currency of the settings, formatted by the page's locale (Babel); no
    amount (missing, or infinite as a cost per zero customers) reads "no data"."""
    import math

    try:
        if amount is None or not math.isfinite(float(amount)):
            return _("no data")
    except (TypeError, ValueError):
        return _("no data")
    return i18n.money(amount, settings().currency, decimals)


def currency_symbol() -> str:
    from babel.numbers import get_currency_symbol

    return get_currency_symbol(settings().currency, locale=locale_code())


def locale_code() -> str:
    """The Babel locale the page is shown in."""
    return i18n.locale()


#: The session's language (a plain session key: Streamlit keeps it across pages) and the
#: sidebar control that changes it. A control's own state is tied to the page it was drawn
#: on: bound to the language itself, it was dropped on the second page switch, and the
#: pages went back to the browser's language.
LANGUAGE_KEY, LANGUAGE_PICKER = "lang", "lang_picker"


def _session_language() -> str | None:
    return st.session_state.get(LANGUAGE_KEY)


i18n.set_provider(_session_language)


def _language_picked() -> None:
    st.session_state[LANGUAGE_KEY] = st.session_state.get(LANGUAGE_PICKER) or st.session_state[LANGUAGE_KEY]


def choose_language() -> str:
    """The page's language: ``?lang=`` from the link, else the browser's Accept-Language; a
    selector in the sidebar changes it and writes it into the link. Sets it for this run."""
    codes = list(i18n.LANGUAGES)
    wanted = st.query_params.get("lang")
    if LANGUAGE_KEY not in st.session_state:
        if wanted not in codes:
            try:
                wanted = i18n.negotiate(st.context.headers.get("Accept-Language"))
            except Exception:  # no browser context (AppTest, bare mode)
                wanted = i18n.DEFAULT
        st.session_state[LANGUAGE_KEY] = wanted
    elif wanted in codes and st.session_state.get("_lang_seen") != wanted:
        st.session_state[LANGUAGE_KEY] = wanted  # a link opened in this session
    st.session_state[LANGUAGE_PICKER] = st.session_state[LANGUAGE_KEY]   # the control shows it
    st.sidebar.segmented_control("Language · Idioma", codes, key=LANGUAGE_PICKER, format_func=i18n.LANGUAGES.get,
                                 on_change=_language_picked)
    code = i18n.set_language(st.session_state[LANGUAGE_KEY])
    st.query_params["lang"] = code
    st.session_state["_lang_seen"] = code
    return code


def targets(store_url: str | None = None) -> dict[str, float]:
    """KPI targets: targets.toml, overridden by the CRM lead's edits in the application store
    (``store_url``, default the app's own)."""
    merged = catalogue.load_targets()
    merged.update({k: v for k, v in _store(store_url or resolve_store_url()).target_overrides().items() if k in KPIS})
    return merged


def scorecard(f: Filters) -> dict:
    return compute("scorecard", f, tuple(sorted(targets().items())))


def last_months(frame: pd.DataFrame, window: Filters, column: str = "period") -> pd.DataFrame:
    """The rows of a monthly ``frame`` within ``window`` (a :func:`month_window` of the same
    end): a year's months read from the forecast's 36, which hold the same figures."""
    return frame[frame[column] >= pd.Timestamp(window.start)].reset_index(drop=True)


def month_window(f: Filters, months: int = 12) -> Filters:
    """The ``months`` calendar months up to the end of the range (for headline trends)."""
    from dataclasses import replace

    start = date(f.end.year, f.end.month, 1)
    for _month in range(months - 1):
        start = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    return replace(f, start=start, compare="none")


# --------------------------------------------------------------------------- drill-down
RECORDS: dict[str, Callable[..., Any]] = {
    "kpi": drilldown.kpi_records,
    "sla.breaches": sla.breach_records,
    "sla.tickets": sla.ticket_records,
    "funnel.stage": funnel.stage_records,
    "cohort": cohorts.cohort_records,
    "engagement.over": engagement.over_contacted,
    "engagement.violations": engagement.violation_records,
    "engagement.contacts": engagement.contact_records,
    "quality.duplicates": quality.duplicate_records,
    "quality.stale": quality.stale_records,
    "pipeline.deals": pipeline.opportunity_records,
    "pipeline.open": pipeline.open_deal_records,
    "survival.customers": survival.survival_records,
    "health.broken": lambda _f, check_key: health.broken_records(check_key),
}


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256, max_size=CACHE_BUDGET["records"])
def _records_page(url: str, name: str, f: Filters, args: tuple, page: int, size: int,
                  statuses: tuple[str, ...] = ()) -> tuple[pd.DataFrame, int]:
    with _open(url).engine.connect() as conn:
        result = drilldown.page(conn, drilldown.with_status(RECORDS[name](f, *args), statuses), page, size)
    return result.rows, result.total


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256)
def _record_statuses(url: str, name: str, f: Filters, args: tuple) -> list[str]:
    with _open(url).engine.connect() as conn:
        return drilldown.status_values(conn, RECORDS[name](f, *args))


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=4, max_size=CACHE_BUDGET["csv"])
def _records_csv(url: str, name: str, f: Filters, args: tuple, statuses: tuple[str, ...] = ()) -> bytes:
    with _open(url).engine.connect() as conn:
        query = drilldown.with_status(RECORDS[name](f, *args), statuses)
        return escape.to_csv(drilldown.all_rows(conn, query)).encode()


def records_page(name: str, f: Filters, *args, size: int = 50) -> tuple[pd.DataFrame, int]:
    """The first ``size`` records behind a figure (for a table on the page) and their total."""
    url = require_source().url
    with st.spinner(_("Fetching records…")), VISITORS.waiting():
        return within_budget(_records_page, url, name, f, args, 0, size)


def _drill_body(title: str, name: str, f: Filters, args: tuple, slug: str) -> None:
    """The records dialog's content: a status filter, one page of typed records, the CSV of all."""
    from pages import labels

    url = require_source().url
    st.markdown(f"**{escape.markdown(title)}**")
    st.caption(f.describe(escape.markdown))
    size = 100
    statuses: tuple[str, ...] = ()
    present = _record_statuses(url, name, f, args)
    if len(present) > 1:
        statuses = tuple(st.pills(_("Status"), present, selection_mode="multi", key=f"drill_status_{slug}",
                                  format_func=labels.value_label,
                                  help=_("Show only the records with these statuses (all when none is picked).")))
    rows, total = within_budget(_records_page, url, name, f, args, 0, size, statuses)
    if total == 0:
        st.info(_("No records match this selection."), icon=":material/inbox:")
        return
    pages = max(1, -(-total // size))
    page = 0
    if pages > 1:
        page = st.number_input(_("Page (of {pages})").format(pages=i18n.number(pages)), 1, pages, 1,
                               key=f"drill_page_{slug}") - 1
        rows, _total = within_budget(_records_page, url, name, f, args, page, size, statuses)
    st.caption(_("{total} records · showing {first}-{last}").format(
        total=i18n.number(total), first=i18n.number(page * size + 1), last=i18n.number(min((page + 1) * size, total))))
    labels.table(labels.styled(rows, money), hide_index=True, height=420, column_config=labels.column_config(rows),
                 placeholder=labels.EMPTY)
    # the CSV of every record is built only when the button is clicked, not when the dialog opens
    st.download_button(_("Download all as CSV"), lambda: _records_csv(url, name, f, args, statuses),
                       file_name=f"{slug}.csv",
                       mime="text/csv", icon=":material/download:", key=f"drill_csv_{slug}")


def _drill_dialog(title: str, name: str, f: Filters, args: tuple, slug: str) -> None:
    """Open the records dialog, its title in the page's language (a decorator's title is fixed
    when the module is imported, so the dialog is made here; its identity stays that of
    ``_drill_body``, so its widgets rerun it as before)."""
    st.dialog(_("Records behind the figure"), width="large")(_drill_body)(title, name, f, args, slug)


def records_button(label: str, title: str, name: str, f: Filters, *args, key: str) -> None:
    """A button that opens the records behind a figure in a dialog (paged, with CSV)."""
    if st.button(label, key=key, icon=":material/table_view:", help=_("Show the records behind this figure")):
        _drill_dialog(title, name, f, args, key)


# --------------------------------------------------------------------------- KPI tiles
STATUS_ICON = {"on target": ":material/check_circle:", "near target": ":material/error:",
               "off target": ":material/cancel:", "too few answers": ":material/hourglass_empty:",
               "no data": ":material/help:"}
STATUS_COLOUR = {"on target": "green", "near target": "orange", "off target": "red", "too few answers": "gray",
                 "no data": "gray"}
INTERVAL_NAMES = {"wilson": i18n.N_("Wilson score interval"),
                  "nps normal": i18n.N_("normal interval of promoters minus detractors"),
                  "mean normal": i18n.N_("normal interval of the mean")}
STATUS_TEXT = {"on target": i18n.N_("on target"), "near target": i18n.N_("near target"),
               "off target": i18n.N_("off target"), "too few answers": i18n.N_("too few answers"),
               "no data": i18n.N_("no data")}


def weight_sentence(row: pd.Series | dict) -> str:
    """How much a KPI's value weighs: its base n and 95 % interval, in one sentence ('' when it has none)."""
    n = _none(row.get("n"))
    if n is None:
        return ""
    unit = Unit(row["unit"])
    low, high = _none(row.get("low")), _none(row.get("high"))
    if low is None or high is None:
        return _("Based on {n} answers or records.").format(n=i18n.number(int(n)))
    method = _(INTERVAL_NAMES.get(row.get("interval_method"), ""))
    return _("Based on {n} answers or records; 95 % interval {low} to {high} ({method}).").format(
        n=i18n.number(int(n)), low=format_value(low, unit), high=format_value(high, unit), method=method)


def kpi_tile(row: pd.Series | dict, sparkline: list[float] | None = None, drill_filters: Filters | None = None,
             key: str = "", height: str = "content") -> None:
    """A KPI as a metric tile: value, delta against the comparison, target, status, sparkline.
    ``height="stretch"``: as tall as the tallest tile of its row (a row of tiles alone)."""
    kpi = KPIS[row["name"]]
    unit = kpi.unit
    delta = None if row["delta"] is None or pd.isna(row["delta"]) else format_value(row["delta"], unit, signed=True)
    unchanged = delta is not None and shown(row["delta"], unit) == shown(0.0, unit)  # no arrow for "0.0 pp"
    comparator = "≥" if kpi.direction.value == "higher" else "≤"
    status = row["status"]
    spark = [v for v in (sparkline or []) if v is not None and not pd.isna(v)]
    weight = weight_sentence(row)
    st.metric(
        _(kpi.label),
        format_value(_none(row["value"]), unit),
        delta=delta,
        # green when the change is good news: up for higher-is-better KPIs, down for the others
        delta_color="off" if unchanged else "normal" if kpi.direction.value == "higher" else "inverse",
        delta_arrow="off" if unchanged else "auto",
        help=(_(kpi.definition) + " " + _("Target {comparator} {target}.").format(
            comparator=comparator, target=format_value(row["target"], unit)) + " " + weight).strip(),
        border=True,
        chart_data=spark if len(spark) >= 2 else None,
        chart_type="line",
        height=height,  # never a fixed height: it cut the sparkline under a label of two or three lines
    )
    if status == "too few answers":
        badge = _("too few answers (n = {n})").format(n=i18n.number(int(row["n"])))
    else:
        badge = _("{status} · target {target}").format(status=_(STATUS_TEXT[status]),
                                                       target=target_text(row["target"], kpi.direction.value, unit))
    st.badge(badge, icon=STATUS_ICON[status], color=STATUS_COLOUR[status])
    if drill_filters is not None and kpi.records is not None:
        records_button(_("Records"), _(kpi.label), "kpi", drill_filters, kpi.name, key=f"drill_{key}{kpi.name}")
    elif drill_filters is not None:
        st.space("medium")      # a button's height: the tiles of its row still end level


#: The Overview's headline KPI tiles (their sparklines are warmed: pages/warm.py).
OVERVIEW_HEADLINE = ("sla_compliance", "nps", "csat", "win_rate", "customer_equity_growth", "active_customers_growth",
                     "complaints_per_1000", "duplicate_rate")
#: The Overview's sections, started side by side when it opens (:func:`prefetch`, two at a
#: time): the scorecard first, the longest; beside it the view shown (below), then the
#: sparklines (:func:`overview_plan`).
OVERVIEW_SECTIONS: ahead.Plan = (
    ("scorecard", "range", ("targets",)), ("trend", "range", (6, tuple(sorted(OVERVIEW_HEADLINE)))))
#: The Overview's two views (tab labels, untranslated), each with its sections; only the one
#: shown is computed (:func:`views`). The revenue and new-customer charts show the last 12 of
#: the forecasts' 36 months, read by one statement each (kept: metrics.value), so opening the
#: forecasts then fits their models on series already read.
OVERVIEW_VIEWS: dict[str, ahead.Plan] = {
    N_("Headline trends (12 months)"): (
        ("value.revenue", "history", ()), ("value.new_customers", "history", ()),
        ("sla.over_time", "year", ("month",)), ("voice.nps", "year", ())),
    N_("Forecasts (6 months)"): (("forecast", "range", ("revenue", 6)), ("forecast", "range", ("new_customers", 6)))}


def overview_plan(view: str | None = None) -> ahead.Plan:
    """The Overview's sections with those of ``view`` (untranslated label; the first view when
    None) in the order they are started: the scorecard, the view's, the sparklines.

    The view's sections are short (its four monthly series: 0.26 s of the cores at 1M
    customers, against 3.7 s for the scorecard) and the sparklines' families are read with
    the scorecard's, which the sparklines wait for: started before the sparklines, the
    series are ready when the scorecard ends instead of being computed after it. A fresh
    server's first load at 1M customers: 4.36 s against 4.62 s with the sparklines second
    (medians of 14 interleaved pairs of fresh servers, 2026-11-29)."""
    scorecard, sparklines = OVERVIEW_SECTIONS
    return (scorecard, *OVERVIEW_VIEWS[view or next(iter(OVERVIEW_VIEWS))], sparklines)


def kpi_row(kpis: pd.DataFrame, names: list[str], f: Filters, key: str, per_row: int = 4) -> None:
    """KPI tiles in rows, with six-month sparklines (of these KPIs only) and drill-down buttons."""
    trend = compute("trend", f, 6, tuple(sorted(names)))
    for start in range(0, len(names), per_row):
        for col, name in zip(st.columns(per_row), names[start:start + per_row]):
            with col:   # the tiles of a row end level (a status on two lines leaves its tile a line shorter)
                kpi_tile(kpis.loc[name], trend[name].tolist() if name in trend else None, f, key=key,
                         height="stretch")


def _none(v):
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else v


def fmt(value: float | None, unit: Unit | str, signed: bool = False) -> str:
    return format_value(_none(value), Unit(unit) if isinstance(unit, str) else unit, signed)


def unbroken(text: str) -> str:
    """``text`` kept on one line: its spaces made non-breaking (no "%" or unit left alone on
    the next line)."""
    return text.replace(" ", "\u00a0")


def target_text(target: float | None, direction: str, unit: Unit | str) -> str:
    """A KPI's target with its comparator, on one line: "≥ 95.0 %" ("≤" when lower is better)."""
    return unbroken(f"{'≥' if direction == 'higher' else '≤'} {fmt(target, unit)}")


# --------------------------------------------------------------------------- chart-click filters
def chart_pick(key: str) -> list[str]:
    """The values picked by clicking a selectable chart (read before it is drawn).

    The pick is kept in the URL (``?<key>=value``), so a link shares it: a chart not
    clicked yet in this session takes its pick from the URL.
    """
    state = st.session_state.get(_chart_key(key))
    if state is None:
        return [v for v in st.query_params.get_all(key) if v]
    picked = _points(state)
    if picked:
        st.query_params[key] = picked
    elif key in st.query_params:
        del st.query_params[key]
    return picked


def _points(state) -> list[str]:
    points = []
    try:
        points = state["selection"]["points"] if state else []
    except (KeyError, TypeError):
        points = []
    picked = []
    for point in points:
        data = point.get("customdata")
        value = data[0] if isinstance(data, (list, tuple)) and data else data
        if value is None:
            value = point.get("label") or point.get("x") or point.get("y")
        value = None if value is None else html.unescape(str(value))  # charts draw escaped values
        if value is not None and value not in picked:
            picked.append(value)
    return picked


def _chart_key(key: str) -> str:
    return f"{key}__{st.session_state.get(f'{key}__generation', 0)}"


def selectable_chart(fig, key: str) -> None:
    """Draw a chart whose bars/segments can be clicked to filter the page."""
    from pages import charts

    st.plotly_chart(charts.themed(fig, dark_theme(), currency_symbol()), key=_chart_key(key), on_select="rerun",
                    selection_mode=("points",), theme=None, config=chart_config())


def clear_pick_control(key: str, dimension_label: str, picked: list[str]) -> None:
    """A visible note of the chart-click filter with a button that clears it."""
    if not picked:
        return
    cols = st.columns([5, 1])
    cols[0].info(_("Filtered by chart click: {dimension} = {values} (kept in the link)").format(
        dimension=dimension_label, values=", ".join(escape.markdown(v) for v in picked)), icon=":material/filter_alt:")
    if cols[1].button(_("Clear"), key=f"{key}__clear", icon=":material/close:"):
        st.session_state[f"{key}__generation"] = st.session_state.get(f"{key}__generation", 0) + 1
        if key in st.query_params:
            del st.query_params[key]
        st.rerun()


def dark_theme() -> bool:
    """Whether the app is drawn dark: as its configured theme says (.streamlit/config.toml
    ``theme.base``), or as the browser's when none is configured. ``st.context.theme`` alone
    reports the system's colour scheme on a session's first load, whatever the app's theme:
    a light app on a computer set to dark drew its charts dark."""
    base = st.get_option("theme.base")
    if base in ("light", "dark"):
        return base == "dark"
    try:
        return st.context.theme.type == "dark"
    except AttributeError:  # no browser context (AppTest, bare mode)
        return False


def chart(fig, *args, key: str | None = None, **kwargs) -> None:
    """Draw a plotly figure with the project's template, light or dark as the user's Streamlit theme.

    ``fig`` is a figure, or a builder of pages/charts.py with its arguments (data: frames,
    numbers, strings; not functions, which cannot be hashed): the themed figure is then built
    once per arguments, language, theme and currency, and reruns and sessions draw it again
    without building it (a warm rerun of the Overview went from 0.40-0.44 s to 0.12-0.14 s
    at 100k customers)."""
    from pages import charts

    if callable(fig):
        figure = _figure(f"{fig.__module__}.{fig.__qualname__}", fig, args, tuple(sorted(kwargs.items())),
                         i18n.language(), dark_theme(), currency_symbol())
    else:
        figure = charts.themed(fig, dark_theme(), currency_symbol())
    st.plotly_chart(figure, key=key, theme=None, config=chart_config())


def chart_config() -> dict:
    """plotly.js's options for a chart: no plotly logo, and its toolbar's tips in the page's
    language (plotly.js's own translation, given with the chart: Streamlit registers none)."""
    config = {"displaylogo": False}
    locale = i18n.plotly_locale(i18n.language())
    if locale is not None:
        config.update(locale=locale["name"], locales={locale["name"]: locale})
    return config


@st.cache_resource(show_spinner=False, max_entries=256)
def _figure(name: str, _builder: Callable, args: tuple, kwargs: tuple, lang: str, dark: bool, symbol: str):
    """The themed figure of ``_builder(*args, **kwargs)`` (``name``: the builder's, which the
    cache key holds), shared: Streamlit draws a copy of it (``plotly_chart`` reads it with
    ``to_dict``), nobody changes it."""
    from pages import charts

    with i18n.using(lang):
        return charts.themed(_builder(*args, **dict(kwargs)), dark, symbol)


# --------------------------------------------------------------------------- tables and states
def empty_state(message: str) -> None:
    st.info(message, icon=":material/inbox:")


def download(frame: pd.DataFrame, name: str, key: str, label: str | None = None) -> None:
    st.download_button(label or _("Download CSV"), escape.to_csv(frame).encode(), file_name=f"{name}.csv",
                       mime="text/csv",
                       icon=":material/download:", key=key)


def money_table(frame: pd.DataFrame, columns: list[str]):
    """``frame`` with its money ``columns`` shown in the settings' currency and the page's locale
    (1.234 € / €1,234); sorting stays numeric. Give those columns a NumberColumn without format."""
    return frame.style.format({c: money for c in columns if c in frame.columns}, na_rep="")


def chance(p: float | None) -> str:
    """A p-value in words, answering "is the difference real?": how likely a difference this
    large is by chance alone."""
    if p is None or p != p:
        return "—"
    if p < 0.001:
        return _("yes: fewer than 1 in 1,000 by chance")
    if p < 0.05:
        return _("yes: about 1 in {n} by chance").format(n=i18n.number(max(2, round(1 / p))))
    return _("not shown: {chance} chance it is noise").format(chance=i18n.percent(p, 0))


def percent_column(label: str, help: str | None = None):
    return st.column_config.NumberColumn(label, format="percent", help=help)


def kpi_page_links() -> dict[str, str]:
    """Where each KPI's problem lives: the page that explains it."""
    by_rule = {1: "pages/overview.py", 2: "pages/segments.py", 3: "pages/service.py", 4: "pages/service.py",
               5: "pages/service.py", 6: "pages/data_source.py", 7: "pages/service.py", 8: "pages/rules.py"}
    special = {"campaign_response_rate": "pages/engagement.py", "win_rate": "pages/funnel.py",
               "sales_cycle_days": "pages/funnel.py", "partner_won_share": "pages/segments.py",
               "multi_department_share": "pages/engagement.py", "digital_share": "pages/engagement.py",
               "active_customers_growth": "pages/retention.py", "nps": "pages/rules.py",
               "nps_change": "pages/rules.py", "survey_response_rate": "pages/rules.py"}
    return {k.name: special.get(k.name, by_rule[k.rule.value]) for k in CATALOGUE}


def forecast_panel(f: Filters, what: str, title: str, y_title: str, money: bool = False, horizon: int = 6) -> None:
    """A forecast chart with its model, bands and backtest explained underneath."""
    result = compute("forecast", f, what, horizon)
    if result.model is None:
        empty_state(result.reason or _("Not enough history to forecast."))
        return
    from pages import charts

    chart(charts.forecast_chart, result, title, y_title, money, key=f"forecast_{what}")
    backtest = result.backtest.sentence() if result.backtest is not None else ""
    if result.backtest is not None and result.backtest.failed():
        st.warning(_("This forecast failed its test: most recent months fell outside its 95 % band, so the bands "
                     "are too narrow. Read it as a rough direction only."), icon=":material/warning:")
    st.caption(f"{result.sentence()} {backtest}")


def views(drawn: dict[str, Callable[[], None]], key: str) -> None:
    """A page's views as tabs (labels untranslated, each with the function that draws it),
    only the chosen one drawn and so computed (Streamlit's lazy tabs). The chosen view stays
    chosen when the language changes."""
    labels = [_(label) for label in drawn]
    chosen = _(open_view(drawn, key))
    for tab, draw in zip(st.tabs(labels, key=key, default=chosen, on_change="rerun"), drawn.values()):
        with tab:
            if tab.open:
                draw()


def open_view(labels: Iterable[str], key: str) -> str:
    """The untranslated label of the view :func:`views` with ``key`` shows (the first until
    another tab is chosen, in any language), known before the tabs are drawn (to start its
    sections ahead)."""
    labels = list(labels)
    chosen = st.session_state.get(key)
    return next((label for label in labels for code in i18n.LANGUAGES
                 if i18n.translations(code).gettext(label) == chosen), labels[0])


def page_window(f: Filters, months: int, key: str, what: str) -> Filters:
    """A page's own default window: the ``months`` calendar months to the end of the range when
    the sidebar's range is shorter (a funnel or cohorts need time), said in a caption, with a
    switch back to the sidebar's range."""
    from dataclasses import replace

    window = replace(month_window(f, months), compare=f.compare)
    if window.start >= f.start:
        return f
    if st.toggle(_("Use the sidebar's date range instead"), key=key,
                 help=_("This page shows the last {months} months by default: a shorter range leaves too little "
                        "time for customers to move through it.").format(months=months)):
        st.caption(_("{what}: the sidebar's date range, {start} to {end}.").format(
            what=what, start=i18n.day(f.start), end=i18n.day(f.end)))
        return f
    st.caption(_("{what}: the {months} calendar months {start} to {end} (this page's default, longer than the "
                 "sidebar's {days} days).").format(what=what, months=months, start=i18n.day(window.start),
                                                    end=i18n.day(window.end), days=f.days))
    return window


def partial_month(f: Filters) -> pd.Timestamp | None:
    """The month of the range's end when the range stops before that month is over."""
    following = f.end + timedelta(days=1)
    return None if following.day == 1 else pd.Timestamp(f.end.year, f.end.month, 1)


def partial_label(f: Filters) -> str:
    return _("{month} so far (to day {day})").format(month=i18n.month(f.end), day=f.end.day)


def freshness_banner() -> None:
    """A banner on every page when the newest record is older than the freshness setting."""
    try:
        url = resolve_url()
        _open(url)
    except SourceError:
        return
    _first, last = data_span(url)
    age = (date.today() - last).days
    if age > settings().stale_after_days:
        st.warning(_("The newest record in the data is from {day}, {age} days ago: recent figures may be "
                     "incomplete. Check that the data is still being loaded.").format(day=i18n.day(last), age=age),
                   icon=":material/update:")


# --------------------------------------------------------------------------- health and failures
def _short(value: str, limit: int = 60) -> str:
    """A value from a link, cut to ``limit`` characters for a message."""
    value = str(value)
    return value if len(value) <= limit else value[:limit] + "…"


def source_health() -> health.HealthReport:
    """The data-model checks of the source (counted once per engine, see metrics.health)."""
    with engine().connect() as conn:
        return health.health_report(conn)


def exclusion_note(tables: tuple[str, ...] | None = None) -> None:
    """Say which rows the figures of this view leave out, and why (nothing when none)."""
    report = source_health()
    notes = health.exclusion_notes(report, tables or tuple(health.ROW_NOUNS))
    if notes:
        st.info(_("Left out of these figures because they break the data model: {notes}. The Data page lists "
                  "them.").format(notes="; ".join(notes)), icon=":material/rule:")


def run_guarded(body: Callable[[], None]) -> None:
    """Run the page; a failure shows a short message (details in the server log), and a data
    source that stops answering shows a retry button, never a traceback."""
    import logging

    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        with VISITORS.waiting(page=True):
            body()
    except (DBAPIError, SourceError) as exc:
        logging.getLogger("crm.app").warning("data source failed: %s", exc, exc_info=True)
        st.error(_("The data source does not answer right now (it may be restarting or unreachable). "
                   "Nothing was changed. Try again in a moment."), icon=":material/cloud_off:")
        if st.button(_("Retry"), icon=":material/refresh:", key="retry_source"):
            st.cache_data.clear()
            st.rerun()
    except SQLAlchemyError as exc:
        logging.getLogger("crm.app").error("query failed", exc_info=exc)
        st.error(_("A query on the data source failed. The details were written to the server log."),
                 icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 — the user gets a sentence; the log gets the traceback
        logging.getLogger("crm.app").error("page failed", exc_info=exc)
        st.error(_("This page could not be drawn. The details were written to the server log."),
                 icon=":material/error:")
