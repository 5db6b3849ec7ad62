"""The Import data page in AppTest: upload, mapping, report, import; a bad file changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.imports import run_import
from tests import exports
from tests.conftest import ROOT
from tests.tiny import ROWS


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def workspace(tmp_path, demo_path, monkeypatch) -> Path:
    """A workspace holding a previous good import of the demo; the app reads it (no CRM_DB_URL)."""
    path = tmp_path / "workspace.duckdb"
    run_import([exports.crm_csv(demo_path, tmp_path / "demo_csv")], "crm", str(path))
    monkeypatch.delenv("CRM_DB_URL", raising=False)
    monkeypatch.setenv("CRM_WORKSPACE_PATH", str(path))
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    return path


def uploads(folder: Path) -> list[tuple[str, bytes, str]]:
    return [(p.name, p.read_bytes(), "text/csv") for p in sorted(folder.glob("*.csv"))]


def open_import_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/import_data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_check_import_then_the_dashboard_reads_it(workspace, tmp_path):
    at = open_import_page()
    assert [t.value for t in at.title] == ["Import data"]
    at.file_uploader[0].set_value(uploads(exports.tiny_csv(tmp_path / "tiny"))).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="import_profile").value == "crm"
    assert not at.error
    assert any("The files are valid." in s.value for s in at.success)
    assert any("customers.csv" in e.label for e in at.expander)
    at.button(key="import_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Imported (import 2)" in s.value for s in at.success), [s.value for s in at.success]
    at.switch_page("pages/data_source.py").run()
    assert not at.exception
    tables = next(d.value for d in at.dataframe if "date_column" in d.value.columns).set_index("table")
    assert tables.loc["Customers", "rows"] == len(ROWS["customers"])
    assert tables.loc["Orders", "rows"] == len(ROWS["orders"])
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_bad_file_shows_every_problem_and_changes_nothing(workspace, tmp_path):
    before = digest(workspace)
    folder = exports.tiny_csv(tmp_path / "tiny")
    orders = folder / "orders.csv"
    lines = orders.read_text().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("amount")] = "doce"
    orders.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    at = open_import_page()
    at.file_uploader[0].set_value(uploads(folder)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "must be fixed" in at.error[0].value
    assert any("orders.csv:2: amount: 'doce' is not a number" in c.value for c in at.code)
    assert at.button(key="import_go").disabled
    assert digest(workspace) == before


def default_window(path: Path) -> tuple:
    """The dashboard's default period of the data in ``path``: the 90 days up to its last day with
    activity (orders, interactions, tickets, new customers), yesterday at the latest."""
    from datetime import date, timedelta

    with exports._demo(path) as con:  # opened the app's way: the app holds the file in this process
        first, last = con.execute(
            "SELECT min(d)::DATE, max(d)::DATE FROM (SELECT ordered_at AS d FROM orders UNION ALL "
            "SELECT occurred_at FROM interactions UNION ALL SELECT opened_at FROM tickets UNION ALL "
            "SELECT created_at FROM customers)").fetchone()
    end = min(last, date.today() - timedelta(days=1))
    return max(first, end - timedelta(days=89)), end


def test_after_an_import_the_period_follows_the_new_data(workspace, tmp_path):
    """The session's date range was the demo's; after importing the tiny CRM (other years), the
    filters show the imported data's default window, not the old range (no Reset needed)."""
    at = open_import_page()
    old = at.date_input(key="period").value
    assert tuple(old) == default_window(workspace)
    at.file_uploader[0].set_value(uploads(exports.tiny_csv(tmp_path / "tiny"))).run()
    at.button(key="import_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    new = default_window(workspace)
    assert new != tuple(old)
    assert tuple(at.date_input(key="period").value) == new
    assert at.query_params.get("period") in (None, [], [d.isoformat() for d in new])
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert tuple(at.date_input(key="period").value) == new


def test_after_an_import_a_link_period_follows_the_new_data(workspace, tmp_path):
    """The session was opened from a link carrying ``?period=`` (the demo's last month): after
    importing the tiny CRM, the widget, the link and the filters take the new data's default
    window (Streamlit refuses to set a query parameter bound to a widget: the widget is set)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    old = default_window(workspace)
    link = [old[1].replace(day=1).isoformat(), old[1].isoformat()]
    at.query_params["period"] = link
    at.run()
    at.switch_page("pages/import_data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [d.isoformat() for d in at.date_input(key="period").value] == link
    at.file_uploader[0].set_value(uploads(exports.tiny_csv(tmp_path / "tiny"))).run()
    at.button(key="import_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    new = default_window(workspace)
    assert tuple(at.date_input(key="period").value) == new
    assert at.query_params.get("period") in (None, [], [d.isoformat() for d in new])
    f = at.session_state["filters"]
    assert (f.start, f.end) == new
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert tuple(at.date_input(key="period").value) == new
    assert (at.session_state["filters"].start, at.session_state["filters"].end) == new
