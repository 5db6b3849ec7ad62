"""The application store: round trips, concurrent editors, a crash mid-save, bad values."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date

import pytest
from sqlalchemy import text

from data.store import SCHEMA_VERSION, AppStore, Checkpoint, Conflict, StoreError
from tests.conftest import ROOT


@pytest.fixture
def store(tmp_path):
    s = AppStore(f"sqlite:///{tmp_path}/app.sqlite")
    yield s
    s.dispose()


def test_created_on_first_use_with_a_versioned_schema(tmp_path):
    path = tmp_path / "new" / "app.sqlite"
    path.parent.mkdir()
    s = AppStore(f"sqlite:///{path}")
    assert path.exists() and s.schema_version() == SCHEMA_VERSION
    s.migrate()  # idempotent
    assert s.schema_version() == SCHEMA_VERSION
    s.dispose()


def test_newer_schema_is_refused(store):
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE store_meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(StoreError, match="schema version 99, newer than this app"):
        AppStore(store.url)


def test_round_trip(store):
    store.set_target("sla_compliance", 0.9, who="Ana")
    store.set_target("nps", 25)
    assert store.target_overrides() == {"sla_compliance": 0.9, "nps": 25.0}
    store.set_target("nps", None, who="Ana")
    assert store.target_overrides() == {"sla_compliance": 0.9}
    history = store.target_history()
    assert list(history.kpi) == ["nps", "nps", "sla_compliance"]          # newest first
    assert list(history.changed_by) == ["Ana", "local", "Ana"]
    assert history.old_target.iloc[0] == 25.0 and history.new_target.isna().iloc[0]   # override removed

    first = store.save_assessment({"vision_1": 4, "strategy_1": 2}, assessed_on=date(2026, 1, 15), who="Ana",
                                  notes="first", phase=2, rule_scores={1: 50.0}, self_scores={1: 75.0},
                                  snapshot=[{"kpi": "nps", "value": 22.0, "target": 30.0, "status": "off target"},
                                            {"kpi": "csat", "value": None, "target": 0.8, "status": "no data"}])
    second = store.save_assessment({"vision_1": 5}, assessed_on="2026-03-01")
    frame = store.assessments()
    assert list(frame.assessment_id) == [first, second]
    assert frame.iloc[0].rule_scores == {"1": 50.0} and frame.iloc[0].saved_by == "Ana"
    assert frame.iloc[1].assessed_on == date(2026, 3, 1) and frame.iloc[1].saved_by == "local"
    assert store.answers(first) == {"vision_1": 4, "strategy_1": 2}
    snap = store.snapshot(first).set_index("kpi")
    assert snap.at["nps", "value"] == 22.0 and snap.at["csat", "status"] == "no data"

    item = store.add_item("Concept", "Define segments", "Luis", "2026-02-01",
                          checkpoints=[Checkpoint("draft"), Checkpoint("approve")], who="Ana")
    version = store.update_item(item, 1, who="Luis", status="in progress",
                                checkpoints=[Checkpoint("draft", True), Checkpoint("approve")])
    row = store.items().iloc[0]
    assert (row.title, row.owner, row.status, row.version, row.updated_by) == (
        "Define segments", "Luis", "in progress", version, "Luis")
    assert row.due_date == date(2026, 2, 1) and row.checkpoints[0] == Checkpoint("draft", True)

    store.set_risk_answer("big_bang", "no", note="staged by region", who="Ana")
    assert store.risk_answers()["big_bang"]["answer"] == "no"


@pytest.mark.parametrize("call, message", [
    (lambda s: s.save_assessment({"vision_1": 7}), "statement 'vision_1' score 7 is outside 1..5"),
    (lambda s: s.save_assessment({"vision_1": 0}), "score 0 is outside 1..5"),
    (lambda s: s.save_assessment({"vision_1": 2.5}), "score 2.5 is outside 1..5"),
    (lambda s: s.save_assessment({"vision_1": "5"}), "score '5' is outside 1..5"),
    (lambda s: s.save_assessment({}), "no answers"),
    (lambda s: s.save_assessment({"bogus": 3}, statements={"vision_1"}), "unknown statement 'bogus'"),
    (lambda s: s.add_item("Concept", "Pilot", due_date="next week"),
     "roadmap item 'Pilot': due_date 'next week' is not a date"),
    (lambda s: s.add_item("Launch", "Pilot"), "stage 'Launch' is not one of Vision, Assessment"),
    (lambda s: s.add_item("Vision", "Pilot", status="maybe"), "status 'maybe' is not one of"),
    (lambda s: s.add_item("Vision", "  "), "the title is empty"),
    (lambda s: s.set_target("nps", "high"), "target nps: 'high' is not a number"),
    (lambda s: s.set_target("nps", float("nan")), "is not a finite number"),
    (lambda s: s.set_risk_answer("big_bang", "perhaps"), "answer 'perhaps' is not yes, no or unsure"),
])
def test_bad_values_are_refused_with_a_clear_message(store, call, message):
    with pytest.raises(StoreError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call(store)
    assert store.assessments().empty and store.items().empty and not store.target_overrides()


def test_stale_edit_is_a_conflict_not_a_lost_update(store):
    item = store.add_item("Vision", "Write the customer vision", who="Ana")
    store.update_item(item, 1, who="Ana", owner="Ana")               # Ana's edit lands first
    with pytest.raises(Conflict, match="was changed by Ana"):
        store.update_item(item, 1, who="Luis", status="done")         # Luis read version 1
    row = store.items().iloc[0]
    assert (row.owner, row.status, row.version) == ("Ana", "planned", 2)


def test_two_sessions_editing_at_once_keep_both_edits(tmp_path):
    url = f"sqlite:///{tmp_path}/app.sqlite"
    store = AppStore(url)
    a = store.add_item("Concept", "Item A")
    b = store.add_item("Concept", "Item B")
    script = textwrap.dedent("""
        import sys, time
        from data.store import AppStore
        url, who, item, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        while time.time() < start:
            time.sleep(0.001)
        store = AppStore(url)
        for n in range(20):
            store.add_item("Development", f"{who} task {n}", who=who)
            version = int(store.items().set_index("item_id").at[item, "version"])
            store.update_item(item, version, who=who, owner=f"{who} {n}")
        store.save_assessment({"vision_1": 3}, who=who)
    """)
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", script, url, who, str(item), str(start)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True)
             for who, item in (("Ana", a), ("Luis", b))]
    for proc in procs:
        assert proc.wait(120) == 0, proc.stderr.read()
    items = store.items().set_index("title")
    assert items.at["Item A", "owner"] == "Ana 19" and items.at["Item B", "owner"] == "Luis 19"
    assert items.at["Item A", "version"] == 21 and items.at["Item B", "version"] == 21
    assert sum(t.startswith("Ana task") for t in items.index) == 20
    assert sum(t.startswith("Luis task") for t in items.index) == 20
    assert sorted(store.assessments().saved_by) == ["Ana", "Luis"]
    store.dispose()


def test_a_process_killed_mid_save_leaves_the_previous_state(tmp_path):
    url = f"sqlite:///{tmp_path}/app.sqlite"
    store = AppStore(url)
    kept = store.save_assessment({"vision_1": 4, "vision_2": 4}, who="Ana")
    marker = tmp_path / "inside-transaction"
    # the child saves an assessment but hangs after the first row is written, inside the transaction
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        import data.store as store_module
        from data.store import AppStore

        real_insert = store_module.insert
        calls = []

        def slow_insert(table):
            calls.append(table.name)
            if table.name == "assessment_answers":
                Path({str(marker)!r}).touch()
                time.sleep(60)
            return real_insert(table)

        store_module.insert = slow_insert
        AppStore({url!r}).save_assessment({{"vision_1": 1, "vision_2": 1}}, who="Crash")
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.time() + 60
    while not marker.exists():
        assert time.time() < deadline and child.poll() is None, "the child never reached the save"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    after = AppStore(url)
    frame = after.assessments()
    assert list(frame.assessment_id) == [kept] and list(frame.saved_by) == ["Ana"]
    assert after.answers(kept) == {"vision_1": 4, "vision_2": 4}
    after.save_assessment({"vision_1": 5}, who="Ana")   # and the store still works
    assert len(after.assessments()) == 2
    after.dispose()
    store.dispose()


@pytest.mark.postgres
def test_store_on_postgres(pg_url):
    store = AppStore(pg_url)
    store.set_target("csat", 0.85, who="Ana")
    item = store.add_item("Assessment", "Interview the teams", due_date=date(2026, 4, 1))
    store.update_item(item, 1, status="done")
    store.save_assessment({"metrics_1": 5}, who="Ana", snapshot=[{"kpi": "nps", "value": 1.5, "status": "off target"}])
    again = AppStore(pg_url)
    assert again.target_overrides() == {"csat": 0.85}
    assert again.items().iloc[0].status == "done"
    assert again.answers(int(again.assessments().iloc[0].assessment_id)) == {"metrics_1": 5}
    store.dispose()
    again.dispose()
