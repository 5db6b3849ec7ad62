"""Reading and typing export files: encodings, delimiters, decimal commas, date spellings,
booleans, Excel cells; each value worked out by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from data.imports import ImportRejected, run_import
from data.imports.convert import boolean_sql, integer_sql, number_sql, timestamp_sql
from data.imports.profiles import detect_profile
from data.imports.reader import peek_headers
from tests import exports


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


def value(con, sql_of, text):
    return con.execute(f"SELECT {sql_of('x')} FROM (SELECT CAST(? AS VARCHAR) AS x)", [text]).fetchall()[0][0]


@pytest.mark.parametrize("text, expected", [
    ("4124.84", 4124.84), ("4124,84", 4124.84), ("1.234,5", 1234.5), ("1,234.5", 1234.5),
    ("1.234.567", 1234567.0), ("-3", -3.0), ("12,5", 12.5), ("doce", None), ("1,2,3", None), ("1.234", 1.234),
])
def test_numbers(con, text, expected):
    assert value(con, number_sql, text) == expected


@pytest.mark.parametrize("text, expected", [("7", 7), ("7,0", 7), ("7.5", None), ("siete", None)])
def test_whole_numbers(con, text, expected):
    assert value(con, integer_sql, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("true", True), ("FALSE", False), ("yes", True), ("No", False), ("sí", True), ("Si", True), ("1", True),
    ("0", False), ("maybe", None),
])
def test_booleans(con, text, expected):
    assert value(con, boolean_sql, text) is expected


@pytest.mark.parametrize("text, expected", [
    ("2026-03-01", datetime(2026, 3, 1)),
    ("2026-03-01 10:15:00", datetime(2026, 3, 1, 10, 15)),
    ("2026-03-01T10:15:00.000+0000", datetime(2026, 3, 1, 10, 15)),   # Salesforce
    ("2026-03-01T10:15:00Z", datetime(2026, 3, 1, 10, 15)),            # HubSpot, Zendesk
    ("2026-03-01T11:15:00+01:00", datetime(2026, 3, 1, 10, 15)),       # to UTC
    ("01/03/2026", datetime(2026, 3, 1)),                               # day first
    ("01/03/2026 10:15", datetime(2026, 3, 1, 10, 15)),
    ("01/03/2026 10:15:30", datetime(2026, 3, 1, 10, 15, 30)),
    ("46082", datetime(2026, 3, 1)),                                    # Excel serial day
    ("46082.5", datetime(2026, 3, 1, 12)),
    ("2026-02-30", None), ("31/02/2026", None), ("yesterday", None),
])
def test_timestamps(con, text, expected):
    assert value(con, timestamp_sql, text) == expected


def _import_customers(tmp_path: Path, data: bytes, name: str = "customers.csv"):
    """Import a one-table CRM (customers only) and return its rows."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(data)
    target = tmp_path / "ws.duckdb"
    result = run_import([folder], "crm", str(target))
    con = duckdb.connect(str(target), read_only=True)
    rows = con.execute("SELECT customer_id, name, segment, consent_marketing, created_at FROM customers "
                       "ORDER BY customer_id").fetchall()
    con.close()
    return result, rows


HEADER = "customer_id;name;segment;region;acquisition_channel;consent_marketing;created_at;updated_at\r\n"


def test_spanish_excel_csv_cp1252(tmp_path):
    text = HEADER + "C1;Peña € Cía;Pymes;Norte;web;sí;01/03/2026 10:15:00;02/03/2026\r\n"
    result, rows = _import_customers(tmp_path, text.encode("cp1252"))
    assert result.errors == []
    assert rows == [("C1", "Peña € Cía", "Pymes", True, datetime(2026, 3, 1, 10, 15))]


def test_utf8_with_bom_and_commas(tmp_path):
    text = HEADER.replace(";", ",").replace("\r\n", "\n") + "C1,\"Smith, Jones & Co\",SMB,North,web,no,2026-03-01T10:15:00Z,2026-03-02\n"
    result, rows = _import_customers(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert result.errors == []
    assert rows == [("C1", "Smith, Jones & Co", "SMB", False, datetime(2026, 3, 1, 10, 15))]


def test_mixed_line_endings_are_named_not_a_traceback(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "customers.csv").write_bytes((HEADER + "C1;A;SMB;N;web;no;2026-03-01;2026-03-01\n").encode())
    with pytest.raises(ImportRejected) as caught:
        run_import([folder], "crm", str(tmp_path / "ws.duckdb"))
    assert [str(p) for p in caught.value.problems] == [
        "customers.csv: cannot be read as CSV: its lines or quotes are inconsistent (for example mixed line "
        "endings); save it again as CSV from the spreadsheet"]


def test_parquet_and_xlsx_with_serial_dates_and_a_formula(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "customers"
    sheet.append(HEADER.strip().split(";"))
    sheet.append(["C1", "=1+1", "SMB", "North", "web", True, 46082, datetime(2026, 3, 2)])
    path = tmp_path / "crm.xlsx"
    book.save(path)
    target = tmp_path / "ws.duckdb"
    assert run_import([path], "crm", str(target)).errors == []
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("SELECT name, consent_marketing, created_at, updated_at FROM customers").fetchall() == [
        ("=1+1", True, datetime(2026, 3, 1), datetime(2026, 3, 2))]  # the formula is text, never evaluated
    con.execute(f"COPY customers TO '{tmp_path / 'customers.parquet'}' (FORMAT parquet)")
    con.close()
    again = tmp_path / "again.duckdb"
    assert run_import([tmp_path / "customers.parquet"], "crm", str(again)).rows["customers"] == 1


def test_profile_detected_from_headers(tmp_path, demo_path):
    crm = exports.crm_csv(demo_path, tmp_path / "crm")
    sf = exports.salesforce_csv(demo_path, tmp_path / "sf")
    hs = exports.hubspot_csv(demo_path, tmp_path / "hs", internal=True)
    zd = exports.zendesk_csv(demo_path, tmp_path / "zd")
    for folder, expected in ((crm, "crm"), (sf, "salesforce"), (hs, "hubspot"), (zd, "zendesk")):
        headers = [h for p in sorted(folder.glob("*.csv")) for h in peek_headers(p)]
        assert detect_profile(headers) == expected, folder
