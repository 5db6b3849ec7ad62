"""Data values inside charts are shown as text: plotly reads <a>, <b>, <br> in labels, hover
texts and legends, so pages.charts escapes every data value a figure draws (``escaped``,
applied by ``themed`` to every figure a page shows), and chart clicks read them back."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from pages import charts
from pages.ui import _points

EVIL = '<a href="https://evil.example">x</a>'
BOLD = "<b>Big</b> & <br>co"


def _segments_frame() -> pd.DataFrame:
    return pd.DataFrame({"segment": [EVIL, EVIL, BOLD], "region": ["North", BOLD, "South"],
                         "revenue": [100.0, 50.0, 70.0], "customers": [3, 2, 1]})


def _figures() -> dict[str, go.Figure]:
    """Figures of the dashboard fed with hostile category values."""
    by_group = pd.DataFrame({"group": [EVIL, BOLD], "prospect": [10, 8], "engaged": [5, 4], "customer": [2, 1]})
    curves = pd.DataFrame({"group": [EVIL] * 2 + [BOLD] * 2, "time": [0, 30] * 2, "survival": [1.0, 0.8] * 2,
                           "lower": [1.0, 0.7] * 2, "upper": [1.0, 0.9] * 2, "at_risk": [10, 8] * 2})
    tickets = pd.DataFrame({"sla_class": ["immediate", "deferred"], "tickets": [3, 4],
                            "category": pd.Categorical([EVIL, BOLD], categories=[EVIL, BOLD])})
    grid = pd.DataFrame({"r_score": [1, 2], "f_score": [1, 1], "customers": [5, 6], "rfm_segment": [EVIL, BOLD]})
    return {
        "treemap": charts.revenue_treemap(_segments_frame(), "segment", "region", "revenue"),
        "breakdown": charts.breakdown_bars(by_group, "Segment", {"prospect": "Prospect", "engaged": "Engaged",
                                                                 "customer": "Customer"}),
        "survival": charts.survival_curves(curves, 180),
        "by_class": charts._by_class(tickets, "category", "Tickets by category", "Category", "Tickets"),
        "rfm": charts.rfm_heatmap(grid),
    }


def _data_strings(fig: go.Figure) -> list[str]:
    """Every string in the figure's traces and axes as plotly.js receives it."""
    spec = json.loads(fig.to_json())
    out: list[str] = []

    def walk(value):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
    walk(spec["data"])
    walk({k: v for k, v in spec["layout"].items() if k.startswith(("xaxis", "yaxis"))})
    return out


@pytest.mark.parametrize("name", list(_figures()))
def test_no_data_value_reaches_plotly_as_markup(name):
    fig = charts.themed(_figures()[name], dark=False)
    strings = _data_strings(fig)
    assert not [s for s in strings if EVIL in s or "<b>Big</b>" in s], name
    assert any("&lt;a href=" in s for s in strings), name  # the value is there, as text


def test_escaping_is_applied_once():
    fig = charts.themed(_figures()["treemap"], dark=False)
    charts.themed(fig, dark=True)
    assert "&lt;b&gt;Big&lt;/b&gt; &amp; &lt;br&gt;co" in fig.data[0].labels
    assert not [v for v in fig.data[0].labels if "&amp;lt;" in v]


def test_the_template_markup_stays():
    fig = charts.themed(_figures()["rfm"], dark=False)
    assert fig.data[0].texttemplate == "%{text}<br>%{z:,.0f}"
    assert fig.data[0].text[0][0] == "&lt;a href=\"https://evil.example\"&gt;x&lt;/a&gt;"


def test_chart_clicks_read_the_value_as_it_is_in_the_data():
    fig = charts.themed(_figures()["breakdown"], dark=False)
    clicked = {"selection": {"points": [{"customdata": list(fig.data[0].customdata[0]), "x": fig.data[0].x[0]}]}}
    assert _points(clicked) == [EVIL]
    clicked = {"selection": {"points": [{"label": fig.data[0].x[1]}]}}
    assert _points(clicked) == [BOLD]


def _drawn(browser, figures: dict[str, go.Figure]) -> dict[str, tuple[int, str]]:
    """name -> (number of <a> elements in the chart's SVG, its text) as Chromium draws each
    figure (one page, plotly.js loaded once)."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    divs = "".join(f'<div id="{name}">{pio.to_html(fig, include_plotlyjs=False, full_html=False)}</div>'
                   for name, fig in figures.items())
    page = browser.new_page(viewport={"width": 900, "height": 600})
    try:
        page.set_content(f"<html><head><script>{get_plotlyjs()}</script></head><body>{divs}</body></html>")
        out = {}
        for name in figures:
            page.wait_for_selector(f"#{name} .js-plotly-plot .main-svg", timeout=60_000)
            chart = page.locator(f"#{name} .js-plotly-plot")
            out[name] = (chart.locator("svg a").count(),
                         " ".join(chart.locator("svg text").all_text_contents()))
        return out
    finally:
        page.close()


def test_chromium_draws_the_values_as_text_and_no_link(browser):
    segments = _segments_frame()
    raw = go.Figure(go.Bar(x=segments.segment, y=segments.revenue, text=segments.region, textposition="outside"))
    drawn = _drawn(browser, {"raw": raw} | {name: charts.themed(fig, dark=False) for name, fig in _figures().items()})
    assert drawn.pop("raw")[0] >= 1  # plotly makes a link of the raw value: what the escaping prevents
    for name, (links, text) in drawn.items():
        assert links == 0, name
        if name in ("treemap", "breakdown", "by_class", "rfm"):
            assert EVIL in text, (name, text[:300])
