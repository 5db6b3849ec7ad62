"""Malformed inputs: each is rejected with a message naming file, row and/or column, and the
target stays byte-for-byte as the previous good import left it."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from data import schema
from data.imports import ImportRejected, run_import
from tests.tiny import ROWS


def write_tiny(folder: Path) -> Path:
    """The tiny CRM as one CSV per table (every column of the data model)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in schema.TABLES:
        frame = pd.DataFrame(ROWS.get(table.name, []), columns=[c.name for c in table.columns])
        frame.to_csv(folder / f"{table.name}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("good") / "csv")


@pytest.fixture(scope="module")
def imported(tmp_path_factory, good) -> Path:
    """A target that already holds a good import."""
    target = tmp_path_factory.mktemp("target") / "workspace.duckdb"
    run_import([good], "crm", str(target))
    return target


def read(folder: Path, table: str) -> list[list[str]]:
    with open(folder / f"{table}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def save(folder: Path, table: str, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    (folder / f"{table}.csv").write_text(buffer.getvalue(), encoding="utf-8")


def set_cells(table: str, row: int = 0, **values):
    """A mutation: data row ``row`` (0-based; spreadsheet row row+2) gets ``values``."""
    def apply(folder: Path) -> None:
        rows = read(folder, table)
        for column, value in values.items():
            rows[row + 1][rows[0].index(column)] = value
        save(folder, table, rows)
    return apply


def drop_column(table: str, column: str):
    def apply(folder: Path) -> None:
        rows = read(folder, table)
        i = rows[0].index(column)
        save(folder, table, [r[:i] + r[i + 1:] for r in rows])
    return apply


def rename_column(table: str, old: str, new: str):
    def apply(folder: Path) -> None:
        rows = read(folder, table)
        rows[0][rows[0].index(old)] = new
        save(folder, table, rows)
    return apply


def raw_bytes(name: str, data: bytes):
    def apply(folder: Path) -> None:
        (folder / name).write_bytes(data)
    return apply


def text_edit(table: str, edit):
    """Rewrite the file's text with ``edit(text) -> text`` (for line-level damage)."""
    def apply(folder: Path) -> None:
        path = folder / f"{table}.csv"
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return apply


def remove(name: str):
    def apply(folder: Path) -> None:
        (folder / name).unlink()
    return apply


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1]}).to_excel(buffer, index=False)
    return buffer.getvalue()


def _add_line(text: str, line: str) -> str:
    return text + line + "\n"


