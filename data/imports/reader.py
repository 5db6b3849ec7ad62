"""Read export files (CSV, Excel .xlsx, Parquet) into raw all-text tables of a staging DuckDB.

Parsing is DuckDB's (``sniff_csv`` for the delimiter, ``read_csv`` with ``store_rejects``
for malformed lines) and openpyxl's for workbooks; nothing here parses CSV by hand.
Every raw table keeps the row number a spreadsheet shows (header = row 1), so every later
message can say ``FILE:ROW``. Values stay text here; typing happens in ``convert``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import duckdb

from data.imports.problems import Problem
from i18n import N_, lazy

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
CHUNK = 1 << 20

#: DuckDB reject types -> what the user is told.
REJECT_MESSAGES = {
    "TOO MANY COLUMNS": N_("this line has more values than the header has columns (a stray delimiter or a different "
                           "delimiter)"),
    "MISSING COLUMNS": N_("this line has fewer values than the header has columns (a truncated line or a different "
                          "delimiter)"),
    "UNQUOTED VALUE": N_("a quoted value is not closed (unterminated quote)"),
    "INVALID ENCODING": N_("this line is not valid text in the file's encoding"),
    "INVALID UNICODE": N_("this line is not valid text in the file's encoding"),
    "LINE SIZE OVER MAXIMUM": N_("this line is too long (probably an unterminated quote)"),
}


@dataclass
class RawFile:
    """One table of input: a CSV/Parquet file or one sheet of a workbook, staged as text."""

    label: str  # what messages call it: "orders.csv" or "book.xlsx[orders]"
    hint: str  # the name that may identify its kind: file stem or sheet name
    path: Path
    sha256: str
    header: list[str] = field(default_factory=list)
    table: str | None = None  # the raw table in the staging database
    rows: int = 0
    row_expr: str = "_row"
    unreadable_rows: bool = False  # some lines were rejected: row checks are skipped

    def column(self, name: str) -> str | None:
        """The raw column holding the source column ``name`` (case-insensitive)."""
        lowered = [h.strip().lower() for h in self.header]
        try:
            return f"c{lowered.index(name.strip().lower())}"
        except ValueError:
            return None


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files given directly, and the export files found in given folders (sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()))
        else:
            out.append(path)
    return out


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _text_encoding(path: Path) -> tuple[str | None, str | None]:
    """('utf-8' | 'cp1252', None) or (None, why the file is not text)."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, lazy("is UTF-16 text; save it as 'CSV UTF-8' and import again")
    if head.startswith(b"PK\x03\x04"):
        return None, lazy("is not a CSV file (it looks like an Excel workbook: give it the .xlsx extension)")
    if b"\x00" in head:
        return None, lazy("is not a text file (binary content); export the table as CSV or .xlsx")
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding, None
        except UnicodeDecodeError:
            continue
    return None, lazy("is neither UTF-8 nor Windows-1252 (Latin-1) text; save it as 'CSV UTF-8'")


