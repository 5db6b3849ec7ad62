"""Overview for executives: KPI tiles, the eight-rule scorecard, what is off target, trends."""

import streamlit as st

from i18n import _
from pages import charts, signin, ui

#: The tabs of the trends and the forecasts (only the one shown is computed).
VIEW_KEY = "overview_view"

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Overview"))
f = ui.filters()
ui.prefetch(ui.overview_plan(ui.open_view(ui.OVERVIEW_VIEWS, VIEW_KEY)), f)
ui.caption_filters(f)


def _pdf_printer(f, access, engine, targets):
    """The executive PDF of this selection, within the user's scope. Streamlit prints it on
    click only, outside the script run: everything it needs is captured here (the language too)."""
    lang = ui.i18n.language()

    def render() -> bytes:
        from reports import pdf

        with ui.i18n.using(lang), engine.connect() as conn:
            data = pdf.report_data(conn, f, targets, None if access.email == "local" else access)
            return pdf.in_thread(pdf.html_to_pdf, pdf.report_html(data))
    return render


st.download_button(_("Download PDF"), _pdf_printer(f, signin.current(), ui.engine(), ui.targets()),
                   file_name=f"crm_scorecard_{f.start:%Y%m%d}_{f.end:%Y%m%d}.pdf",
                   mime="application/pdf", icon=":material/picture_as_pdf:", key="overview_pdf",
                   help=_("The executive report of this selection (A4): scores, every KPI, what is off target, trends."))

card = ui.scorecard(f)
kpis = card["kpis"].set_index("name", drop=False)

overall, comparison = card["overall"], card["comparison_overall"]
score_card = card["card"]
head = st.columns([1.4, 3])
head[0].metric(_("Overall CRM score"), _("no data") if overall is None else f"{overall:.0f} / 100",
               delta=None if overall is None or comparison is None
               else _("{change} points").format(change=ui.i18n.signed(overall - comparison, 1)),
               delta_color="off" if overall is None or comparison is None or round(overall - comparison, 1) == 0
               else "normal",
               delta_arrow="off" if overall is not None and comparison is not None
               and round(overall - comparison, 1) == 0 else "auto",   # no rise drawn for "0.0 points"
               help=_("Mean of the eight rule scores; a rule's score is 100 x the mean attainment of its KPIs "
                      "(value / target, capped at 1)."), border=True)
head[0].markdown(_("**{off} KPIs short of their target** · {few} with too few answers (fewer than {minimum})").format(
    off=score_card.off_target, few=score_card.too_few, minimum=ui.settings().min_base))
head[0].caption(_("The score is the average of the eight rules' scores, and a rule scores how close its KPIs "
                  "come to their targets (100 = every target met)."))
head[0].page_link("pages/rules.py", label=_("How the score is computed"), icon=":material/help:")
with head[1]:
    off = kpis[kpis.status.isin(["off target", "near target"])].sort_values("attainment")
    judged = kpis.status.isin(["on target", "near target", "off target"]).sum()
    # off and near target alike: both miss it (their icons tell which)
    st.markdown(_("**Short of their target: {off} of {judged} KPIs with enough data** — worst first; each link "
                  "opens the page where the problem lives.").format(off=len(off), judged=judged))
    links = ui.kpi_page_links()
    cols = st.columns(2)
    shown = list(off.head(10).itertuples())
    half = -(-len(shown) // 2)      # down the first column, then the second: worst first as read
    for i, row in enumerate(shown):
        label = _("{kpi}: {value} (target {target})").format(
            kpi=_(row.label), value=ui.unbroken(ui.fmt(row.value, row.unit)),
            target=ui.target_text(row.target, row.direction, row.unit))
        head, paren, target = label.rpartition("(")     # "(target ≥ 20.0 %)" on one line
        cols[i // half].page_link(links[row.name], icon=ui.STATUS_ICON[row.status],
                                  label=head + paren + ui.unbroken(target) if paren else label)

st.subheader(_("Headline KPIs"))
ui.kpi_row(kpis, list(ui.OVERVIEW_HEADLINE), f, "overview_")

st.subheader(_("Gartner's eight rules"))
left, right = st.columns(2)
with left:
    ui.chart(charts.rule_radar, card["rules"], key="radar")
    st.caption(_("Each axis is a rule's score out of 100; the dotted line is the comparison period."))
with right:
    ui.chart(charts.rule_bars, card["rules"], key="rule_bars")
    st.caption(_("Green ≥ 90, orange ≥ 70, red below. Open *Gartner's eight rules* for every KPI behind a score."))


def trends() -> None:
    """Revenue, new customers, SLA compliance and NPS per month over the 12 months to the end."""
    year = ui.month_window(f, 12)
    partial, partial_text = ui.partial_month(f), ui.partial_label(f)
    history = ui.month_window(f, ui.FORECAST_HISTORY_MONTHS)     # the forecasts' months, computed once
    revenue = ui.last_months(ui.compute("value.revenue", history), year)
    new = ui.last_months(ui.compute("value.new_customers", history), year)
    compliance = ui.compute("sla.over_time", year, "month")
    nps = ui.compute("voice.nps", year)
    if revenue.empty and new.empty and compliance.empty and nps.empty:
        ui.empty_state(_("No activity in the 12 months up to the end of the range for this selection."))
        return
    a, b = st.columns(2)
    with a:
        ui.chart(charts.monthly_line, revenue, "period", "revenue", _("Revenue per month"),
                 _("Revenue ({currency})").format(currency=ui.currency_symbol()), money=True,
                 kind="bar", partial=partial, partial_label=partial_text, key="trend_revenue")
    with b:
        ui.chart(charts.monthly_line, new, "period", "new_customers", _("New customers per month"),
                 _("Customers acquired"), colour=charts.GREEN,
                 kind="bar", partial=partial, partial_label=partial_text, key="trend_new")
    c, d = st.columns(2)
    with c:
        overall_month = (compliance.groupby("period")[["met", "breached"]].sum().reset_index())
        overall_month["compliance"] = overall_month.met / (overall_month.met + overall_month.breached)
        target = kpis.loc["sla_compliance", "target"]
        ui.chart(charts.monthly_line, overall_month, "period", "compliance", _("SLA compliance per month"),
                 _("Share of tickets met"), target=target,
                 target_label=_("target {target}").format(target=ui.i18n.percent(target, 0)),
                 percent=True, colour=charts.ORANGE, partial=partial, partial_label=partial_text, key="trend_sla")
    with d:
        target = kpis.loc["nps", "target"]
        ui.chart(charts.monthly_line, nps, "period", "nps", _("NPS per month"), _("NPS (points)"),
                 target=target, target_label=_("target {target}").format(target=f"{target:.0f}"),
                 colour=charts.PURPLE, partial=partial, partial_label=partial_text, key="trend_nps")


def forecasts() -> None:
    """Revenue and new customers: the months behind and the six ahead, with their bands."""
    a, b = st.columns(2)
    with a:
        ui.forecast_panel(f, "revenue", _("Revenue: actual and forecast"),
                          _("Revenue ({currency})").format(currency=ui.currency_symbol()), money=True)
    with b:
        ui.forecast_panel(f, "new_customers", _("New customers: actual and forecast"), _("Customers acquired"))


st.subheader(_("Trends and forecasts"))
ui.views(dict(zip(ui.OVERVIEW_VIEWS, (trends, forecasts))), VIEW_KEY)
