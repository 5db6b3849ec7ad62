"""CRM maturity, for the CRM lead: where are we, and what is next."""

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data.store import ROADMAP_STAGES, ROADMAP_STATUSES, Checkpoint, StoreError
from i18n import N_, _
from metrics import escape
from metrics import maturity
from metrics.catalogue import CATALOGUE, KPIS, Rule
from metrics.units import SHOWN, UNIT_NAMES, format_value
from pages import charts, labels, signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("CRM maturity"))
f = ui.filters()
ui.caption_filters(f)
store = ui.store()
who = signin.user_name()
role = signin.role()  # the store refuses writes by roles other than crm_lead/admin


targets = ui.targets()
thresholds = maturity.load_thresholds()
card = ui.scorecard(f)["card"]
with st.spinner(_("Weighing the evidence…")):  # kept per data refresh, as every section's results
    criteria = ui.compute("maturity.evidence", f, tuple(sorted(targets.items())), thresholds)
history = store.assessments()
latest = history.iloc[-1] if len(history) else None
latest_answers = store.answers(int(latest.assessment_id)) if latest is not None else {}
claimed = latest_answers.get(maturity.CLAIMED_PHASE)
reached = maturity.phase_reached(criteria)
#: Roadmap stages (the transformation path) and item statuses, as shown (the store keeps the English codes).
STAGE_NAMES = {"Vision": N_("Vision"), "Assessment": N_("Assessment"), "Concept": N_("Concept"),
               "Development": N_("Development"), "Implementation": N_("Implementation")}
STATUS_NAMES = {"planned": N_("planned"), "in progress": N_("in progress"), "done": N_("done"),
                "blocked": N_("blocked")}
RISK_STATUS = {"risk": N_("risk"), "ok": N_("ok"), "unknown": N_("unknown")}
ANSWERS = {"yes": N_("yes"), "no": N_("no"), "unsure": N_("unsure")}


def phase_name(phase) -> str:
    """A phase's number and name in the page's language ('not yet Technology' before phase 1)."""
    if phase in maturity.PHASES:
        return _("{phase} · {name}").format(phase=phase, name=_(maturity.PHASES[phase]))
    return _("{phase} · not yet {name}").format(phase=phase, name=_(maturity.PHASES[1]))


def stage_name(stage: str) -> str:
    return _(STAGE_NAMES.get(stage, stage))


def status_name(status: str) -> str:
    return _(STATUS_NAMES.get(status, status))

# ---- where we are
if saved_message := st.session_state.pop("maturity_saved", None):
    st.success(saved_message, icon=":material/save:")
cols = st.columns(3)
cols[0].metric(_("Phase reached on the evidence"), phase_name(reached), border=True,
               help=_("The highest phase whose criteria, and those of every earlier phase, all hold."))
cols[1].metric(_("The CRM lead's view"), _("not assessed yet") if claimed is None else phase_name(claimed),
               border=True, help=_("From the latest self-assessment."))
combined = maturity.combined_phase(reached, claimed)
if claimed is None:     # nothing to agree with yet: not the evidence's phase under this name
    shown_combined = _("awaits the self-assessment")
else:
    shown_combined = phase_name(combined) if combined in maturity.PHASES else f"{combined} · —"
cols[2].metric(_("Phase both support"), shown_combined, border=True,
               help=_("The lower of the evidence and the self-assessment."))

tabs = st.tabs([_("Evidence"), _("Self-assessment"), _("History"), _("Roadmap"), _("Risks"), _("Targets"),
                _("Report")])