def _transcode(path: Path, encoding: str, workdir: Path) -> Path:
    """A UTF-8 copy of a cp1252 file, for DuckDB's reader."""
    out = workdir / f"{abs(hash(str(path)))}.utf8.csv"
    with open(path, encoding=encoding, newline="") as src, open(out, "w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    return out


def _header_problems(raw: RawFile) -> list[Problem]:
    problems, seen = [], {}
    for i, name in enumerate(raw.header):
        key = name.strip().lower()
        if not key:
            problems.append(Problem(raw.label, lazy("column {n} has no name in the header", n=i + 1), row=1))
        elif key in seen:
            problems.append(Problem(raw.label, lazy("appears twice in the header"), row=1, column=name.strip()))
        seen.setdefault(key, i)
    return problems


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, workdir: Path) -> tuple[RawFile, list[Problem]]:
    """Stage one CSV file as text columns c0..cN; problems with the file and its lines."""
    raw = RawFile(path.name, path.stem, path, sha256_of(path), row_expr="rowid + 2")
    if path.stat().st_size == 0:
        return raw, [Problem(raw.label, lazy("the file is empty"))]
    encoding, why = _text_encoding(path)
    if encoding is None:
        return raw, [Problem(raw.label, why)]
    readable = path if encoding == "utf-8" else _transcode(path, encoding, workdir)
    with open(readable, encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
        sample = first + "".join(fh.readline() for _ in range(50))
    if not first.strip():
        return raw, [Problem(raw.label, lazy("the first line is empty; it should hold the column names"), row=1)]
    sample_path = workdir / f"{table}.sample.csv"  # the sniffer reads a sample, not the whole file
    sample_path.write_text(sample, encoding="utf-8")
    delimiter = _delimiter(con, sample_path, first, sample)
    raw.header = next(csv.reader(io.StringIO(first), delimiter=delimiter, quotechar='"'))
    problems = _header_problems(raw)
    if problems:
        return raw, problems
    columns = {f"c{i}": "VARCHAR" for i in range(len(raw.header))}
    rejects, scan = f"{table}_rejects", f"{table}_scan"
    try:
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, delim = ?, quote = '\"',"
            f" escape = '\"', auto_detect = false, columns = {columns!r}, strict_mode = true,"
            f" null_padding = false, store_rejects = true, rejects_table = '{rejects}',"
            f" rejects_scan = '{scan}', max_line_size = 4000000)",
            [str(readable), delimiter])
    except duckdb.Error:
        return raw, [Problem(raw.label, lazy("cannot be read as CSV: its lines or quotes are inconsistent (for "
                                             "example mixed line endings); save it again as CSV from the spreadsheet"))]
    raw.table = table
    raw.rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    for line, column, kind, message in con.execute(
            f"SELECT line, column_name, error_type, error_message FROM {rejects} ORDER BY line").fetchall():
        name = raw.header[int(column[1:])] if column and column[1:].isdigit() else None
        problems.append(Problem(raw.label, lazy(REJECT_MESSAGES[kind]) if kind in REJECT_MESSAGES else message, row=int(line), column=name))
        raw.unreadable_rows = True
    con.execute(f"DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {scan}")
    return raw, problems


def _delimiter(con: duckdb.DuckDBPyConnection, path: Path, first: str, sample: str) -> str:
    """The delimiter DuckDB's sniffer finds; the header's most frequent candidate otherwise."""
    try:
        found = con.execute("SELECT Delimiter FROM sniff_csv(?)", [str(path)]).fetchall()[0][0]
        if found in (",", ";", "\t", "|") and found in first:
            return found
    except duckdb.Error:
        pass
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def _cell_text(value) -> str | None:
    """An Excel cell as the text a CSV export would carry (dates ISO, whole floats without .0)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _empty_sheet(sheet) -> bool:
    """No header row: nothing in the sheet's first row."""
    first = next(sheet.iter_rows(values_only=True), None)
    return first is None or all(v is None for v in first)


