"""Every page opened on a 200,000-customer database (AppTest), in a child process whose
resident memory is measured: the process's peak must stay under a ceiling.

The database is built once per test session (about two minutes); the pages run in a
fresh Python process so that its peak (its own ``ru_maxrss``) is theirs alone.
The child also runs under an address-space limit, so a regression fails the test instead
of taking the machine down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.build import build_demo
from data.demo import DemoSpec
from tests.conftest import END, ROOT

pytestmark = pytest.mark.scale

CUSTOMERS = 200_000
#: Resident-memory ceiling for the process that opens every page (interpreter, Streamlit,
#: DuckDB's buffer pool bounded by CRM_DB_MEMORY, and the pages' results).
CEILING_MB = 2_500
DB_MEMORY = "1GB"
ADDRESS_SPACE_LIMIT = 16 * 2**30   # a guard for the machine, far above the ceiling

PAGES = {
    "overview": "Overview", "rules": "Gartner's eight rules", "funnel": "Lifecycle funnel",
    "service": "Service & SLA", "retention": "Retention cohorts", "engagement": "Engagement",
    "segments": "Segments", "value": "Customer value", "maturity": "CRM maturity", "data_source": "Data",
}

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from streamlit.testing.v1 import AppTest
out = {{}}
for page in {pages!r}:
    at = AppTest.from_file({app!r}, default_timeout=600)
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{{page}}.py").run()
    out[page] = {{"titles": [t.value for t in at.title], "exceptions": [str(e.value)[:500] for e in at.exception],
                 "errors": [e.value for e in at.error], "metrics": len(at.metric)}}
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # this process's resident peak
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def scale_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scale") / "crm_200k.duckdb"
    build_demo(path, DemoSpec(customers=CUSTOMERS, seed=42, end=END))
    return path


def test_every_page_on_200k_customers_within_a_memory_ceiling(scale_db, tmp_path):
    env = {**os.environ, "CRM_DB_URL": f"duckdb:///{scale_db}", "CRM_APP_DB_URL": f"sqlite:///{tmp_path}/app.sqlite",
           "CRM_DB_MEMORY": DB_MEMORY, "CRM_DB_TEMP": str(tmp_path / "spill")}
    script = CHILD.format(limit=ADDRESS_SPACE_LIMIT, pages=list(PAGES), app=str(ROOT / "app.py"))
    child = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=1800)
    assert child.returncode == 0, child.stderr[-3000:]
    results = json.loads(child.stdout.strip().splitlines()[-1])
    for page, title in PAGES.items():
        got = results[page]
        assert got["titles"] == [title], (page, got)
        assert not got["exceptions"] and not got["errors"], (page, got)
    assert results["overview"]["metrics"] > 0 and results["value"]["metrics"] > 0
    assert results["peak_mb"] < CEILING_MB, f"peak resident memory {results['peak_mb']:.0f} MB"
