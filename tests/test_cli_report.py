"""``python -m metrics report`` on the demo database: every KPI, each format, clear errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from metrics.catalogue import CATALOGUE
from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metrics", "report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_json_report_has_every_kpi_and_rule(demo_url):
    done = run("--db", demo_url, "--from", "2026-08-01", "--to", "2026-10-31", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [k["name"] for k in report["kpis"]] == [k.name for k in CATALOGUE]
    assert [r["rule"] for r in report["rules"]] == list(range(1, 9))
    assert report["filters"] == {"from": "2026-08-01", "to": "2026-10-31", "compare": "previous", "segment": [],
                                 "region": [], "industry": [], "acquisition_channel": [], "owner_team": [],
                                 "channel": []}
    sla = next(k for k in report["kpis"] if k["name"] == "sla_compliance")
    assert 0 < sla["value"] < 1 and sla["target"] == 0.95 and sla["status"] in {"on target", "near target", "off target"}
    assert sla["delta"] == sla["value"] - sla["comparison"]
    assert 0 <= report["overall_score"] <= 100


def test_filters_and_formats(demo_url):
    done = run("--db", demo_url, "--to", "2026-10-31", "--segment", "SMB", "--segment", "Enterprise",
               "--compare", "last_year", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == len(CATALOGUE) and rows[0]["name"] == "nps"
    # Consumer customers are never owned by the key-accounts team: nothing to report
    markdown = run("--db", demo_url, "--to", "2026-10-31", "--segment", "Consumer", "--owner-team", "Key accounts",
                   "--format", "markdown")
    assert markdown.returncode == 3, markdown.stderr
    assert "| SLA compliance | no data |" in markdown.stdout
    assert "Overall score: **no data**" in markdown.stdout
    assert "Segment: Consumer" in markdown.stdout


def test_errors_are_one_clear_line(tmp_path):
    missing = run("--db", f"duckdb:///{tmp_path}/none.duckdb")
    assert missing.returncode == 2 and "DuckDB file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    backwards = run("--from", "2026-02-01", "--to", "2026-01-01")
    assert backwards.returncode == 2 and "ends (2026-01-01) before it starts" in backwards.stderr
