"""The records dialog (drill-down) in AppTest: typed columns, and an empty cell reads "—",
never "None" (Streamlit's default for a missing value)."""

from __future__ import annotations

import pandas as pd

from pages import labels
from tests.rendered import developer_vocabulary, texts
from tests.test_pages import _check, app  # noqa: F401 — the page fixture


def _open(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_breach_list_dialog_shows_no_none(app):  # noqa: F811
    at = app("service")
    before = len(at.dataframe)
    _open(at, "Open the breach list")
    _check(at, "Service & SLA")
    assert len(at.dataframe) == before + 1       # the dialog's table, drawn after the page's
    table = at.dataframe[-1]
    frame = table.value
    assert frame.isna().to_numpy().any()          # there are empty cells to draw (e.g. not resolved yet)
    assert table.proto.placeholder == labels.EMPTY
    config = table.proto.columns
    assert '"YYYY-MM-DD HH:mm"' in config          # dates keep their format
    assert "cell: None" not in texts(at) and developer_vocabulary(at) == []
