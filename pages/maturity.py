"""CRM maturity, for the CRM lead: where are we, and what is next."""

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data.store import ROADMAP_STAGES, ROADMAP_STATUSES, Checkpoint, StoreError
from metrics import escape
from metrics import maturity
from metrics.catalogue import CATALOGUE, KPIS, Rule
from metrics.units import format_value
from pages import charts, labels, signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("CRM maturity")
f = ui.filters()
ui.caption_filters(f)
store = ui.store()
who = signin.user_name()
role = signin.role()  # the store refuses writes by roles other than crm_lead/admin


@st.cache_data(ttl=ui.TTL, show_spinner="Weighing the evidence…")
def _evidence(url: str, f, targets: tuple, thresholds: maturity.Thresholds, _card) -> list:
    """The phase criteria; the scorecard (``_card``, same filters and targets) comes from the cache."""
    with ui.engine().connect() as conn:
        return maturity.evidence(conn, f, _card, thresholds)


targets = ui.targets()
thresholds = maturity.load_thresholds()
card = ui.scorecard(f)["card"]
criteria = _evidence(ui.require_source().url, f, tuple(sorted(targets.items())), thresholds, card)
history = store.assessments()
latest = history.iloc[-1] if len(history) else None
latest_answers = store.answers(int(latest.assessment_id)) if latest is not None else {}
claimed = latest_answers.get(maturity.CLAIMED_PHASE)
reached = maturity.phase_reached(criteria)

# ---- where we are
if saved_message := st.session_state.pop("maturity_saved", None):
    st.success(saved_message, icon=":material/save:")
cols = st.columns(3)
cols[0].metric("Phase reached on the evidence", f"{reached} · {maturity.PHASES.get(reached, 'not yet Technology')}",
               border=True, help="The highest phase whose criteria, and those of every earlier phase, all hold.")
cols[1].metric("The CRM lead's view", "not assessed yet" if claimed is None else
               f"{claimed} · {maturity.PHASES[claimed]}", border=True,
               help="From the latest self-assessment.")
combined = maturity.combined_phase(reached, claimed)
cols[2].metric("Phase both support", f"{combined} · {maturity.PHASES.get(combined, '—')}", border=True,
               help="The lower of the evidence and the self-assessment.")

tabs = st.tabs(["Evidence", "Self-assessment", "History", "Roadmap", "Risks", "Targets", "Report"])

with tabs[0]:
    nxt = reached + 1
    if nxt in maturity.PHASES:
        missing = maturity.missing_for_next(criteria)
        st.markdown(f"**Next: phase {nxt} {maturity.PHASES[nxt]}** — {maturity.PHASE_TEXT[nxt]} "
                    f"{len(missing)} criteria still missing:")
        links = ui.kpi_page_links()
        for c in missing:
            st.page_link(links.get(c.kpi, "pages/rules.py"), label=f"{c.label}: {c.shown} (needs {c.threshold})",
                         icon=":material/radio_button_unchecked:")
    else:
        st.success("Every criterion of the four phases holds: the company is customer-centric on the evidence.")
    for phase, name in maturity.PHASES.items():
        mine = [c for c in criteria if c.phase == phase]
        held = sum(c.holds for c in mine)
        with st.expander(f"Phase {phase} · {name}: {held} of {len(mine)} criteria hold", expanded=phase == nxt):
            st.caption(maturity.PHASE_TEXT[phase])
            st.dataframe(pd.DataFrame([{"criterion": c.label, "value": c.shown, "line": c.threshold,
                                        "holds": c.holds} for c in mine]), hide_index=True)

with tabs[1]:
    st.markdown("Rate each statement from 1 (not at all) to 5 (fully). The answers are saved with today's KPI "
                "snapshot, so progress can be followed over time.")
    with st.form("assessment"):
        answers = {}
        for rule in Rule:
            st.markdown(f"**{rule.value}. {rule.title}** — {rule.definition}")
            for statement in [s for s in maturity.QUESTIONNAIRE if s.rule is rule]:
                answers[statement.id] = st.select_slider(statement.text, options=[1, 2, 3, 4, 5],
                                                         value=latest_answers.get(statement.id, 3),
                                                         key=f"q_{statement.id}")
        phase_options = list(maturity.PHASES)
        answers[maturity.CLAIMED_PHASE] = st.radio(
            "Which phase do you believe the company has reached?", phase_options, horizontal=True,
            index=phase_options.index(claimed) if claimed in phase_options else 0,
            format_func=lambda p: f"{p} {maturity.PHASES[p]}", key="q_claimed")
        assessed_on = st.date_input("Assessment date", value=date.today(), key="q_date")
        notes = st.text_area("Notes", key="q_notes")
        saved = st.form_submit_button("Save assessment", type="primary")
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
            st.session_state["maturity_saved"] = f"Assessment {new_id} saved by {who} for {assessed_on:%Y-%m-%d}."
            st.rerun()
        except StoreError as exc:
            st.error(str(exc))
    if latest_answers:
        statement_answers = {k: v for k, v in latest_answers.items() if k != maturity.CLAIMED_PHASE}
        own = maturity.self_scores(statement_answers)
        rows = card.rules
        fig = go.Figure([
            go.Bar(name="Data", x=[r.rule.title for r in rows], y=[r.score for r in rows], marker_color=charts.BLUE),
            go.Bar(name="Self-assessment", x=[r.rule.title for r in rows], y=[own[r.rule.value] for r in rows],
                   marker_color=charts.ORANGE)])
        fig.update_layout(barmode="group", title="Rule scores: data vs self-assessment (0-100)", height=360)
        fig.update_yaxes(title="Score", range=[0, 100])
        ui.chart(fig, key="self_vs_data")
        gaps = maturity.disagreements(statement_answers, card)
        for gap in gaps:
            st.warning(gap.sentence(), icon=":material/compare_arrows:")
        if not gaps:
            st.info("The self-assessment and the data agree within 25 points on every rule.")

