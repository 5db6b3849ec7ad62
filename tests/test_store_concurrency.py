"""Two processes saving the same target on a PostgreSQL store, 100 times each: no
exception, every save either applied (one history row each) or reported as a conflict."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from data.store import AppStore
from tests.conftest import ROOT

SAVER = """
import json, sys
from data.store import AppStore, Conflict
store = AppStore(sys.argv[1])
who = sys.argv[2]
applied = conflicts = 0
for i in range(100):
    try:
        store.set_target("sla_compliance", 0.5 + i / 1000, who=who)
        store.set_risk_answer("data_quality", "yes" if i % 2 else "no", note=f"{who} {i}", who=who)
        applied += 1
    except Conflict:
        conflicts += 1
print(json.dumps({"applied": applied, "conflicts": conflicts}))
"""


@pytest.mark.postgres
def test_two_processes_saving_the_same_target(pg_url):
    AppStore(pg_url).dispose()  # the schema exists before both start
    procs = [subprocess.Popen([sys.executable, "-c", SAVER, pg_url, name], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for name in ("ana", "bo")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "IntegrityError" not in err
        results.append(json.loads(out))
    assert sum(r["applied"] + r["conflicts"] for r in results) == 200
    store = AppStore(pg_url)
    history = store.target_history()
    assert len(history) == sum(r["applied"] for r in results)
    assert set(history.changed_by) <= {"ana", "bo"}
    # the history is a chain: each change starts from the value the previous one left
    chain = history.sort_values("change_id")
    assert (chain.old_target.iloc[1:].to_numpy() == chain.new_target.iloc[:-1].to_numpy()).all()
    assert store.target_overrides()["sla_compliance"] == chain.new_target.iloc[-1]
    store.dispose()