CASES = [
    # (id, mutation, expected substrings of one message)
    ("missing key column", drop_column("customers", "customer_id"),
     ["customers.csv:1: customer_id: required column is missing"]),
    ("missing required timestamp column", drop_column("tickets", "opened_at"),
     ["tickets.csv:1: opened_at: required column is missing"]),
    ("text in a number", set_cells("orders", 0, amount="doce"), ["orders.csv:2: amount: 'doce' is not a number"]),
    ("two decimal separators", set_cells("orders", 1, amount="1,2,3"), ["orders.csv:3: amount: '1,2,3' is not a number"]),
    ("text in a whole number", set_cells("tickets", 0, contacts_to_resolve="two"),
     ["tickets.csv:2: contacts_to_resolve: 'two' is not a whole number"]),
    ("fraction in a whole number", set_cells("surveys", 0, score="7.5"), ["surveys.csv:2: score: '7.5' is not a whole number"]),
    ("impossible ISO date", set_cells("orders", 0, ordered_at="2026-02-30"),
     ["orders.csv:2: ordered_at: '2026-02-30' is not a date"]),
    ("impossible day-first date", set_cells("orders", 0, ordered_at="31/02/2026"),
     ["orders.csv:2: ordered_at: '31/02/2026' is not a date"]),
    ("words in a date", set_cells("customers", 2, created_at="yesterday"),
     ["customers.csv:4: created_at: 'yesterday' is not a date"]),
    ("month 13", set_cells("campaigns", 0, started_at="2026-13-01"), ["campaigns.csv:2: started_at: '2026-13-01'"]),
    ("bad boolean", set_cells("customers", 0, consent_marketing="maybe"),
     ["customers.csv:2: consent_marketing: 'maybe' is not yes/no"]),
    ("bad boolean in tickets", set_cells("tickets", 1, escalated="perhaps"), ["tickets.csv:3: escalated: 'perhaps'"]),
    ("empty required timestamp", set_cells("customers", 1, created_at=""),
     ["customers.csv:3: created_at: is empty; a value is required"]),
    ("empty key", set_cells("orders", 0, order_id=""), ["orders.csv:2: order_id: is empty"]),
    ("empty survey score", set_cells("surveys", 0, score=""), ["surveys.csv:2: score: is empty"]),
    ("duplicate order key", lambda f: set_cells("orders", 1, order_id=read(f, "orders")[1][0])(f),
     ["orders.csv:3: order_id:", "appears more than once (first at orders.csv:2)"]),
    ("duplicate customer key", lambda f: set_cells("customers", 1, customer_id=read(f, "customers")[1][0])(f),
     ["customers.csv:3: customer_id:", "appears more than once"]),
    ("unknown customer in orders", set_cells("orders", 0, customer_id="NOPE"),
     ["orders.csv:2: customer_id: 'NOPE' is not a known customer_id (no such row in customers)"]),
    ("unknown customer in tickets", set_cells("tickets", 0, customer_id="NOPE"), ["tickets.csv:2: customer_id: 'NOPE'"]),
    ("unknown campaign", set_cells("interactions", 0, campaign_id="CAMP-X"),
     ["interactions.csv:2: campaign_id: 'CAMP-X' is not a known campaign_id"]),
    ("unknown opportunity status", set_cells("opportunities", 0, status="pending"),
     ["opportunities.csv:2: status: 'pending' is not one of: lost, open, won"]),
    ("unknown direction", set_cells("interactions", 0, direction="sideways"), ["interactions.csv:2: direction: 'sideways'"]),
    ("unknown sla class", set_cells("tickets", 0, sla_class="soon"), ["tickets.csv:2: sla_class: 'soon' is not one of"]),
    ("unknown survey kind", set_cells("surveys", 0, kind="stars"), ["surveys.csv:2: kind: 'stars'"]),
    ("unknown preferred channel", set_cells("customers", 0, preferred_channel="pigeon"),
     ["customers.csv:2: preferred_channel: 'pigeon'"]),
    ("resolved before opened", set_cells("tickets", 0, resolved_at="2000-01-01 00:00:00"),
     ["tickets.csv:2: resolved_at: resolved_at (2000-01-01 00:00:00) is before opened_at"]),
    ("first response before opened", set_cells("tickets", 0, first_response_at="2000-01-01"),
     ["tickets.csv:2: first_response_at: first_response_at (2000-01-01 00:00:00) is before opened_at"]),
    ("closed before created", set_cells("opportunities", 0, closed_at="2000-01-01"),
     ["opportunities.csv:2: closed_at: closed_at (2000-01-01 00:00:00) is before created_at"]),
    ("acquired before created", set_cells("customers", 0, acquired_at="2000-01-01"),
     ["customers.csv:2: acquired_at:", "is before created_at"]),
    ("engaged before created", set_cells("customers", 0, engaged_at="2000-01-01"), ["customers.csv:2: engaged_at:"]),
    ("campaign ends before it starts", set_cells("campaigns", 0, ended_at="2000-01-01"), ["campaigns.csv:2: ended_at:"]),
    ("NPS above 10", set_cells("surveys", 0, kind="nps", score="11"),
     ["surveys.csv:2: score: 11 is outside the NPS scale 0..10"]),
    ("CSAT survey 0", set_cells("surveys", 0, kind="csat", score="0"), ["surveys.csv:2: score: 0 is outside the CSAT scale 1..5"]),
    ("CES 8", set_cells("surveys", 0, kind="ces", score="8"), ["surveys.csv:2: score: 8 is outside the CES scale 1..7"]),
    ("ticket CSAT 6", set_cells("tickets", 0, csat="6"), ["tickets.csv:2: csat: 6 is outside the CSAT scale 1..5"]),
    ("negative cost", set_cells("campaigns", 0, cost="-10"), ["campaigns.csv:2: cost: cost -10.0 is negative"]),
    ("zero contacts", set_cells("tickets", 0, contacts_to_resolve="0"), ["tickets.csv:2: contacts_to_resolve: 0 contacts"]),
    ("empty file", raw_bytes("customers.csv", b""), ["customers.csv: the file is empty"]),
    ("header only where rows are required", lambda f: save(f, "customers", read(f, "customers")[:1]),
     ["customers.csv: has a header but no rows"]),
    ("binary garbage", raw_bytes("orders.csv", bytes(range(256)) * 8), ["orders.csv: is not a text file"]),
    ("a workbook named .csv", raw_bytes("orders.csv", _xlsx_bytes()), ["orders.csv: is not a CSV file"]),
    ("damaged workbook", raw_bytes("orders.xlsx", b"PK\x03\x04 not really a workbook"),
     ["orders.xlsx: is not a readable Excel workbook"]),
    ("unterminated quote on the last line", text_edit("orders", lambda t: _add_line(t, 'O-LAST,"A,2026-01-01,5')),
     ["unterminated quote"]),
    ("truncated last line", text_edit("orders", lambda t: _add_line(t, "O-LAST,A")), ["has fewer values than the header"]),
    ("a line with too many values", text_edit("orders", lambda t: _add_line(t, "O-X,A,2026-01-01,5,1,x,web,extra")),
     ["has more values than the header"]),
    ("mixed delimiters", text_edit("orders", lambda t: _add_line(t, "O-X;A;2026-01-01;5;1;x;web")),
     ["orders.csv:", "fewer values"]),
    ("duplicate header", rename_column("orders", "margin", "amount"), ["orders.csv:1: amount: appears twice in the header"]),
    ("nameless header column", rename_column("orders", "margin", ""), ["orders.csv:1: column 5 has no name"]),
    ("UTF-16 file", lambda f: (f / "campaigns.csv").write_bytes((f / "campaigns.csv").read_text().encode("utf-16")),
     ["campaigns.csv: is UTF-16 text"]),
    ("undecodable bytes",
     lambda f: (f / "customers.csv").write_bytes((f / "customers.csv").read_bytes() + b"Z,\x81\x8d\x90,x\n"),
     ["customers.csv: is neither UTF-8 nor Windows-1252"]),
    ("an unrecognised file", raw_bytes("notes.csv", b"foo,bar\n1,2\n"),
     ["notes.csv: not recognised as a table of the crm profile"]),
    ("no customers file", remove("customers.csv"), ["no customers file found"]),
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case, mutate, expected", CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_rejected_and_changes_nothing(case, mutate, expected, good, imported, tmp_path):
    folder = tmp_path / "csv"
    shutil.copytree(good, folder)
    mutate(folder)
    before = digest(imported)
    wal = Path(str(imported) + ".wal")
    with pytest.raises(ImportRejected) as caught:
        run_import([folder], "crm", str(imported))
    messages = [str(p) for p in caught.value.problems if p.severity == "error"]
    assert any(all(part in m for part in expected) for m in messages), messages
    assert digest(imported) == before
    assert not wal.exists()


def test_formula_looking_text_is_kept_as_text(good, tmp_path):
    folder = tmp_path / "csv"
    shutil.copytree(good, folder)
    set_cells("customers", 0, name="=HYPERLINK(\"http://x\",\"y\")", industry="+cmd|' /C calc'!A0")(folder)
    target = tmp_path / "ws.duckdb"
    run_import([folder], "crm", str(target))
    import duckdb

    con = duckdb.connect(str(target), read_only=True)
    name, industry = con.execute("SELECT name, industry FROM customers ORDER BY customer_id LIMIT 1").fetchone()
    con.close()
    assert name == "=HYPERLINK(\"http://x\",\"y\")" and industry == "+cmd|' /C calc'!A0"


def test_extra_columns_and_missing_dimensions_are_warnings(good, tmp_path):
    folder = tmp_path / "csv"
    shutil.copytree(good, folder)
    rows = read(folder, "customers")
    i = rows[0].index("segment")
    save(folder, "customers", [r[:i] + r[i + 1:] + ["x"] for r in rows[:1]] + [r[:i] + r[i + 1:] + ["1"] for r in rows[1:]])
    rows = read(folder, "customers")
    rows[0][-1] = "Favourite colour"
    save(folder, "customers", rows)
    result = run_import([folder], "crm", str(tmp_path / "ws.duckdb"))
    warnings = [str(p) for p in result.warnings]
    assert "customers.csv: segment: not in the file; every row gets 'Unassigned'" in warnings
    assert any("Favourite colour" in w and "ignored" in w for w in warnings)
    import duckdb

    con = duckdb.connect(str(tmp_path / "ws.duckdb"), read_only=True)
    assert con.execute("SELECT DISTINCT segment FROM customers").fetchall() == [("Unassigned",)]
    con.close()


def test_every_problem_is_reported_not_just_the_first(good, tmp_path):
    folder = tmp_path / "csv"
    shutil.copytree(good, folder)
    set_cells("orders", 0, amount="doce")(folder)
    set_cells("tickets", 0, sla_class="soon")(folder)
    set_cells("surveys", 0, kind="nps", score="11")(folder)
    with pytest.raises(ImportRejected) as caught:
        run_import([folder], "crm", str(tmp_path / "ws.duckdb"))
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "orders.csv:2: amount" in text and "tickets.csv:2: sla_class" in text and "surveys.csv:2: score" in text
    assert not (tmp_path / "ws.duckdb").exists()


def test_cli_prints_every_problem_and_exits_2(good, imported, tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "csv"
    shutil.copytree(good, folder)
    set_cells("orders", 0, amount="doce")(folder)
    set_cells("tickets", 1, sla_class="soon")(folder)
    before = digest(imported)
    done = subprocess.run([sys.executable, "-m", "data", "import", "--into", str(imported), str(folder)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert done.returncode == 2
    assert "orders.csv:2: amount: 'doce' is not a number" in done.stderr
    assert "tickets.csv:3: sla_class: 'soon' is not one of" in done.stderr
    assert "2 problems found; nothing was imported." in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert digest(imported) == before