with tabs[2]:
    if history.empty:
        ui.empty_state("No assessment saved yet.")
    else:
        table = pd.DataFrame({
            "date": history.assessed_on, "saved by": history.saved_by,
            "phase (evidence)": history.phase,
            **{f"{r.value} {r.title}": [s.get(str(r.value)) for s in history.rule_scores] for r in Rule}})
        fig = go.Figure()
        for i, rule in enumerate(Rule):
            fig.add_trace(go.Scatter(x=history.assessed_on, y=[s.get(str(rule.value)) for s in history.rule_scores],
                                     mode="lines+markers", name=rule.title,
                                     line=dict(color=charts.PALETTE[i % len(charts.PALETTE)])))
        fig.update_layout(title="Rule scores (data) at each assessment", height=360)
        fig.update_yaxes(title="Score (0-100)", range=[0, 105])
        dates = pd.to_datetime(history.assessed_on)
        fig.update_xaxes(title="Assessment date", type="date", tickformat="%Y-%m-%d",
                         range=[dates.min() - pd.Timedelta(days=20), dates.max() + pd.Timedelta(days=20)])
        ui.chart(fig, key="history_chart")
        st.dataframe(table, hide_index=True, column_config={
            c: st.column_config.NumberColumn(c, format="%.0f") for c in table.columns if c[0].isdigit()})
        pick = st.selectbox("KPI snapshot of", list(history.assessment_id)[::-1], key="snapshot_pick",
                            format_func=lambda i: f"assessment {i} of {history.set_index('assessment_id').at[i, 'assessed_on']}")
        snap = store.snapshot(int(pick))
        snap["label"] = [KPIS[k].label if k in KPIS else k for k in snap.kpi]
        snap["value"] = [format_value(v, KPIS[k].unit) if k in KPIS else v for k, v in zip(snap.kpi, snap.value)]
        st.dataframe(snap[["label", "value", "status"]], hide_index=True)

with tabs[3]:
    items = store.items()
    late = maturity.overdue(items, date.today())
    if len(late):
        st.error(f"{len(late)} roadmap item{'s are' if len(late) > 1 else ' is'} overdue: " + ", ".join(late.title),
                 icon=":material/alarm:")
    st.markdown("The transformation path of the CRM phases: **Vision → Assessment → Concept → Development → "
                "Implementation**.")
    for stage in ROADMAP_STAGES:
        mine = items[items.stage == stage]
        st.markdown(f"**{stage}** ({len(mine)} items)")
        for item in mine.itertuples():
            flag = " — **overdue**" if item.item_id in set(late.item_id) else ""
            due = "" if item.due_date is None or pd.isna(item.due_date) else f", due {pd.Timestamp(item.due_date):%Y-%m-%d}"
            done = sum(c.done for c in item.checkpoints)
            owner_text = "" if item.owner is None or pd.isna(item.owner) else str(item.owner)
            with st.expander(f"{item.title} · {item.status}{due} · {owner_text or 'no owner'} · "
                             f"{done}/{len(item.checkpoints)} checkpoints{flag}"):
                with st.form(f"item_{item.item_id}"):
                    status = st.selectbox("Status", ROADMAP_STATUSES, index=ROADMAP_STATUSES.index(item.status))
                    owner = st.text_input("Owner", value=owner_text)
                    due_date = st.text_input("Due date (YYYY-MM-DD)", value=due.replace(", due ", ""))
                    points = st.text_area("Checkpoints (one per line; start with [x] when done)", value="\n".join(
                        ("[x] " if c.done else "") + c.text for c in item.checkpoints))
                    st.caption(f"Last changed by {item.updated_by} at {item.updated_at:%Y-%m-%d %H:%M} UTC")
                    if st.form_submit_button("Save changes"):
                        try:
                            store.update_item(int(item.item_id), int(item.version), who=who, role=role, status=status,
                                              owner=owner or None, due_date=due_date or None,
                                              checkpoints=[Checkpoint(p.removeprefix("[x] ").strip(), p.startswith("[x]"))
                                                           for p in points.splitlines() if p.strip()])
                            st.rerun()
                        except StoreError as exc:
                            st.error(str(exc))
    with st.form("new_item", clear_on_submit=True):
        st.markdown("**Add an item**")
        c1, c2, c3 = st.columns(3)
        stage = c1.selectbox("Stage", ROADMAP_STAGES)
        title = c2.text_input("Title")
        owner = c3.text_input("Owner")
        c4, c5 = st.columns(2)
        due_date = c4.text_input("Due date (YYYY-MM-DD)")
        points = c5.text_area("Checkpoints (one per line)")
        if st.form_submit_button("Add to the roadmap"):
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
    st.markdown("The classic CRM implementation errors, judged from the data where it can tell and "
                "otherwise from your answer.")
    for risk in risk_list:
        with st.container(border=True):
            colour = {"risk": "red", "ok": "green", "unknown": "gray"}[risk.status]
            st.markdown(f"**{risk.title}** :{colour}-badge[{risk.status}] · from {risk.source}")
            st.caption(risk.evidence)
            current = answers_risk.get(risk.name, {}).get("answer", "unsure")
            choice = st.radio(risk.question, ["yes", "no", "unsure"], index=["yes", "no", "unsure"].index(current),
                              horizontal=True, key=f"risk_{risk.name}")
            if choice != current:
                try:
                    store.set_risk_answer(risk.name, choice, who=who, role=role)
                    st.rerun()
                except StoreError as exc:  # saved by someone else at the same moment
                    st.warning(str(exc), icon=":material/sync_problem:")

