"""What the pages' shared helpers show in each language: chart numbers and money (pages/charts.py),
coded values in tables (pages/labels.py), p-values in words (pages/ui.py)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

import i18n
from pages import charts, labels


@pytest.fixture
def spanish():
    token = i18n._language.set("es")
    yield
    i18n._language.reset(token)


def _money_figure() -> go.Figure:
    fig = go.Figure(go.Bar(x=["a"], y=[1234.5], hovertemplate="%{x}: €%{y:,.0f} of €%{customdata[0]:,.0f}"))
    fig.update_yaxes(tickprefix="€")
    return fig


def test_charts_in_english_keep_the_sign_before_the_amount():
    fig = charts.themed(_money_figure(), dark=False, symbol="US$")
    assert fig.layout.separators == ".,"
    assert fig.layout.yaxis.tickprefix == "US$" and fig.layout.yaxis.ticksuffix in (None, "")
    assert fig.data[0].hovertemplate == "%{x}: US$%{y:,.0f} of US$%{customdata[0]:,.0f}"


def test_charts_in_spanish_put_the_sign_after_and_swap_the_separators(spanish):
    fig = charts.themed(_money_figure(), dark=False, symbol="€")
    assert fig.layout.separators == ",."                  # 1.234,5: decimal comma, thousands point
    assert fig.layout.yaxis.tickprefix in (None, "") and fig.layout.yaxis.ticksuffix == " €"
    assert fig.data[0].hovertemplate == "%{x}: %{y:,.0f} € of %{customdata[0]:,.0f} €"


def test_charts_without_money_are_left_alone(spanish):
    fig = go.Figure(go.Bar(x=["a"], y=[0.5], hovertemplate="%{x}: %{y:.1%}"))
    fig.update_yaxes(tickformat=".0%")
    charts.themed(fig, dark=False, symbol="€")
    assert fig.data[0].hovertemplate == "%{x}: %{y:.1%}" and fig.layout.yaxis.ticksuffix is None


def test_chart_words_follow_the_language(spanish):
    table = pd.DataFrame({"stage": ["prospect", "attracted"], "label": ["Prospecto", "Atraído"],
                          "customers": [2000, 1234], "cumulative_conversion": [float("nan"), 0.617]})
    fig = charts.funnel_stages(table)
    assert list(fig.data[0].text) == ["2.000", "1.234 (61,7 %)"]
    assert fig.layout.title.text == "Clientes por etapa (% de los prospectos)"
    mix = charts.channel_mix(pd.DataFrame({"channel": ["phone", "in_person"], "share": [0.8, 0.2]}), 0.15)
    assert list(mix.layout.xaxis.ticktext) == ["teléfono", "presencial"]
    assert list(mix.data[0].customdata[:, 0]) == ["phone", "in_person"]   # a click still filters by the code


@pytest.mark.parametrize("value, english, spanish_text", [
    ("in_person", "in person", "presencial"), ("breached", "breached", "incumplido"),
    ("back_office", "back office", "back office"), ("won", "won", "ganada"), ("North", "North", "North"),
])
def test_coded_values_read_as_words(value, english, spanish_text):
    assert labels.value_label(value) == english
    token = i18n._language.set("es")
    try:
        assert labels.value_label(value) == spanish_text
    finally:
        i18n._language.reset(token)


def test_readable_tables_show_words_and_empty_cells(spanish):
    frame = pd.DataFrame({"ticket_id": [1, 2], "sla_status": ["breached", None], "channel": ["in_person", "email"],
                          "name": ["Ana", None]})
    shown = labels.readable(frame)
    assert list(shown.sla_status) == ["incumplido", ""]
    assert list(shown.channel) == ["presencial", "correo electrónico"]
    assert list(shown.name) == ["Ana", ""]
    assert frame.sla_status[0] == "breached"                   # the data keeps its codes


def test_money_columns_are_formatted_by_locale(spanish):
    frame = pd.DataFrame({"amount": [1234567.0, None], "orders": [3, 4]})
    styled = labels.styled(frame, lambda v: i18n.money(v, "EUR"))
    html = styled.to_html()
    assert "1.234.567 €" in html
    assert labels.column_config(frame)["amount"]["type_config"].get("format") is None  # the Styler's text shows


@pytest.mark.parametrize("p, english, spanish_text", [
    (0.0001, "yes: fewer than 1 in 1,000 by chance", "sí: menos de 1 entre 1.000 por azar"),
    (0.02, "yes: about 1 in 50 by chance", "sí: alrededor de 1 entre 50 por azar"),
    (0.23, "not shown: 23 % chance it is noise", "no demostrada: 23 % de probabilidad de que sea ruido"),
    (None, "—", "—"),
])
def test_p_values_in_words(p, english, spanish_text):
    from pages import ui

    assert ui.chance(p) == english
    token = i18n._language.set("es")
    try:
        assert ui.chance(p) == spanish_text
    finally:
        i18n._language.reset(token)


def test_date_axes_name_the_months_in_the_page_language():
    """plotly.js knows only English month names: date axes get Babel's (tests/test_month_axis.py)."""
    import plotly.graph_objects as go

    import i18n
    from pages import charts

    def figure():
        return go.Figure(go.Scatter(x=pd.to_datetime(["2026-01-01", "2026-02-01"]), y=[1, 2]))

    with i18n.using("es"):
        assert list(charts.localised(figure()).layout.xaxis.ticktext) == ["ene<br>2026", "feb"]
    with i18n.using("en"):
        assert list(charts.localised(figure()).layout.xaxis.ticktext) == ["Jan<br>2026", "Feb"]
    with i18n.using("es"):   # categories are not dates
        bars = charts.localised(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])))
        assert bars.layout.xaxis.tickformat is None and bars.layout.xaxis.ticktext is None


def test_the_chart_toolbar_speaks_the_page_s_language():
    """plotly.js's toolbar tips come from plotly.js-locales (i18n/plotly/es.json), given with each chart."""
    from pages import ui

    with i18n.using("es"):
        config = ui.chart_config()
    assert config["locale"] == "es" and config["displaylogo"] is False
    assert config["locales"]["es"]["dictionary"]["Download plot as a PNG"] == "Descargar gráfica como PNG"
    with i18n.using("en"):
        assert ui.chart_config() == {"displaylogo": False}     # plotly's own language
