"""The executive PDF report: ``python -m metrics report --format pdf`` on the demo database,
read back with poppler (``pdftotext``, ``pdfinfo``) and rendered to PNG (``pdftoppm``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from metrics.catalogue import CATALOGUE
from tests.conftest import ROOT

ACCESS = '[users."ana@example.com"]\nrole = "manager"\nregion = ["North"]\n'
PERIOD = ["--from", "2026-08-01", "--to", "2026-10-31"]
ARTIFACTS = ROOT / "test-artifacts"


def report(demo_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metrics", "report", "--db", demo_url, *PERIOD, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(done.stdout.split())  # table cells may wrap: compare with single spaces


@pytest.fixture(scope="module")
def scoped_pdf(demo_url, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("pdf")
    (work / "access.toml").write_text(ACCESS)
    out = work / "report.pdf"
    done = report(demo_url, "--segment", "SMB", "--region", "South", "--format", "pdf", "--out", str(out),
                  "--user", "ana@example.com", "--access", str(work / "access.toml"))
    assert done.returncode == 0, done.stderr
    return out


def test_one_a4_report_with_every_kpi_and_the_filters(scoped_pdf):
    info = subprocess.run(["pdfinfo", str(scoped_pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 842\.\d+ pts \(A4\)", info)
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 2 <= pages <= 6
    text = pdf_text(scoped_pdf)
    missing = [k.label for k in CATALOGUE if k.label not in text]
    assert not missing, missing
    for expected in ("CRM scorecard", "1 August 2026 to 31 October 2026", "Prepared for ana@example.com",
                     "Scope Region: North", "Segment: SMB", "Region: South",  # the filters as asked ...
                     "Gartner's eight rules", "Off target — where to look", "Headline trends (12 months)",
                     "Compared with the previous period"):
        assert expected in text, expected
    for rule in ("1. Vision", "5. Processes", "8. Metrics"):
        assert rule in text


def test_the_pdf_holds_the_scoped_figures(scoped_pdf, demo_url):
    # ... but within the North scope, SMB + South selects nobody: every rule has no data
    text = pdf_text(scoped_pdf)
    for rule in ("1. Vision no data", "3. Valued customer experiences no data", "5. Processes no data"):
        assert rule in text
    assert "No activity in the 12 months up to the end of the range for this selection." in text


def test_pdf_scores_equal_the_report_filtered_to_the_scope(demo_url, tmp_path):
    (tmp_path / "access.toml").write_text(ACCESS)
    out = tmp_path / "north.pdf"
    done = report(demo_url, "--format", "pdf", "--out", str(out), "--user", "ana@example.com", "--access",
                  str(tmp_path / "access.toml"))
    assert done.returncode == 0, done.stderr
    figures = json.loads(report(demo_url, "--region", "North", "--format", "json").stdout)
    text = pdf_text(out)
    for chart in ("Revenue per month", "New customers per month", "SLA compliance per month", "NPS per month"):
        assert chart in text
    assert f"Overall CRM score: {figures['overall_score']:.0f} / 100" in text
    for rule in figures["rules"]:
        if rule["score"] is not None:
            assert f"{rule['rule']}. {rule['title']} {rule['score']:.0f} / 100" in text
    # a page rendered to PNG, kept for review in test-artifacts/
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "2", str(out), str(ARTIFACTS / "report")],
                   check=True)
    page = Image.open(ARTIFACTS / "report-2.png").convert("L")
    assert page.width < page.height  # portrait
    dark = sum(1 for v in page.getdata() if v < 128)
    assert dark > 0.01 * page.width * page.height  # the radar and the tables were drawn, not a blank page


def test_pdf_needs_an_output_file(demo_url):
    done = report(demo_url, "--format", "pdf")
    assert done.returncode == 2 and "--format pdf needs --out FILE" in done.stderr
    assert "Traceback" not in done.stderr