with tabs[0]:
    nxt = reached + 1
    if nxt in maturity.PHASES:
        missing = maturity.missing_for_next(criteria)
        st.markdown(_("**Next: phase {phase} {name}** — {text} {n} criteria still missing:").format(
            phase=nxt, name=_(maturity.PHASES[nxt]), text=_(maturity.PHASE_TEXT[nxt]), n=len(missing)))
        links = ui.kpi_page_links()
        for c in missing:
            st.page_link(links.get(c.kpi, "pages/rules.py"), label=_("{criterion}: {value} (needs {line})").format(
                criterion=_(c.label), value=c.shown, line=c.threshold), icon=":material/radio_button_unchecked:")
    else:
        st.success(_("Every criterion of the four phases holds: the company is customer-centric on the evidence."))
    # a phase's line and a KPI's target can differ (duplicates: phase 2 asks <= 2 %, the KPI <= 1 %):
    # say so, or a criterion that holds next to a KPI off target reads as a contradiction
    st.caption(_("A phase's criteria say that a practice is in place; a KPI's target (Gartner's eight rules) "
                 "says how well it performs. Their lines can differ: a criterion may hold while its KPI is still "
                 "short of target."))
    for phase, name in maturity.PHASES.items():
        mine = [c for c in criteria if c.phase == phase]
        held = sum(c.holds for c in mine)
        with st.expander(_("Phase {phase} · {name}: {held} of {n} criteria hold").format(
                phase=phase, name=_(name), held=held, n=len(mine)), expanded=phase == nxt):
            st.caption(_(maturity.PHASE_TEXT[phase]))
            labels.table(pd.DataFrame([{"criterion": _(c.label), "value": str(c.shown), "line": str(c.threshold),
                                        "holds": c.holds} for c in mine]), hide_index=True, column_config={
                "criterion": _("Criterion"), "value": _("Value"), "line": _("Line"),
                "holds": st.column_config.CheckboxColumn(_("Holds"))}, placeholder=labels.EMPTY)

with tabs[1]:
    st.markdown(_("Rate each statement from 1 (not at all) to 5 (fully). The answers are saved with today's KPI "
                  "snapshot, so progress can be followed over time."))
    with st.form("assessment"):
        answers = {}
        for rule in Rule:
            st.markdown(f"**{rule.value}. {_(rule.title)}** — {_(rule.definition)}")
            for statement in [s for s in maturity.QUESTIONNAIRE if s.rule is rule]:
                answers[statement.id] = st.select_slider(_(statement.text), options=[1, 2, 3, 4, 5],
                                                         value=latest_answers.get(statement.id, 3),
                                                         key=f"q_{statement.id}")
        phase_options = list(maturity.PHASES)
        answers[maturity.CLAIMED_PHASE] = st.radio(
            _("Which phase do you believe the company has reached?"), phase_options, horizontal=True,
            index=phase_options.index(claimed) if claimed in phase_options else 0,
            format_func=lambda p: f"{p} {_(maturity.PHASES[p])}", key="q_claimed")
        assessed_on = st.date_input(_("Assessment date"), value=date.today(), key="q_date", format="DD/MM/YYYY"
                                    if ui.i18n.language() == "es" else "YYYY-MM-DD")
        notes = st.text_area(_("Notes"), key="q_notes")
        saved = st.form_submit_button(_("Save assessment"), type="primary")
    if saved:
        try:
            statement_answers = {k: v for k, v in answers.items() if k != maturity.CLAIMED_PHASE}
            new_id = store.save_assessment(
                answers, assessed_on=assessed_on, who=who, role=role, notes=notes or None, phase=reached,
                rule_scores={r.rule.value: r.score for r in card.rules},
                self_scores=maturity.self_scores(statement_answers),
                snapshot=[{"kpi": r.kpi.name, "value": r.value, "target": r.target, "status": r.status.value}
                          for r in card.results],
                statements=set(maturity.STATEMENTS) | {maturity.CLAIMED_PHASE})
            # rerun so that the header, the history and every tab show the new assessment at once
            st.session_state["maturity_saved"] = _("Assessment {id} saved by {who} for {day}.").format(
                id=new_id, who=escape.markdown(who), day=ui.i18n.day(assessed_on))
            st.rerun()
        except StoreError as exc:
            st.error(str(exc))
    if latest_answers:
        statement_answers = {k: v for k, v in latest_answers.items() if k != maturity.CLAIMED_PHASE}
        own = maturity.self_scores(statement_answers)
        rows = card.rules
        fig = go.Figure([
            go.Bar(name=_("Data"), x=[_(r.rule.title) for r in rows], y=[r.score for r in rows],
                   marker_color=charts.BLUE),
            go.Bar(name=_("Self-assessment"), x=[_(r.rule.title) for r in rows], y=[own[r.rule.value] for r in rows],
                   marker_color=charts.ORANGE)])
        fig.update_layout(barmode="group", title=_("Rule scores: data vs self-assessment (0-100)"), height=360)
        fig.update_yaxes(title=_("Score"), range=[0, 100])
        ui.chart(fig, key="self_vs_data")
        gaps = maturity.disagreements(statement_answers, card)
        for gap in gaps:
            st.warning(gap.sentence(), icon=":material/compare_arrows:")
        if not gaps:
            st.info(_("The self-assessment and the data agree within 25 points on every rule."))

