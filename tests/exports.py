"""Test helpers: a demo database written out in the file shapes that CRMs export."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from data import schema
from data.imports.convert import kind_of


def frames(demo_path: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(demo_path), read_only=True)
    try:
        return {t.name: con.execute(f"SELECT * FROM {t.name}").df() for t in schema.TABLES}
    finally:
        con.close()


def crm_csv(demo_path: Path, folder: Path) -> Path:
    """One UTF-8 CSV per table, as DuckDB writes them (ISO timestamps, decimal point)."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(demo_path), read_only=True)
    try:
        for table in schema.TABLES:
            con.execute(f"COPY {table.name} TO '{folder / (table.name + '.csv')}' (HEADER)")
    finally:
        con.close()
    return folder


def _spanish(frame: pd.DataFrame, table) -> pd.DataFrame:
    out = frame.copy()
    for column in table.columns:
        kind, series = kind_of(column), out[column.name]
        if kind == "timestamp":
            out[column.name] = series.dt.strftime("%d/%m/%Y %H:%M:%S")
        elif kind == "number":
            out[column.name] = series.map(lambda v: "" if pd.isna(v) else f"{v:.2f}".replace(".", ","))
        elif kind == "boolean":
            out[column.name] = series.map(lambda v: "" if pd.isna(v) else ("sí" if v else "no"))
    return out


def spanish_excel_csv(demo_path: Path, folder: Path) -> Path:
    """What Excel in Spanish saves as CSV: ';', decimal comma, dd/mm/yyyy, sí/no, Windows-1252."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames(demo_path).items():
        _spanish(frame, schema.table(name)).to_csv(folder / f"{name}.csv", sep=";", index=False,
                                                  encoding="cp1252")
    return folder


def crm_xlsx(demo_path: Path, path: Path) -> Path:
    """One workbook, one sheet per table; timestamps as Excel dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in frames(demo_path).items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path
