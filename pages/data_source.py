"""Data: the source, its tables and freshness, and the Information-rule quality figures."""

import pandas as pd
import streamlit as st

from data.sources import table_summaries
from i18n import _
from metrics import health
from pages import labels, signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Data"))
source = ui.require_source()
st.markdown(_("**Connection:** `{url}`  \n**Database:** {dialect} · opened read-only: the dashboard never writes "
              "to it.").format(url=source.masked_url, dialect=source.product))


def reason(check_key: str) -> str:
    """A check's reason in the page's language (a DataFrame keeps only the English text)."""
    return str(health.CHECKS_BY_KEY[check_key].reason)


@st.cache_data(ttl=ui.TTL, show_spinner=False)
def summaries(url: str) -> pd.DataFrame:
    with ui.engine().connect() as conn:
        return pd.DataFrame(table_summaries(conn))


if signin.current().scope:  # checks and row counts are company-wide: not for a user who sees part of it
    st.info(_("The data checks, table sizes and freshness cover the whole company, so they are shown only to "
              "users who see all of it."), icon=":material/lock:")
else:
    with st.spinner(_("Counting rows…")):
        summary = summaries(source.url)
    report = ui.source_health()
    summary["left_out"] = [report.excluded_rows.get(t, 0) for t in summary["table"]]

    st.subheader(_("Data model checks"))
    checks = pd.DataFrame(health.check_table(report))
    failed = checks[checks.rows > 0]
    top = st.columns([4, 1])
    if failed.empty:
        top[0].success(_("All {n} checks pass: no missing required values, duplicate identifiers, broken links, "
                         "impossible timelines, future dates or out-of-range values.").format(n=len(checks)),
                       icon=":material/verified:")
    else:
        left_out = int(sum(report.excluded_rows.values()))
        top[0].warning(_("{failed} of {n} checks found problems. {left_out} rows are left out of every figure, "
                         "drill-down, export and the command line report; the rest are kept and flagged.").format(
                           failed=len(failed), n=len(checks), left_out=ui.i18n.number(left_out)),
                       icon=":material/rule:")
    if top[1].button(_("Check again"), icon=":material/refresh:", help=_("Run the checks on the source now")):
        with ui.engine().connect() as conn:
            health.health_report(conn, refresh=True)
        st.cache_data.clear()
        st.rerun()
    st.caption(_("Checked {checked}; dates after {cutoff} count as the future.").format(
        checked=ui.i18n.moment(report.checked_at), cutoff=ui.i18n.moment(report.cutoff)))
    shown = checks.assign(effect=[_("Left out") if e else _("Kept, flagged") for e in checks.excluded],
                          table=[_(health.ROW_NOUNS[t]).capitalize() for t in checks.table],
                          kind=[_(k) for k in checks.kind], reason=[reason(k) for k in checks.key])
    labels.table(
        shown[["kind", "table", "reason", "rows", "effect"]], hide_index=True, height=320 if failed.empty else 380,
        column_config={
            "kind": _("Check"), "table": _("Table"), "reason": st.column_config.TextColumn(_("Rule broken"), width="large"),
            "rows": st.column_config.NumberColumn(_("Rows breaking it"), format="localized"),
            "effect": _("Effect on the figures"),
        },
        placeholder=labels.EMPTY,
    )
    if not failed.empty:
        check_names = {row.key: _("{table}: {reason} ({rows} rows)").format(
                      table=_(health.ROW_NOUNS[row.table]).capitalize(), reason=reason(row.key),
                      rows=ui.i18n.number(row.rows)) for row in failed.itertuples()}
        picked = st.selectbox(_("Show the rows that break"), list(check_names), format_func=check_names.get,
                              key="health_pick")
        everything = ui.filters()
        rows, total = ui.records_page("health.broken", everything, picked, size=100)
        st.caption(_("{total} rows · showing the first {shown}").format(
            total=ui.i18n.number(total), shown=ui.i18n.number(min(total, 100))))
        labels.table(rows, hide_index=True, height=300, column_config=labels.column_config(rows),
                     placeholder=labels.EMPTY)
        ui.records_button(_("All rows, with a CSV"), check_names[picked], "health.broken", everything, picked,
                          key="health_drill")

    st.subheader(_("Tables and freshness"))
    latest = summary["last"].max()
    st.caption(_("Latest record: {moment}").format(moment=ui.i18n.moment(latest.to_pydatetime()))
               if pd.notna(latest) else _("The tables are empty."))
    shown_tables = summary.assign(table=[_(health.ROW_NOUNS.get(t, t)).capitalize() for t in summary["table"]],
                                  date_column=[labels.label(c) for c in summary["date_column"]])
    labels.table(
        shown_tables, hide_index=True,
        column_config={
            "table": _("Table"),
            "rows": st.column_config.NumberColumn(_("Rows"), format="localized"),
            "left_out": st.column_config.NumberColumn(_("Left out"), format="localized",
                                                      help=_("Rows that break the data model (see the checks above)")),
            "date_column": _("Dated by"),
            "first": st.column_config.DatetimeColumn(_("First"), format="localized"),
            "last": st.column_config.DatetimeColumn(_("Last"), format="localized"),
        },
        placeholder=labels.EMPTY,
    )
    ui.download(summary, "tables", key="tables_csv", label=_("Download CSV"))

f = ui.filters()
st.subheader(_("Information quality (rule 6)"))
ui.caption_filters(f, ("customers", "interactions"))
card = ui.scorecard(f)
kpis = card["kpis"].set_index("name", drop=False)
ui.kpi_row(kpis, ["completeness", "duplicate_rate", "linked_interactions", "days_since_update"], f, "data_")

fields = ui.compute("quality.fields", f)
# in percent points, whole: "93 %" reads the same in both languages (a bar's own format is not localised)
frame = pd.DataFrame({"field": [labels.label(name) for name in fields],
                      "filled": [None if v is None else round(100 * v) for v in fields.values()]})
st.markdown(_("**Share of customer records with each field filled**"))
labels.table(frame, hide_index=True, column_config={"field": _("Field"), "filled": st.column_config.ProgressColumn(
    _("Filled"), format="%d %%", min_value=0, max_value=100)}, placeholder=labels.EMPTY)
c1, c2 = st.columns(2)
with c1:
    ui.records_button(_("Duplicate customers (same email)"), _("Customers sharing a normalised email"),
                      "quality.duplicates", f, key="dup_drill")
with c2:
    ui.records_button(_("Records not edited for 180 days"), _("Stale customer records"), "quality.stale", f, 180,
                      key="stale_drill")