def read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> tuple[list[RawFile], list[Problem]]:
    """Stage every non-empty sheet of a workbook: one sheet per table (named after its sheet), or
    one file per table (``orders.xlsx``: named after the file when it has a single non-empty sheet,
    whatever the sheet is called, e.g. Excel's "Sheet1" beside empty "Sheet2" and "Sheet3")."""
    import openpyxl
    import pandas as pd

    sha = sha256_of(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        return [], [Problem(path.name, lazy("is not a readable Excel workbook ({reason})", reason=type(exc).__name__))]
    out, problems = [], []
    try:
        filled = sum(not _empty_sheet(sheet) for sheet in book.worksheets)
        for index, sheet in enumerate(book.worksheets):
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None or all(v is None for v in header):
                continue
            while header and header[-1] is None:
                header = header[:-1]
            label = f"{path.name}[{sheet.title}]" if filled > 1 else path.name
            hint = sheet.title if filled > 1 else path.stem
            raw = RawFile(label, hint, path, sha, header=[_cell_text(h) or "" for h in header])
            header_problems = _header_problems(raw)
            if header_problems:
                problems.extend(header_problems)
                continue
            width = len(raw.header)
            data: dict[str, list] = {"_row": [], **{f"c{i}": [] for i in range(width)}}
            for number, values in enumerate(rows, start=2):
                if values is None or all(v is None for v in values):
                    continue
                extra = [v for v in values[width:] if v is not None]
                if extra:
                    problems.append(Problem(label, lazy("this row has values beyond the last named column"), row=number))
                data["_row"].append(number)
                for i in range(width):
                    data[f"c{i}"].append(_cell_text(values[i]) if i < len(values) else None)
            frame = pd.DataFrame(data).astype({f"c{i}": "object" for i in range(width)})
            name = f"{table}_{index}"
            con.register("_sheet", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT _row::BIGINT AS _row, "
                        + ", ".join(f"c{i}::VARCHAR AS c{i}" for i in range(width)) + " FROM _sheet")
            con.unregister("_sheet")
            raw.table, raw.rows = name, len(frame)
            out.append(raw)
    finally:
        book.close()
    return out, problems


def read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> tuple[RawFile, list[Problem]]:
    raw = RawFile(path.name, path.stem, path, sha256_of(path), row_expr="rowid + 2")
    try:
        names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        select = ", ".join(f'CAST("{n}" AS VARCHAR) AS c{i}' for i, n in enumerate(names))
        con.execute(f"CREATE TABLE {table} AS SELECT {select} FROM read_parquet(?)", [str(path)])
    except duckdb.Error as exc:
        return raw, [Problem(raw.label, lazy("is not a readable Parquet file: {reason}", reason=str(exc).splitlines()[0]))]
    raw.header, raw.table = names, table
    raw.rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return raw, _header_problems(raw)


def read_files(con: duckdb.DuckDBPyConnection, paths: list[Path], workdir: Path,
               names: dict[Path, str] | None = None) -> tuple[list[RawFile], list[Problem]]:
    """Stage every file; ``names`` gives a display name per path (uploads)."""
    raws: list[RawFile] = []
    problems: list[Problem] = []
    for i, path in enumerate(expand_paths(paths)):
        label = (names or {}).get(path)
        if not path.exists():
            problems.append(Problem(str(path), lazy("no such file or folder")))
            continue
        suffix = path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            found, found_problems = read_xlsx(con, path, f"raw{i}")
        elif suffix == ".parquet":
            one, found_problems = read_parquet(con, path, f"raw{i}")
            found = [one]
        else:
            one, found_problems = read_csv(con, path, f"raw{i}", workdir)
            found = [one]
        if label:
            for raw in found:
                raw.label = raw.label.replace(path.name, label, 1)
                raw.hint = Path(label).stem if raw.hint == path.stem else raw.hint
            found_problems = [Problem(p.file.replace(path.name, label, 1), p.message, p.row, p.column, p.severity)
                              for p in found_problems]
        raws.extend(found)
        problems.extend(found_problems)
    return raws, problems



def peek_headers(path: Path) -> list[list[str]]:
    """The header row(s) of a file, cheaply (one per sheet of a workbook), for detecting the
    profile; empty when the file cannot be read (the full read reports why)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True)
            try:
                return [[_cell_text(v) or "" for v in next(sheet.iter_rows(values_only=True), ())]
                        for sheet in book.worksheets]
            finally:
                book.close()
        if suffix == ".parquet":
            con = duckdb.connect()
            try:
                return [[r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]]
            finally:
                con.close()
        encoding, _ = _text_encoding(path)
        if encoding is None:
            return []
        with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
            first = fh.readline()
        counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
        return [next(csv.reader(io.StringIO(first), delimiter=max(counts, key=counts.get)), [])]
    except Exception:  # a damaged file: the full read names the problem
        return []