with tabs[2]:
    if history.empty:
        ui.empty_state(_("No assessment saved yet."))
    else:
        table = pd.DataFrame({
            _("Date"): [ui.i18n.day(d) for d in pd.to_datetime(history.assessed_on)],
            _("Saved by"): history.saved_by, _("Phase (evidence)"): history.phase,
            **{f"{r.value} {_(r.title)}": [s.get(str(r.value)) for s in history.rule_scores] for r in Rule}})
        fig = go.Figure()
        for i, rule in enumerate(Rule):
            fig.add_trace(go.Scatter(x=history.assessed_on, y=[s.get(str(rule.value)) for s in history.rule_scores],
                                     mode="lines+markers", name=_(rule.title),
                                     line=dict(color=charts.PALETTE[i % len(charts.PALETTE)])))
        fig.update_layout(title=_("Rule scores (data) at each assessment"), height=360)
        fig.update_yaxes(title=_("Score (0-100)"), range=[0, 105])
        dates = pd.to_datetime(history.assessed_on)
        fig.update_xaxes(title=_("Assessment date"), type="date", tickformat="%Y-%m-%d",
                         range=[dates.min() - pd.Timedelta(days=20), dates.max() + pd.Timedelta(days=20)])
        ui.chart(fig, key="history_chart")
        labels.table(table, hide_index=True, column_config={
            c: st.column_config.NumberColumn(c, format="%.0f") for c in table.columns if c[0].isdigit()},
            placeholder=labels.EMPTY)
        by_id = history.set_index("assessment_id")
        pick = st.selectbox(_("KPI snapshot of"), list(history.assessment_id)[::-1], key="snapshot_pick",
                            format_func=lambda i: _("assessment {id} of {day}").format(
                                id=i, day=ui.i18n.day(pd.Timestamp(by_id.at[i, "assessed_on"]))))
        snap = store.snapshot(int(pick))
        snap["label"] = [_(KPIS[k].label) if k in KPIS else k for k in snap.kpi]
        snap["value"] = [format_value(v, KPIS[k].unit) if k in KPIS else v for k, v in zip(snap.kpi, snap.value)]
        snap["status"] = [_(ui.STATUS_TEXT.get(v, v)) if isinstance(v, str) else v for v in snap.status]
        labels.table(labels.readable(snap[["label", "value", "status"]]), hide_index=True, column_config={
            "label": _("KPI"), "value": _("Value"), "status": _("Status")}, placeholder=labels.EMPTY)

