"""What a person reads on a page run by AppTest: every text, label, help, option and table header."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pandas as pd

from data.schema import metadata

#: Schema column names a person should never read: every column of every table. Names with an
#: underscore are looked for anywhere in the text; one-word names (``segment``, ``status``) only
#: as a whole table header in lower case (in a sentence they are plain words).
COLUMNS = sorted({c.name for t in metadata.tables.values() for c in t.columns})
RAW_IN_TEXT = re.compile(r"\b(" + "|".join(re.escape(c) for c in COLUMNS if "_" in c) + r")\b")
#: ... and numbers as pandas writes them by default (7186.193077: six decimals, no separators).
DEVELOPER_WORDS = re.compile(r"\bNone\b|\b[Ss]eed\b|\bnan\b|\bNaN\b|^cell: -?\d+\.\d{6}$")
TEXT_FIELDS = ("value", "label", "help", "body", "placeholder", "caption")


def _nodes(node) -> Iterator:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _nodes(child)


def _headers(node) -> list[str]:
    """The headers a dataframe shows: column_config labels over the frame's column names."""
    value = node.value
    if not isinstance(value, pd.DataFrame):
        return []
    config = {}
    try:
        config = json.loads(node.proto.columns or "{}")
    except (AttributeError, ValueError):
        pass
    headers = []
    for name in value.columns:
        spec = config.get(f"name:{name}") or config.get(str(name)) or {}
        if spec.get("hidden"):
            continue
        headers.append(str(spec.get("label") or name))
    return headers


def _styled_cells(node) -> list[str]:
    """The text a pandas Styler gives the cells (its display values), when the table is styled."""
    arrow = getattr(node.proto, "arrow_data", None)
    styler = getattr(arrow, "styler", None) if arrow is not None else None
    data = getattr(styler, "display_values", b"") if styler is not None else b""
    if not data:
        return []
    import pyarrow as pa

    shown = pa.ipc.open_stream(data).read_all().to_pandas()
    try:
        config = json.loads(node.proto.columns or "{}")
    except ValueError:
        config = {}

    def formatted(name) -> bool:  # a column_config format is drawn instead of the Styler's text
        spec = config.get(f"name:{name}") or config.get(str(name)) or {}
        return bool((spec.get("type_config") or {}).get("format"))

    return [str(v) for column in shown.columns if not formatted(column)
            for v in shown[column].dropna().unique()[:200] if isinstance(v, str)]


def texts(at) -> list[str]:
    """Every string a person can read on the page (tables: headers and cell text)."""
    out: list[str] = []
    for node in _nodes(at._tree):
        kind = type(node).__name__
        if kind == "Dataframe":
            out.extend(f"header: {h}" for h in _headers(node))
            frame = node.value
            if isinstance(frame, pd.DataFrame):
                # Streamlit draws a missing value as "None" unless the table sets a placeholder
                if not getattr(node.proto, "placeholder", "") and bool(frame.isna().to_numpy().any()):
                    out.append("cell: None")
                out.extend(f"cell: {v}" for v in _styled_cells(node))
                for column in frame.columns:
                    if frame[column].dtype == object:
                        out.extend(f"cell: {v}" for v in frame[column].dropna().astype(str).unique()[:200])
            continue
        for field in TEXT_FIELDS:
            try:
                value = getattr(node, field, None)
            except Exception:  # some elements compute their value lazily from widget state
                continue
            if isinstance(value, str) and value:
                out.append(value)
        options = getattr(node, "options", None)
        if isinstance(options, (list, tuple)):
            out.extend(str(o) for o in options)
    return out


def developer_vocabulary(at) -> list[str]:
    """Raw schema column names, "None", "nan" or "seed" in the rendered page."""
    bad = []
    for text in texts(at):
        if RAW_IN_TEXT.search(text) or DEVELOPER_WORDS.search(text):
            bad.append(text[:160])
        elif text.startswith("header: ") and text[8:] in COLUMNS:
            bad.append(text)
    return sorted(set(bad))
