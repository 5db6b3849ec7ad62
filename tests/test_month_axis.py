"""Month axes name their months in the page's language (Babel): "ene" over "2026" in Spanish,
"Jan" over "2026" in English — plotly.js itself knows only English month names."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import plotly.graph_objects as go

from i18n import using
from pages import charts


def _months(start: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"period": pd.date_range(start, periods=n, freq="MS"), "value": range(n)})


def _ticks(fig: go.Figure, axis: str = "xaxis") -> list[str]:
    layout = fig.layout[axis]
    assert layout.tickmode == "array" and layout.tickformat is None
    assert len(layout.tickvals) == len(layout.ticktext)
    return list(layout.ticktext)


def test_spanish_monthly_line_names_months_in_spanish():
    with using("es"):
        fig = charts.monthly_line(_months("2026-01-01", 6), "period", "value", "Ingresos", "€")
        fig = charts.themed(fig, dark=False)
    assert _ticks(fig) == ["ene<br>2026", "feb", "mar", "abr", "may", "jun"]


def test_english_monthly_line_names_months_in_english():
    with using("en"):
        fig = charts.themed(charts.monthly_line(_months("2025-11-01", 3), "period", "value", "Revenue", "€"), False)
    assert _ticks(fig) == ["Nov<br>2025", "Dec", "Jan<br>2026"]   # the year at the first tick and each new year


def test_long_range_keeps_few_ticks_at_a_regular_step():
    # 17 months (Jun 2025 - Oct 2026): every 3rd month, 6 ticks
    with using("es"):
        fig = charts.monthly_line(_months("2025-06-01", 17), "period", "value", "t", "y", kind="bar")
    assert _ticks(fig) == ["jun<br>2025", "sept", "dic", "mar<br>2026", "jun", "sept"]
    assert [pd.Timestamp(t).month for t in fig.layout.xaxis.tickvals] == [6, 9, 12, 3, 6, 9]


def test_short_range_gets_day_ticks():
    days = pd.DataFrame({"period": pd.date_range("2026-03-02", periods=4, freq="7D"), "compliance": 0.9,
                         "sla_class": "immediate"})
    with using("es"):
        fig = charts.compliance_over_time(days, 0.9)
    # 21 days: a tick every 7 days, day and month in Spanish
    assert _ticks(fig) == ["2 mar", "9 mar", "16 mar", "23 mar"]


def test_a_long_range_of_sla_compliance_is_drawn_month_by_month():
    months = pd.DataFrame({"period": pd.date_range("2025-06-01", periods=17, freq="MS"), "compliance": 0.9,
                           "sla_class": "deferred"})
    with using("es"):
        fig = charts.compliance_over_time(months, 0.9, "month")
    assert fig.layout.title.text.startswith("Cumplimiento del SLA por tipo de solución, mes a mes")
    assert fig.layout.xaxis.title.text == "Mes de apertura"
    assert _ticks(fig)[0] == "jun<br>2025"


def test_forecast_and_close_month_charts_in_spanish():
    history = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2026-01-01", periods=3, freq="MS"))
    predictions = pd.DataFrame({"period": pd.date_range("2026-04-01", periods=2, freq="MS"), "mean": [3.0, 3.5],
                                "lower_80": 2.0, "upper_80": 4.0, "lower_95": 1.0, "upper_95": 5.0})
    result = SimpleNamespace(history=history, predictions=predictions, unfinished=None)
    closes = pd.DataFrame({"month": pd.date_range("2026-07-01", periods=4, freq="MS"), "amount": 10.0,
                           "weighted": 5.0})
    with using("es"):
        forecast = charts.themed(charts.forecast_chart(result, "Ingresos", "€"), False)
        close = charts.themed(charts.close_forecast_bars(closes), False)
    assert _ticks(forecast) == ["ene<br>2026", "feb", "mar", "abr", "may"]
    assert _ticks(close) == ["jul<br>2026", "ago", "sept", "oct"]


def test_any_date_axis_left_without_format_gets_babel_months():
    fig = go.Figure(go.Scatter(x=pd.date_range("2026-01-01", periods=3, freq="MS"), y=[1, 2, 3]))
    with using("es"):
        charts.themed(fig, dark=False)
    assert _ticks(fig) == ["ene<br>2026", "feb", "mar"]
