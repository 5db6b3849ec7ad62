"""Chart labels that must stay inside their box and be drawn at all: RFM cell names on two
lines, deal counts of the pipeline bars inside a long bar rather than cut at the chart's
edge, counts of an empty funnel stage, the odds ratios' axis title on a phone."""

from __future__ import annotations

import pandas as pd

from i18n import using
from pages import charts


def test_rfm_cell_names_on_two_lines_in_each_language():
    grid = pd.DataFrame({"r_score": [1, 2, 3], "f_score": [5, 5, 5], "customers": [3, 14, 8],
                         "rfm_segment": ["Cannot lose them", "Potential loyalists", "Lost"]})
    fig = charts.themed(charts.rfm_heatmap(grid), dark=False)
    trace = fig.data[0]
    # the whole name, on lines of at most 10 characters (a heatmap's texttemplate cannot show
    # customdata: a second line put there was drawn as "-" in Chromium)
    assert trace.texttemplate == "%{text}<br>%{z:,.0f}"
    assert [list(row) for row in trace.text] == [["Cannot<br>lose them", "Potential<br>loyalists", "Lost"]]
    with using("es"):
        spanish = charts.rfm_heatmap(grid).data[0]
    lines = [line for row in spanish.text for t in row for line in t.split("<br>")]
    assert " ".join(lines).startswith("No podemos perderlos") and all(len(line) <= 12 for line in lines), lines


def test_pipeline_deal_counts_never_outside_the_chart():
    """A count is written inside a bar from 40 % of the longest on, beside a shorter one, where
    the axis (to 130 % of the longest) leaves 69 % of the plot for it: a bar at 93 % of the
    longest had put "35 oportunidades" beside itself on a phone, cut at the chart's edge."""
    frame = pd.DataFrame({"group": ["0-30 days", "31-60 days", "61-90 days", "91-180 days"],
                          "amount": [300_000.0, 280_000.0, 120_000.0, 20_000.0], "deals": [38, 35, 16, 2]})
    with using("es"):
        fig = charts.pipeline_bars(frame, "Cartera abierta por antigüedad", "Días", "€")
    assert list(fig.data[0].textposition) == ["inside", "inside", "inside", "outside"]
    assert list(fig.data[0].text) == ["38 oportunidades", "35 oportunidades", "16 oportunidades", "2 oportunidades"]
    assert list(fig.layout.xaxis.range) == [0, 390_000.0]
    assert fig.data[0].cliponaxis is False


def test_an_empty_funnel_stage_still_writes_its_count():
    """A stage narrower than a quarter of the widest writes its count beside its bar: an empty
    "lifetime" stage drew no bar and so no "0" (the other stages inside their bars)."""
    table = pd.DataFrame({"stage": ["prospect", "attracted", "acquired", "retained", "lifetime"],
                          "label": ["Prospect", "Attracted", "Acquired", "Retained", "Lifetime customer"],
                          "customers": [1877, 986, 392, 171, 0],
                          "cumulative_conversion": [1.0, 0.525, 0.209, 0.091, 0.0]})
    trace = charts.funnel_stages(table).data[0]
    assert list(trace.textposition) == ["inside", "inside", "outside", "outside", "outside"]
    assert trace.text[-1] == "0 (0.0 %)" and trace.text[2] == "392 (20.9 %)"


def test_a_conversion_too_short_for_its_label_is_written_above_its_bar():
    rows = pd.DataFrame({"stage": ["prospect", "attracted", "lifetime"], "label": ["Prospect", "Attracted", "Lifetime"],
                         "step_conversion": [float("nan"), 0.525, 0.0], "step_low": [float("nan"), 0.5, 0.0],
                         "step_high": [float("nan"), 0.55, 0.02]})
    trace = charts.conversion_bars(rows).data[0]
    assert list(trace.textposition) == ["inside", "outside"] and list(trace.text) == ["52.5 %", "0.0 %"]
    assert trace.insidetextfont.color == "white" and trace.textfont.color is None   # beside: the theme's colour
    assert trace.cliponaxis is False


