"""Build a demo database: a DuckDB file (atomically) or any SQLAlchemy URL."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine

from data.demo import DemoSpec, generate_demo
from data.load import write_frames
from data.schema import create_indexes, create_schema


@dataclass(frozen=True)
class BuildReport:
    target: str
    rows: dict[str, int]
    seconds: float
    bytes: int | None


def build_demo(target: str | os.PathLike, spec: DemoSpec) -> BuildReport:
    """Generate the demo CRM into ``target``: a DuckDB file path or a database URL.

    A file is written under a temporary name and renamed when complete, so a failed or
    interrupted build never leaves a half-filled database behind. A URL must point at an
    empty database; everything is loaded in one transaction.
    """
    started = time.perf_counter()
    target = str(target)
    if "://" in target:
        engine = create_engine(target)
        with engine.begin() as conn:
            create_schema(conn)
            rows = write_frames(conn, generate_demo(spec))
            create_indexes(conn)
        engine.dispose()
        return BuildReport(target, rows, time.perf_counter() - started, None)

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    for leftover in (tmp, Path(str(tmp) + ".wal")):
        leftover.unlink(missing_ok=True)
    # One transaction per chunk keeps memory flat; atomicity comes from the rename.
    engine = create_engine(f"duckdb:///{tmp}", connect_args={"config": {
        "memory_limit": "4GB", "preserve_insertion_order": False}})
    rows: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            create_schema(conn)
        for chunk in generate_demo(spec):
            with engine.begin() as conn:
                for name, count in write_frames(conn, [chunk]).items():
                    rows[name] = rows.get(name, 0) + count
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
    finally:
        engine.dispose()
    os.replace(tmp, path)
    return BuildReport(str(path), rows, time.perf_counter() - started, path.stat().st_size)