with tabs[5]:
    st.markdown("Targets come from `targets.toml`; a target changed here overrides it for everyone, and the change "
                "is recorded with who and when.")
    overrides = store.target_overrides()
    table = pd.DataFrame([{"KPI": k.label, "Rule": k.rule.title,
                           "Target": ("≥ " if k.direction.value == "higher" else "≤ ") + format_value(targets[k.name], k.unit),
                           "Set in": "changed in the app" if k.name in overrides else "targets.toml"}
                          for k in CATALOGUE])
    st.dataframe(table, hide_index=True)
    names = [k.name for k in CATALOGUE]
    pick = st.selectbox("KPI to change", names, format_func=lambda n: KPIS[n].label, key="target_kpi")
    unit = KPIS[pick].unit.value
    hint = " (a fraction: 0.95 = 95 %)" if unit == "percent" else f" ({unit})"
    with st.form("target_form"):
        new = st.number_input(f"New target for {KPIS[pick].label}{hint}", value=float(targets[pick]), format="%.4f",
                              key=f"target_value_{pick}")
        c1, c2 = st.columns(2)
        try:
            if c1.form_submit_button("Save target"):
                store.set_target(pick, new, who=who, role=role)
                # rerun so that the targets table above and every page use the new target at once
                st.session_state["maturity_saved"] = (f"{KPIS[pick].label}: target set to "
                                                      f"{format_value(new, KPIS[pick].unit)} by {escape.markdown(who)}.")
                st.rerun()
            if c2.form_submit_button("Back to targets.toml") and pick in overrides:
                store.set_target(pick, None, who=who, role=role)
                st.rerun()
        except StoreError as exc:  # saved by someone else at the same moment
            st.warning(str(exc), icon=":material/sync_problem:")
    changes = store.target_history()
    if len(changes):
        st.markdown("**Changes**")
        changes = changes.drop(columns=["change_id"])
        if "kpi" in changes:
            changes["kpi"] = [KPIS[k].label if k in KPIS else k for k in changes.kpi]
        st.dataframe(labels.readable(changes), hide_index=True, column_config=labels.column_config(
            changes, kpi="KPI", old_target="Old target", new_target="New target", changed_by="Changed by",
            changed_at=st.column_config.DatetimeColumn("Changed", format="YYYY-MM-DD HH:mm")))

with tabs[6]:
    statement_answers = {k: v for k, v in latest_answers.items() if k != maturity.CLAIMED_PHASE}
    risk_list = maturity.risks(card, criteria, {k: v["answer"] for k, v in store.risk_answers().items()},
                               store.items(), len(ui.dimension_values(ui.require_source().url)["segment"]),
                               targets_defined=bool(targets))
    report = maturity.report_markdown(f, criteria, card, claimed, statement_answers, risk_list, store.items(),
                                      date.today())
    st.download_button("Download the maturity report (Markdown)", report, file_name="crm_maturity_report.md",
                       mime="text/markdown", icon=":material/download:", key="report_download")
    with st.expander("Preview", expanded=True):
        st.markdown(report)
