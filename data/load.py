"""Write generated or imported frames into a database that has the schema."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from data.schema import metadata


def public_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's columns in schema order (helper columns starting with '_' dropped)."""
    return frame[[c.name for c in metadata.tables[name].columns]]


def write_frames(conn: Connection, chunks: Iterable[dict[str, pd.DataFrame]]) -> dict[str, int]:
    """Append every chunk to its tables inside the caller's transaction; row counts per table."""
    counts: dict[str, int] = {}
    for chunk in chunks:
        for name, frame in chunk.items():
            frame = public_columns(name, frame)
            if frame.empty:
                continue
            if conn.dialect.name == "duckdb":
                _duckdb_append(conn, name, frame)
            else:
                conn.execute(metadata.tables[name].insert(), _records(frame))
            counts[name] = counts.get(name, 0) + len(frame)
    return counts


def _duckdb_append(conn: Connection, name: str, frame: pd.DataFrame) -> None:
    """Columnar insert through DuckDB's own connection (no per-row Python)."""
    raw = conn.connection.driver_connection
    columns = ", ".join(frame.columns)
    raw.register("_frame", frame)
    try:
        raw.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM _frame")
    finally:
        raw.unregister("_frame")


def _records(frame: pd.DataFrame) -> list[dict]:
    """Plain Python values for DBAPI drivers: None for every kind of missing value."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        missing = series.isna().to_numpy()
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            values = list(series.dt.to_pydatetime())
        else:
            values = [v.item() if isinstance(v, np.generic) else v for v in series.astype(object)]
        columns[name] = [None if m else v for v, m in zip(values, missing)]
    return [dict(zip(columns, row)) for row in zip(*columns.values())]