def test_a_response_rate_without_contacts_reads_n_a():
    """No generic contacts: no rate, written "n/a" above the axis (it was drawn inside a bar
    that did not exist, so not at all); a short rate above its bar."""
    trace = charts.response_bars((0.2, 0.15, 0.25), (None, 0.0, 0.0)).data[0]
    assert list(trace.text) == ["20.0 %", "n/a"] and list(trace.textposition) == ["inside", "outside"]
    assert list(trace.y) == [0.2, 0.0] and trace.hovertemplate == "%{x}: %{text}<extra></extra>"
    trace = charts.response_bars((0.2, 0.15, 0.25), (0.01, 0.0, 0.03)).data[0]
    assert list(trace.textposition) == ["inside", "outside"]


def test_odds_ratio_axis_title_fits_under_a_narrow_plot():
    """Long driver names leave the plot narrow on a phone, and the axis title is centred under
    it: a short title (at most 23 characters a line once wrapped), the line at 1 named."""
    table = pd.DataFrame({"label": ["Recency", "SLA breaches"], "odds_ratio": [1.33, 1.6],
                          "ci_low": [1.24, 0.98], "ci_high": [1.43, 2.5]})
    for lang, no_effect in (("en", "no effect"), ("es", "sin efecto")):
        with using(lang):
            fig = charts.fitted(charts.odds_ratio_forest(table))
        lines = fig.layout.xaxis.title.text.split("<br>")
        assert max(len(line) for line in lines) <= 23, lines
        assert [a.text for a in fig.layout.annotations] == [no_effect]
        note = fig.layout.annotations[0]     # on the line at 1: a log axis places it at log10(1)
        assert (note.x, note.xref, note.yref) == (0, "x", "paper")


def test_campaign_roi_break_even_is_not_hidden_by_the_zero_line():
    frame = pd.DataFrame({"name": ["Spring", "Summer"], "roi": [0.4, -0.2], "campaign_id": ["c1", "c2"],
                          "cost": [100.0, 100.0], "margin": [140.0, 80.0]})
    fig = charts.campaign_roi(frame)
    assert fig.layout.yaxis.zeroline is False
    assert [s.y0 for s in fig.layout.shapes] == [0.0] and fig.layout.shapes[0].line.dash == "dash"