with tabs[3]:
    items = store.items()
    late = maturity.overdue(items, date.today())
    if len(late):
        st.error(ui.i18n.ngettext("{n} roadmap item is overdue: {items}", "{n} roadmap items are overdue: {items}",
                                  len(late)).format(n=len(late), items=", ".join(late.title)), icon=":material/alarm:")
    st.markdown(_("The transformation path of the CRM phases: **Vision → Assessment → Concept → Development → "
                  "Implementation**."))
    for stage in ROADMAP_STAGES:
        mine = items[items.stage == stage]
        st.markdown(ui.i18n.ngettext("**{stage}** ({n} item)", "**{stage}** ({n} items)", len(mine)).format(
            stage=stage_name(stage), n=len(mine)))
        for item in mine.itertuples():
            overdue = item.item_id in set(late.item_id)
            due_day = None if item.due_date is None or pd.isna(item.due_date) else pd.Timestamp(item.due_date)
            done = sum(c.done for c in item.checkpoints)
            owner_text = "" if item.owner is None or pd.isna(item.owner) else str(item.owner)
            parts = [item.title, status_name(item.status)]
            if due_day is not None:
                parts.append(_("due {day}").format(day=ui.i18n.day(due_day)))
            parts += [owner_text or _("no owner"), _("{done}/{total} checkpoints").format(
                done=done, total=len(item.checkpoints))]
            if overdue:
                parts.append(_("**overdue**"))
            with st.expander(" · ".join(parts)):
                with st.form(f"item_{item.item_id}"):
                    status = st.selectbox(_("Status"), ROADMAP_STATUSES, index=ROADMAP_STATUSES.index(item.status),
                                          format_func=status_name)
                    owner = st.text_input(_("Owner"), value=owner_text)
                    due_date = st.text_input(_("Due date (YYYY-MM-DD)"),
                                             value="" if due_day is None else f"{due_day:%Y-%m-%d}")
                    points = st.text_area(_("Checkpoints (one per line; start with [x] when done)"), value="\n".join(
                        ("[x] " if c.done else "") + c.text for c in item.checkpoints))
                    st.caption(_("Last changed by {who} at {when} UTC").format(
                        who=item.updated_by, when=ui.i18n.moment(item.updated_at)))
                    if st.form_submit_button(_("Save changes")):
                        try:
                            store.update_item(int(item.item_id), int(item.version), who=who, role=role, status=status,
                                              owner=owner or None, due_date=due_date or None,
                                              checkpoints=[Checkpoint(p.removeprefix("[x] ").strip(), p.startswith("[x]"))
                                                           for p in points.splitlines() if p.strip()])
                            st.rerun()
                        except StoreError as exc:
                            st.error(str(exc))
    with st.form("new_item", clear_on_submit=True):
        st.markdown(_("**Add an item**"))
        c1, c2, c3 = st.columns(3)
        stage = c1.selectbox(_("Stage"), ROADMAP_STAGES, format_func=stage_name)
        title = c2.text_input(_("Title"))
        owner = c3.text_input(_("Owner"))
        c4, c5 = st.columns(2)
        due_date = c4.text_input(_("Due date (YYYY-MM-DD)"))
        points = c5.text_area(_("Checkpoints (one per line)"))
        if st.form_submit_button(_("Add to the roadmap")):
            try:
                store.add_item(stage, title, owner or None, due_date or None, "planned",
                               [Checkpoint(p.strip()) for p in points.splitlines() if p.strip()], who=who, role=role)
                st.rerun()
            except StoreError as exc:
                st.error(str(exc))

with tabs[4]:
    answers_risk = store.risk_answers()
    segments = len(ui.dimension_values(ui.require_source().url)["segment"])
    risk_list = maturity.risks(card, criteria, {k: v["answer"] for k, v in answers_risk.items()}, store.items(),
                               segments, targets_defined=bool(targets))
    st.markdown(_("The classic CRM implementation errors, judged from the data where it can tell and "
                  "otherwise from your answer."))
    SOURCES = {"data": N_("from the data"), "lead": N_("from the CRM lead's answer"),
               "data and lead": N_("from the data and the CRM lead's answer")}
    for risk in risk_list:
        with st.container(border=True):
            colour = {"risk": "red", "ok": "green", "unknown": "gray"}[risk.status]
            source = _(SOURCES[risk.source]) if risk.source in SOURCES else _("from {source}").format(
                source=_(risk.source))
            st.markdown(f"**{_(risk.title)}** :{colour}-badge[{_(RISK_STATUS.get(risk.status, risk.status))}] · "
                        f"{source}")
            st.caption(_(risk.evidence))
            current = answers_risk.get(risk.name, {}).get("answer", "unsure")
            choice = st.radio(_(risk.question), ["yes", "no", "unsure"], index=["yes", "no", "unsure"].index(current),
                              horizontal=True, key=f"risk_{risk.name}", format_func=lambda a: _(ANSWERS[a]))
            if choice != current:
                try:
                    store.set_risk_answer(risk.name, choice, who=who, role=role)
                    st.rerun()
                except StoreError as exc:  # saved by someone else at the same moment
                    st.warning(str(exc), icon=":material/sync_problem:")

