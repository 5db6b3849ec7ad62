"""CSV exports of records whose names start with =, +, - or @ open as text: the drill-down
download of the app (the same cached function its button serves) and every other CSV go
through one neutraliser, metrics.escape.to_csv."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import duckdb
import pytest

from metrics.filters import Filters
from tests.conftest import END, ROOT

NAMES = {"C0000001": "=HYPERLINK(\"https://evil.example\",\"Open\")", "C0000002": "+1+cmd|' /C calc'!A0",
         "C0000003": "-2+3", "C0000004": "@SUM(1,2)", "C0000005": "\t=1", "C0000006": "\r=1"}


@pytest.fixture(scope="module")
def hostile_names(demo_path, tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "names.duckdb"
    path.write_bytes(demo_path.read_bytes())
    with duckdb.connect(str(path)) as db:
        for customer_id, name in NAMES.items():
            db.execute("UPDATE customers SET name = ? WHERE customer_id = ?", [name, customer_id])
    return f"duckdb:///{path}"


def test_drill_down_csv_of_customer_records_opens_as_text(hostile_names):
    from pages import ui  # the download button serves exactly this function's bytes

    f = Filters(start=date(2026, 8, 1), end=END)
    data = ui._records_csv(hostile_names, "kpi", f, ("completeness",)).decode()
    rows = {r["customer_id"]: r for r in csv.DictReader(io.StringIO(data, newline=""))}
    for customer_id, name in NAMES.items():
        assert rows[customer_id]["name"] == "'" + name, customer_id
    assert all(not r["name"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows.values())


def test_every_csv_goes_through_the_neutraliser():
    """No page or metric writes CSV by itself (one function used everywhere)."""
    offenders = []
    for folder in ("pages", "metrics"):
        for path in (ROOT / folder).glob("*.py"):
            if path.name == "escape.py":
                continue
            text = path.read_text()
            for match in re.finditer(r"(?<!escape)\.to_csv\(|csv\.writer\(", text):
                offenders.append(f"{path.name}: {text[max(0, match.start() - 40):match.end()]}")
            if "csv.DictWriter(" in text and "escape.csv_cell" not in text:
                offenders.append(f"{path.name}: DictWriter without escape.csv_cell")
    assert not offenders, offenders