def test_every_figure_has_the_dashboard_s_template_in_light_and_dark():
    """The palette, fonts and backgrounds come from one template merged once (plotly merges a
    'plotly_white+crm' name again for every figure)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    import streamlit  # noqa: F401  (registers its own template)

    pio.templates.default = "streamlit"     # as importing Streamlit after pages.charts leaves it
    light = charts.themed(go.Figure(), dark=False).layout.template.layout
    assert "+" not in pio.templates.default and pio.templates.default == charts.LIGHT
    assert list(light.colorway) == charts.PALETTE and light.plot_bgcolor == "white"
    assert light.font.family.startswith("Source Sans Pro")
    dark = charts.themed(go.Figure(), dark=True).layout.template.layout
    assert list(dark.colorway) == charts.PALETTE and dark.plot_bgcolor == "#0E1117"
    assert dark.font.color == "#FAFAFA"


def test_forecast_hover_names_the_month_in_the_pages_language():
    from types import SimpleNamespace

    months = pd.date_range("2026-06-01", periods=3, freq="MS")
    ahead = pd.date_range("2026-09-01", periods=2, freq="MS")
    result = SimpleNamespace(
        history=pd.Series([877.0, 900.0, 910.0], index=months), unfinished=pd.Series(dtype=float),
        predictions=pd.DataFrame({"period": ahead, "mean": [920.0, 930.0], "upper_95": [990.0, 1000.0],
                                  "lower_95": [850.0, 860.0], "upper_80": [960.0, 970.0], "lower_80": [880.0, 890.0]}))
    with using("es"):
        fig = charts.themed(charts.forecast_chart(result, "Ingresos", "€", money=True), dark=False, symbol="€")
    actual, forecast = fig.data[0], fig.data[-1]
    # plotly would write "Jun 1, 2026": the month comes from Babel, the amount in the page's money format
    assert list(actual.customdata) == ["jun 2026", "jul 2026", "ago 2026"]
    assert actual.hovertemplate == "%{customdata}: %{y:,.0f} €<extra>Real</extra>"
    assert list(forecast.customdata) == ["ago 2026", "sept 2026", "oct 2026"]
    assert forecast.hovertemplate.endswith("<extra>Previsión</extra>")


def test_every_number_axis_groups_its_thousands_in_the_page_s_language():
    import plotly.graph_objects as go

    counts = go.Figure(go.Bar(x=["< 1 min", "1-3 min"], y=[12_000, 3_400]))
    months = go.Figure(go.Scatter(x=pd.date_range("2026-01-01", periods=3, freq="MS"), y=[1.5, 2.0, 2.5]))
    with using("es"):
        counts, months = charts.themed(counts, dark=False), charts.themed(months, dark=False)
    # 12.000 on every axis (plotly's default wrote 12k here and 1500 there); 0,5 kept
    assert counts.layout.yaxis.tickformat == ",~f" and counts.layout.separators == ",."
    assert counts.layout.xaxis.tickformat is None       # categories are names, not numbers
    assert months.layout.yaxis.tickformat == ",~f"
    assert months.layout.xaxis.tickmode == "array" and months.layout.xaxis.tickformat is None   # month names
    shares = charts.themed(charts.channel_mix(pd.DataFrame({"channel": ["phone"], "share": [0.4]}), 0.1), dark=False)
    assert shares.layout.yaxis.tickformat == ".0%"      # a format set by the chart is kept


def test_a_target_over_labelled_bars_or_points_is_named_in_the_legend():
    frame = pd.DataFrame({"channel": ["phone", "web", "in_person"], "share": [0.36, 0.14, 0.08]})
    with using("es"):
        fig = charts.channel_mix(frame, 0.10)
    (line,) = fig.layout.shapes
    assert (line.y0, line.y1, line.showlegend, line.name) == (0.10, 0.10, True, "presencial ≤ 10 %")
    assert not fig.layout.annotations and fig.data[0].showlegend is False   # no label drawn over the bars
    assert list(fig.data[0].text) == ["36 %", "14 %", "8 %"] and fig.data[0].textposition == "auto"
    dots = charts.win_rate_dots(pd.DataFrame({"group": ["direct"], "win_rate": [0.3], "low": [0.2], "high": [0.4],
                                              "won": [3], "closed": [10]}), "Win rate", "Source", target=0.25)
    (line,) = dots.layout.shapes
    assert (line.x0, line.x1, line.name) == (0.25, 0.25, "target 25 %") and not dots.layout.annotations


def test_alive_value_map_counts_every_customer_and_names_its_scale_in_the_page_s_language():
    """The Customer value map: one heatmap cell per P(alive) x CLV bin, blank where no
    customer is, coloured by the log of the count, its bar labelled with counts (1.000 in
    Spanish), each cell's hover giving its bounds and its customers."""
    import numpy as np

    from metrics.clv import alive_value_grid

    values = pd.DataFrame({"p_alive": [1.0] * 1200 + [0.42, 0.07], "clv": [50.0] * 1200 + [10.0, 1000.0]})
    with using("es"):
        fig = charts.alive_value_map(alive_value_grid(values, value_bins=2))
    trace = fig.data[0]
    counts = np.asarray(trace.customdata)[:, :, 4]
    assert counts.sum() == len(values) and counts.shape == (2, 20)
    assert np.isnan(np.asarray(trace.z, dtype=float)[counts == 0]).all()          # empty cells left blank
    assert np.asarray(trace.z, dtype=float)[0, 19] == np.log10(1200)             # the column at 100 %
    assert list(trace.colorbar.ticktext) == ["1", "10", "100", "1.000", "10.000"]
    assert trace.colorbar.title.text == "Clientes" and "clientes" in trace.hovertemplate
    assert fig.layout.yaxis.type == "log" and trace.type == "heatmap"