with tabs[5]:
    st.markdown(_("Targets come from the dashboard's configuration (its targets file); a target changed here "
                  "overrides it for everyone, and the change is recorded with who and when."))
    overrides = store.target_overrides()
    table = pd.DataFrame([{_("KPI"): _(k.label), _("Rule"): _(k.rule.title),
                           _("Target"): ("≥ " if k.direction.value == "higher" else "≤ ")
                           + format_value(targets[k.name], k.unit),
                           _("Set in"): _("changed in the app") if k.name in overrides else _("configuration")}
                          for k in CATALOGUE])
    labels.table(table, hide_index=True, placeholder=labels.EMPTY,   # wide enough for "≤ 10,0 por cada 1.000"
                 column_config={_("Target"): st.column_config.TextColumn(_("Target"), width=170)})
    names = [k.name for k in CATALOGUE]
    pick = st.selectbox(_("KPI to change"), names, format_func=lambda n: _(KPIS[n].label), key="target_kpi")
    unit = KPIS[pick].unit
    factor, decimals = SHOWN[unit]      # entered as the page shows it: 95 for 95 %
    label = _("New target for {kpi} ({unit})").format(kpi=_(KPIS[pick].label), unit=_(UNIT_NAMES[unit]))
    with st.form("target_form"):
        entered = st.number_input(label, value=round(float(targets[pick]) * factor, decimals + 1),
                                  format="%g", key=f"target_value_{pick}")   # 92.5, 30: no trailing zeros
        new = entered / factor
        c1, c2 = st.columns(2)
        try:
            if c1.form_submit_button(_("Save target")):
                store.set_target(pick, new, who=who, role=role)
                # rerun so that the targets table above and every page use the new target at once
                st.session_state["maturity_saved"] = _("{kpi}: target set to {target} by {who}.").format(
                    kpi=_(KPIS[pick].label), target=format_value(new, KPIS[pick].unit), who=escape.markdown(who))
                st.rerun()
            if c2.form_submit_button(_("Back to the configured target")) and pick in overrides:
                store.set_target(pick, None, who=who, role=role)
                st.rerun()
        except StoreError as exc:  # saved by someone else at the same moment
            st.warning(str(exc), icon=":material/sync_problem:")
    changes = store.target_history()
    if len(changes):
        st.markdown(_("**Changes**"))
        changes = changes.drop(columns=["change_id"])
        if "kpi" in changes:
            changes["kpi"] = [_(KPIS[k].label) if k in KPIS else k for k in changes.kpi]
        labels.table(labels.readable(changes), hide_index=True, column_config=labels.column_config(
            changes, kpi=_("KPI"), old_target=_("Old target"), new_target=_("New target"), changed_by=_("Changed by"),
            changed_at=st.column_config.DatetimeColumn(_("Changed"), format="YYYY-MM-DD HH:mm")),
            placeholder=labels.EMPTY)

with tabs[6]:
    statement_answers = {k: v for k, v in latest_answers.items() if k != maturity.CLAIMED_PHASE}
    risk_list = maturity.risks(card, criteria, {k: v["answer"] for k, v in store.risk_answers().items()},
                               store.items(), len(ui.dimension_values(ui.require_source().url)["segment"]),
                               targets_defined=bool(targets))
    report = maturity.report_markdown(f, criteria, card, claimed, statement_answers, risk_list, store.items(),
                                      date.today())
    st.download_button(_("Download the maturity report (Markdown)"), report, file_name="crm_maturity_report.md",
                       mime="text/markdown", icon=":material/download:", key="report_download")
    with st.expander(_("Preview"), expanded=True):
        st.markdown(report)
