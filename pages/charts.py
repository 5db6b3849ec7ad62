"""Plotly figures of the dashboard: one template, a colour-blind-safe palette (Okabe-Ito),
labelled axes with units, targets drawn as reference lines. Pure functions: frames in,
figures out (no Streamlit), so they can be tested and reused in exports.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

import re

from i18n import N_, _, language, month, month_abbreviation, ngettext, number, percent, short_day

# Okabe & Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY, YELLOW, BLACK = PALETTE
GREY = "#8C8C8C"
STATUS_COLOURS = {"on target": GREEN, "near target": ORANGE, "off target": VERMILION, "no data": GREY}

pio.templates["crm"] = go.layout.Template(
    layout=go.Layout(
        colorway=PALETTE,
        font=dict(family="Source Sans Pro, Arial, sans-serif", size=13, color="#262730"),
        title=dict(font=dict(size=16), x=0, xanchor="left", y=0.98, yanchor="top"),
        margin=dict(l=10, r=10, t=80, b=10),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=dict(gridcolor="#EEEEEE", zerolinecolor="#CCCCCC", automargin=True),
        yaxis=dict(gridcolor="#EEEEEE", zerolinecolor="#CCCCCC", automargin=True),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0, title=None),
        hoverlabel=dict(font_size=12),
    )
)
pio.templates["crm_dark"] = go.layout.Template(pio.templates["crm"])
pio.templates["crm_dark"].layout.update(
    font=dict(color="#FAFAFA"), paper_bgcolor="#0E1117", plot_bgcolor="#0E1117",
    xaxis=dict(gridcolor="#31333F", zerolinecolor="#4A4C5A"), yaxis=dict(gridcolor="#31333F", zerolinecolor="#4A4C5A"),
)
# merged once here: plotly merges a "a+b" template name again for every figure (35 ms each,
# half a second for the Overview's charts)
LIGHT, DARK = "crm_light_merged", "crm_dark_merged"
pio.templates[LIGHT] = pio.templates.merge_templates("plotly_white", "crm")
pio.templates[DARK] = pio.templates.merge_templates("plotly_dark", "crm_dark")
pio.templates.default = LIGHT


def _wrapped(text: str | None, width: int) -> str | None:
    """``text`` broken onto lines of at most ``width`` characters (plotly's <br>)."""
    if not text or len(text) <= width or "<br>" in text:
        return text
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


#: Rough sizes in pixels, to keep a chart's plot area as tall as its titles need.
TITLE_LINE, LEGEND_ROW, AXIS_CHAR, X_AXIS_ROOM = 22, 24, 8.5, 70


def fitted(fig: go.Figure, title_chars: int = 36, axis_chars: int = 28) -> go.Figure:
    """Titles and legend laid out so that no language and no window width cuts or overlaps them.

    Long chart and axis titles are wrapped (36 characters of a 16 px title fit a 390 px wide
    phone); the title sits above the plot, the top margin grown to fit it; a legend left in the
    template's place goes below the chart, where plotly reserves the room its rows take (above
    the plot, a legend wrapped onto several rows on a phone ran into the title). The figure
    grows by what the wrapped title and the legend take, and so that the plot is at least as
    tall as its y axis title (a taller title ran up into the chart's title).
    """
    title = fig.layout.title.text if fig.layout.title else None
    legend_moved = fig.layout.legend is None or fig.layout.legend.y is None
    if legend_moved:
        fig.update_layout(legend=dict(yref="container", y=0, yanchor="bottom", x=0, xanchor="left"))
    shown = [t for t in fig.data if getattr(t, "showlegend", None) is not False and getattr(t, "name", None)]
    legend_rows = 2 if legend_moved and fig.layout.showlegend is not False and (
        len(shown) > 1 or fig.layout.showlegend is True) else 0
    title_lines = 0
    if title:
        on_top = not legend_moved and fig.layout.legend.y >= 1 and fig.layout.showlegend is not False
        text = _wrapped(title, title_chars)
        title_lines = text.count("<br>") + 1
        fig.update_layout(title=dict(text=text, yref="paper", y=1, yanchor="bottom",
                                     automargin=True, pad=dict(b=52 if on_top else 36)))
    y_title = 0.0
    for name in [n for n in fig.layout if n.startswith(("xaxis", "yaxis"))]:
        axis = fig.layout[name]
        if axis.title and axis.title.text:
            # a y title runs up the plot, which is short on a phone: shorter lines
            axis.title.text = _wrapped(axis.title.text, axis_chars if name.startswith("x") else 20)
            if name.startswith("y"):
                y_title = max([y_title] + [len(line) * AXIS_CHAR for line in axis.title.text.split("<br>")])
    height = fig.layout.height
    if height and not any(t.type == "scatterpolar" for t in fig.data):  # cartesian charts of a set height
        grown = height + TITLE_LINE * max(title_lines - 1, 0) + LEGEND_ROW * legend_rows
        plot = grown - TITLE_LINE * title_lines - 40 - X_AXIS_ROOM - LEGEND_ROW * legend_rows
        fig.update_layout(height=int(grown + max(y_title - plot, 0)))
    return fig


#: Trace properties that carry data values plotly draws as text (labels, hover, legend);
#: plotly reads <a>, <b>, <br>, <span style> in them, so each string in them is HTML-escaped.
ESCAPED_TRACE_PROPERTIES = ("x", "y", "theta", "text", "hovertext", "labels", "ids", "parents", "customdata",
                            "name")
#: Axis properties that repeat data values (the order of categories, their tick labels).
ESCAPED_AXIS_PROPERTIES = ("categoryarray", "ticktext")


def _escape_values(value):
    """``value`` with every string in it HTML-escaped (lists, tuples and arrays, at any depth)."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OUS":
            return np.vectorize(_escape_values, otypes=[object])(value) if value.size else value
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_escape_values(v) for v in value)
    return value


def escaped(fig: go.Figure) -> go.Figure:
    """The figure with every data value it draws shown as text, never as markup: a segment
    called ``<a href="...">x</a>`` reads as typed. Applied once per figure (by ``themed``);
    chart clicks read the values back with ``html.unescape``. The figure's own markup
    (templates, titles, annotations) is left as it is."""
    if getattr(fig, "_crm_escaped", False):
        return fig
    for trace in fig.data:
        for name in ESCAPED_TRACE_PROPERTIES:
            if name in trace and trace[name] is not None:
                trace[name] = _escape_values(trace[name])
    for name in [n for n in fig.layout if n.startswith(("xaxis", "yaxis"))]:
        axis = fig.layout[name]
        for prop in ESCAPED_AXIS_PROPERTIES:
            if axis[prop] is not None:
                axis[prop] = _escape_values(axis[prop])
    fig._crm_escaped = True
    return fig



#: Decimal and thousands separators of plotly's number formats, per language (1,234.5 / 1.234,5).
SEPARATORS = {"en": ".,", "es": ",."}
#: The tick format of a number axis that sets none: thousands grouped, decimals as needed.
NUMBER_TICKS = ",~f"
#: The currency sign the figures are written with; :func:`localised` puts the settings' currency
#: where the page's language wants it (€1,234 / 1.234 €).
MONEY_SIGN = "€"
_MONEY_FIELD = re.compile(re.escape(MONEY_SIGN) + r"(%\{[^}]*\})")


def localised(fig: go.Figure, symbol: str = MONEY_SIGN) -> go.Figure:
    """Numbers with the page's language separators and money with ``symbol`` on the side that
    language puts it: axis tick prefixes and hover/text templates written as ``€%{...}``."""
    suffix = language() == "es"
    fig.update_layout(separators=SEPARATORS.get(language(), ".,"))
    for name in [n for n in fig.layout if n.startswith(("xaxis", "yaxis"))]:
        axis = fig.layout[name]
        if axis.tickprefix == MONEY_SIGN:
            if suffix:
                axis.tickprefix, axis.ticksuffix = None, f" {symbol}"
            else:
                axis.tickprefix = symbol
    for trace in fig.data:
        for attribute in ("hovertemplate", "texttemplate"):
            template = getattr(trace, attribute, None)
            if isinstance(template, str) and MONEY_SIGN in template:
                setattr(trace, attribute, _MONEY_FIELD.sub(
                    (lambda m: f"{m.group(1)} {symbol}") if suffix else (lambda m: f"{symbol}{m.group(1)}"),
                    template))
    marked = getattr(fig, "_crm_month_axes", set())
    dates = _date_axes(fig)
    for axis_name in dates:
        axis = fig.layout[axis_name]
        if axis_name in marked or (axis.tickformat is None and axis.tickmode != "array"):
            # drawn again here, after escaped(): the labels are ours (month names, <br>), not data
            month_axis(fig, axis_name)
    named = dates | _text_axes(fig)     # dates and categories keep their own ticks
    for name in [n for n in fig.layout if n.startswith(("xaxis", "yaxis")) and n not in named]:
        axis = fig.layout[name]
        if axis.tickformat is None and axis.tickmode != "array" and axis.type not in ("category", "multicategory"):
            # every number axis groups its thousands (12.000, never 12000 on one chart and 12k
            # on the next); decimals as they come, without trailing zeros
            axis.tickformat = NUMBER_TICKS
    return fig


#: Months between two ticks of a month axis: the first that keeps at most MONTH_TICKS ticks.
MONTH_STEPS, MONTH_TICKS = (1, 2, 3, 6, 12, 24), 7
#: Days between two ticks of a date axis shorter than two months.
DAY_STEPS = (1, 2, 7, 14)


def month_axis(fig: go.Figure, axis: str = "xaxis") -> go.Figure:
    """A date axis whose ticks name the months in the page's language, by Babel: "ene 2026" /
    "Jan 2026" (plotly.js names months only in English, and ``tickformat`` cannot change that).

    Ticks at the first of a month, every 1, 2, 3, 6, 12 or 24 months so that at most
    :data:`MONTH_TICKS` are drawn; the month on one line and, at the first tick and at each
    new year, the year below it ("ene<br>2026", "mar", ...), so that the labels fit side by
    side on a phone without being turned; a range of less than two months gets day ticks ("5 ene").
    The range is that of the dates the figure's traces put on ``axis``. Used by every chart
    with a month axis (and by :func:`localised` for any date axis left without a format).
    """
    anchor = "x" + axis[len("xaxis"):]
    values = []
    for trace in fig.data:
        x = getattr(trace, "x", None)
        if x is None or not len(x) or (getattr(trace, "xaxis", None) or "x") != anchor:
            continue
        dates = pd.to_datetime(pd.Series(list(x)), errors="coerce").dropna()
        values.extend([dates.min(), dates.max()] if len(dates) else [])
    if not values:
        return fig
    low, high = min(values), max(values)
    starts = pd.date_range(low.to_period("M").to_timestamp(), high, freq="MS")
    if len(starts[starts >= low.normalize()]) >= 2:  # a tick before the first date would not be drawn
        starts = starts[starts >= low.normalize()]
    if len(starts) >= 2:
        step = next((k for k in MONTH_STEPS if -(-len(starts) // k) <= MONTH_TICKS), MONTH_STEPS[-1])
        ticks = list(starts[::step])
        text = [f"{month_abbreviation(t)}<br>{t.year}" if i == 0 or t.year != ticks[i - 1].year
                else month_abbreviation(t) for i, t in enumerate(ticks)]
    else:
        days = max((high - low).days, 1)
        step = next((k for k in DAY_STEPS if -(-days // k) <= MONTH_TICKS), DAY_STEPS[-1])
        ticks = list(pd.date_range(low.normalize(), high, freq=f"{step}D"))
        text = [short_day(t) for t in ticks]
    fig.layout[axis].update(tickmode="array", tickvals=ticks, ticktext=text, tickformat=None, dtick=None)
    fig._crm_month_axes = getattr(fig, "_crm_month_axes", set()) | {axis}
    return fig


def _axes_carrying(fig: go.Figure, kind: Callable[[object], bool], letters: str = "xy") -> set[str]:
    """The layout names (``xaxis``, ``yaxis2``...) of the axes on which some trace's first
    value is of ``kind``."""
    names = set()
    for trace in fig.data:
        for letter in letters:
            values = getattr(trace, letter, None)
            if values is not None and len(values) and kind(values[0]):
                anchor = getattr(trace, f"{letter}axis", None) or letter
                names.add(f"{letter}axis" + anchor[1:])
    return names


def _text_axes(fig: go.Figure) -> set[str]:
    """The axes some trace puts text on (categories: "phone", "SMB")."""
    return _axes_carrying(fig, lambda v: isinstance(v, str))


def _date_axes(fig: go.Figure) -> set[str]:
    """The x axes that carry dates."""
    return _axes_carrying(
        fig, lambda v: isinstance(v, (np.datetime64, pd.Timestamp)) or hasattr(v, "isoformat"), "x")


def themed(fig: go.Figure, dark: bool, symbol: str = MONEY_SIGN) -> go.Figure:
    """The figure in the light or dark variant of the project's template (Streamlit's theme),
    its long titles wrapped, its data values escaped, numbers and money in the page's language."""
    escaped(fig)
    fitted(fig)
    localised(fig, symbol)
    if pio.templates.default != LIGHT:
        # importing Streamlit makes its own template plotly's default: when that came after
        # this module, the figure was made with it (set once more here: 9 ms a figure)
        pio.templates.default = LIGHT
        if not dark:
            fig.update_layout(template=LIGHT)
    if dark:
        fig.update_layout(template=DARK)
        # reference lines and labels drawn in black would vanish on a dark background
        for shape in fig.layout.shapes or ():
            if shape.line and shape.line.color == BLACK:
                shape.line.color = "#FAFAFA"
        for annotation in fig.layout.annotations or ():
            if annotation.font is None or annotation.font.color in (None, BLACK):
                annotation.font.color = "#FAFAFA"
    return fig


def _finish(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, height=height)
    return fig


def target_line(fig: go.Figure, target: float, label: str, horizontal: bool = True, at: str = "left",
                in_legend: bool = False) -> None:
    """A dashed reference line at the target, labelled at its ``at`` end (a horizontal line:
    the end where the bars stay below it, so that the label is not drawn across them), or
    ``in_legend``: named in the legend, for bars whose own labels stand where it would be."""
    if in_legend:
        across = dict(xref="paper", x0=0, x1=1, y0=target, y1=target) if horizontal else \
            dict(yref="paper", y0=0, y1=1, x0=target, x1=target)
        fig.add_shape(type="line", name=label, showlegend=True, layer="below",
                      line=dict(dash="dash", color=BLACK, width=1.2), **across)
        fig.update_layout(showlegend=True)
        return
    kwargs = dict(line_dash="dash", line_color=BLACK, line_width=1.2, annotation_text=label,
                  annotation_font_size=11)
    if horizontal:
        fig.add_hline(y=target, annotation_position=f"top {at}", **kwargs)
    else:
        fig.add_vline(x=target, annotation_position="top right", **kwargs)


# ---- overview
#: A word per rule, for chart labels that must fit a phone (the full title is in the hover).
RULE_SHORT = {1: N_("Vision"), 2: N_("Strategy"), 3: N_("Experiences"), 4: N_("Collaboration"), 5: N_("Processes"),
              6: N_("Information"), 7: N_("Technology"), 8: N_("Metrics")}


def rule_radar(rules: pd.DataFrame) -> go.Figure:
    """The eight rule scores (0-100) as a radar, with the comparison period overlaid."""
    theta = [f"{r.rule} {_(RULE_SHORT.get(r.rule, r.title))}" for r in rules.itertuples()]
    fig = go.Figure()
    if "comparison" in rules:
        fig.add_trace(go.Scatterpolar(r=list(rules["comparison"]) + [rules["comparison"].iloc[0]],
                                      theta=theta + [theta[0]], name=_("Comparison period"),
                                      line=dict(color=GREY, dash="dot"), fill="none"))
    fig.add_trace(go.Scatterpolar(r=list(rules["score"]) + [rules["score"].iloc[0]], theta=theta + [theta[0]],
                                  name=_("Selected period"), line=dict(color=BLUE, width=2.5), fill="toself",
                                  fillcolor="rgba(0,114,178,0.15)"))
    # the score scale runs between the first two rules (at 90 and 45 degrees), not over rule 1's name
    # the scale runs past 100 so that a rule at 100 is drawn inside its name, not on it
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 112], tickvals=[25, 50, 75, 100], tickfont_size=9,
                                                 angle=67.5, tickangle=67.5),
                                 angularaxis=dict(tickfont_size=11, rotation=90, direction="clockwise"),
                                 domain=dict(x=[0.2, 0.8], y=[0.08, 0.86])),
                      legend=dict(orientation="h", yanchor="top", y=-0.02, x=0.5, xanchor="center"),
                      margin=dict(l=40, r=40, t=50, b=40), showlegend=True)
    if rules["score"].isna().all():  # nothing to draw: say so instead of an empty web
        fig.add_annotation(text=_("No data for this selection"), showarrow=False, x=0.5, y=0.47, xref="paper",
                           yref="paper", font=dict(size=14, color=GREY))
    return _finish(fig, _("Gartner's eight rules: score out of 100"), 460)


def rule_bars(rules: pd.DataFrame) -> go.Figure:
    """Rules sorted by score, weakest on top."""
    ordered = rules.sort_values("score", ascending=False, na_position="first")
    colours = [GREY if s != s or s is None else VERMILION if s < 70 else ORANGE if s < 90 else GREEN
               for s in ordered["score"]]
    fig = go.Figure(go.Bar(x=ordered["score"],
                           y=[f"{r.rule} {_(RULE_SHORT.get(r.rule, r.title))}" for r in ordered.itertuples()],
                           customdata=[_(r.title) for r in ordered.itertuples()],
                           orientation="h", marker_color=colours,
                           text=[f"{s:.0f}" if s == s else _("no data") for s in ordered["score"]],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{customdata}: %{x:.0f}/100<extra></extra>"))
    fig.update_xaxes(title=_("Score (0-100)"), range=[0, 115])
    fig.update_yaxes(title=None)
    return _finish(fig, _("Rules by score, weakest first"), 430)


def monthly_line(frame: pd.DataFrame, x: str, y: str, title: str, y_title: str, target: float | None = None,
                 target_label: str = "", percent: bool = False, money: bool = False, colour: str = BLUE,
                 kind: str = "line", partial: pd.Timestamp | None = None, partial_label: str = "") -> go.Figure:
    """A monthly series as a line (or bars), with an optional target line; the ``partial``
    month (not over yet) is drawn faded/hollow and labelled."""
    periods = pd.to_datetime(frame[x]) if len(frame) else frame[x]
    is_partial = [partial is not None and pd.Timestamp(p) == partial for p in periods]
    if kind == "bar":
        trace = go.Bar(x=frame[x], y=frame[y], marker_color=colour, name=y_title,
                       marker_opacity=[0.35 if p else 1.0 for p in is_partial],
                       marker_pattern_shape=["/" if p else "" for p in is_partial])
    else:
        trace = go.Scatter(x=frame[x], y=frame[y], mode="lines+markers", line=dict(color=colour, width=2.5),
                           name=y_title, marker=dict(symbol=["circle-open" if p else "circle" for p in is_partial],
                                                     size=[11 if p else 7 for p in is_partial]))
    fig = go.Figure(trace)
    if any(is_partial):
        fig.add_annotation(x=1.0, xref="paper", xanchor="right", y=1.0, yref="paper", showarrow=False,
                           text=partial_label or _("Month so far"), yanchor="bottom", font=dict(size=11, color=GREY))
    if target is not None:
        target_line(fig, target, target_label)
    fig.update_xaxes(title=_("Month"))
    month_axis(fig)
    fig.update_yaxes(title=y_title, tickformat=".0%" if percent else ",.0f",
                     tickprefix="€" if money else "", rangemode="tozero")
    return _finish(fig, title, 300)


# ---- text on bars
def inside_or_beside(values, share: float) -> list[str]:
    """Where each bar writes its text: "inside" a bar at least ``share`` of the longest, "outside"
    (beside or above it) a shorter one or a missing value, where there is room for it."""
    known = [float(v) for v in values if v is not None and v == v]
    top = max(known, default=0.0)
    return ["inside" if top > 0 and v is not None and v == v and v >= share * top else "outside" for v in values]


# ---- funnel
#: The share of the widest stage from which a funnel stage writes its count inside its bar.
FUNNEL_INSIDE_SHARE = 0.25


def funnel_stages(table: pd.DataFrame) -> go.Figure:
    """Customers per stage with the cumulative conversion: written inside a stage's bar, and
    beside one narrower than :data:`FUNNEL_INSIDE_SHARE` of the widest (an empty stage drew
    no bar and so no "0" at all)."""
    text = [f"{number(n)} ({percent(c, 1)})" if c == c else number(n)
            for n, c in zip(table.customers, table.cumulative_conversion)]
    fig = go.Figure(go.Funnel(y=table.label, x=table.customers, text=text, textinfo="text",
                              textposition=inside_or_beside(table.customers, FUNNEL_INSIDE_SHARE),
                              marker=dict(color=[BLUE, SKY, GREEN, ORANGE, PURPLE][: len(table)]),
                              customdata=table.stage,
                              hovertemplate=_("%{y}: %{x:,} customers") + "<extra></extra>"))
    fig.update_yaxes(title=None)
    return _finish(fig, _("Customers reaching each stage (share of prospects)"), 360)


#: A conversion below this share (of an axis running to 110 %) is written above its bar.
SHORT_BAR = 0.12


def conversion_bars(table: pd.DataFrame, which: str = "step") -> go.Figure:
    """Conversion per stage with its 95 % Wilson interval as error bars."""
    rows = table[table.stage != "prospect"]
    value, low, high = rows[f"{which}_conversion"], rows[f"{which}_low"], rows[f"{which}_high"]
    fig = go.Figure(go.Bar(
        x=rows.label, y=value, marker_color=BLUE,
        error_y=dict(type="data", symmetric=False, array=(high - value), arrayminus=(value - low), color=BLACK,
                     thickness=1.3, width=6),
        text=[percent(v, 1) if v == v else _("n/a") for v in value],
        # inside a bar, above one too short to hold it (an empty stage showed nothing at all)
        textposition=["outside" if v < SHORT_BAR else "inside" for v in value.fillna(0)],
        insidetextanchor="start", insidetextfont=dict(color="white"),   # beside: the theme's text colour
        cliponaxis=False, hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    step = which == "step"
    fig.update_yaxes(title=_("Conversion from the previous stage") if step else _("Conversion from prospect"),
                     tickformat=".0%", range=[0, 1.1])
    fig.update_xaxes(title=_("Stage"))
    return _finish(fig, _("Conversion from the previous stage, with 95 % Wilson intervals") if step else
                   _("Conversion from prospect, with 95 % Wilson intervals"), 340)


def breakdown_bars(by_group: pd.DataFrame, dimension_label: str, stage_labels: dict[str, str]) -> go.Figure:
    """Cumulative conversion to each stage per group (click a group to filter the page)."""
    fig = go.Figure()
    stages = [s for s in stage_labels if s != "prospect"]
    for i, stage in enumerate(stages):
        rate = by_group[stage] / by_group["prospect"].where(by_group["prospect"] > 0)
        fig.add_trace(go.Bar(x=by_group["group"], y=rate, name=stage_labels[stage], marker_color=PALETTE[i],
                             customdata=by_group[["group"]], hovertemplate="%{x}: %{y:.1%}<extra>"
                             + stage_labels[stage] + "</extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=_("Share of prospects"), tickformat=".0%")
    fig.update_xaxes(title=dimension_label)
    return _finish(fig, _("Conversion from prospect by {dimension} (click a group to filter)").format(
        dimension=dimension_label.lower()), 380)


# ---- service
#: SLA classes as the seeds name them: immediate solution (front office) and deferred solution (back office).
SLA_CLASSES = {"immediate": N_("Immediate solution"), "deferred": N_("Deferred solution")}


def compliance_over_time(frame: pd.DataFrame, target: float, grain: str = "week") -> go.Figure:
    """SLA compliance per class per ``grain`` ("week" or "month") of opening."""
    fig = go.Figure()
    for colour, cls in ((BLUE, "immediate"), (ORANGE, "deferred")):
        rows = frame[frame.sla_class == cls]
        name = _(SLA_CLASSES[cls])
        when = "%{x|%d/%m/%Y}" if grain == "week" else "%{x|%m/%Y}"
        fig.add_trace(go.Scatter(x=rows.period, y=rows.compliance, mode="lines+markers", name=name,
                                 line=dict(color=colour, width=2.5),
                                 hovertemplate=when + ": %{y:.1%}<extra>" + name + "</extra>"))
    # in the legend beside the classes: drawn over the lines, its label hid their points
    target_line(fig, target, _("target {target}").format(target=percent(target, 0)), in_legend=True)
    fig.update_yaxes(title=_("SLA compliance (met / met + breached)"), tickformat=".0%")
    fig.update_xaxes(title=_("Week opened") if grain == "week" else _("Month opened"))
    month_axis(fig)
    title = (_("SLA compliance per class, week by week") if grain == "week"
             else _("SLA compliance per class, month by month"))
    return _finish(fig, title, 340)


def _by_class(frame: pd.DataFrame, category: str, title: str, x_title: str, y_title: str) -> go.Figure:
    """Ticket counts per ordered category (time bands, named in the page's language), stacked by
    SLA class (immediate blue, deferred orange)."""
    fig = go.Figure()
    for colour, cls in ((BLUE, "immediate"), (ORANGE, "deferred")):
        rows = frame[frame.sla_class == cls]
        fig.add_trace(go.Bar(x=[_(str(band)) for band in rows[category]], y=rows.tickets, name=_(SLA_CLASSES[cls]),
                             marker_color=colour))
    fig.update_layout(barmode="stack")
    order = [_(str(band)) for band in frame[category].cat.categories] if hasattr(frame[category], "cat") else None
    fig.update_xaxes(title=x_title, categoryorder="array", categoryarray=order)
    fig.update_yaxes(title=y_title)
    return _finish(fig, title, 320)


def time_histogram(frame: pd.DataFrame, title: str) -> go.Figure:
    return _by_class(frame, "bucket", title, _("Time from opening"), _("Tickets"))


def backlog_bars(frame: pd.DataFrame) -> go.Figure:
    return _by_class(frame, "age", _("Backlog: tickets still open, by age"), _("Age at the end of the range"),
                     _("Open tickets"))


#: Contact channels (data/schema.py ENUMS) as people name them.
CHANNEL_NAMES = {"phone": N_("phone"), "chat": N_("chat"), "email": N_("email"), "web": N_("web"),
                 "mobile": N_("mobile app"), "ivr": N_("IVR"), "in_person": N_("in person"), "mail": N_("post"),
                 "social": N_("social media"), "sms": N_("SMS"), "none": N_("none")}


def channel_mix(frame: pd.DataFrame, in_person_target: float) -> go.Figure:
    colours = [VERMILION if c == "in_person" else BLUE for c in frame.channel]
    names = [_(CHANNEL_NAMES.get(c, c)) for c in frame.channel]
    fig = go.Figure(go.Bar(x=frame.channel, y=frame.share, marker_color=colours, customdata=frame[["channel"]],
                           text=[percent(s, 0) for s in frame.share], textposition="auto", cliponaxis=False,
                           hovertext=names, hovertemplate=_("%{hovertext}: %{y:.1%} of tickets") + "<extra></extra>",
                           showlegend=False))
    # named in the legend: over the bars, its label met their shares' labels
    target_line(fig, in_person_target, _("in person ≤ {target}").format(target=percent(in_person_target, 0)),
                in_legend=True)
    fig.update_xaxes(tickvals=list(frame.channel), ticktext=names)
    fig.update_yaxes(title=_("Share of tickets"), tickformat=".0%")
    fig.update_xaxes(title=_("Channel"))
    return _finish(fig, _("Channel mix (click a channel to filter the page)"), 320)


# ---- cohorts
def cohort_heatmap(matrix: pd.DataFrame, percent: bool, title: str, bounded: bool | None = None) -> go.Figure:
    """Cohorts (rows) by months since acquisition; ``bounded`` pins the colour scale to 0-100 %
    (customer retention; by default when a percent title starts with "Customer")."""
    from i18n import percent as as_percent

    if bounded is None:
        bounded = percent and title.startswith("Customer")
    z = matrix.to_numpy(dtype=float)
    labels = [month(pd.Timestamp(i)) for i in matrix.index]
    # a cell writes its percentage without the sign (the title carries it: "(%)"), so that a
    # year of months fits a phone's width; the hover writes it whole
    cells = [["" if v != v else (number(100 * v) if percent else number(v)) for v in row] for row in z]
    text = [["" if v != v else (as_percent(v, 0) if percent else number(v)) for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[str(k) for k in matrix.columns], y=labels, text=cells, customdata=text,
                               texttemplate="%{text}", textfont_size=10, colorscale="Blues",
                               zmin=0, zmax=1 if percent and bounded else None,
                               # every cell writes its value: no colour scale, whose third of a phone's
                               # width the months need
                               showscale=False,
                               hovertemplate=_("cohort %{y}, month %{x}: %{customdata}") + "<extra></extra>",
                               hoverongaps=False))
    # the months name the rows: no axis title beside them (the chart's title says "cohort")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title=_("Months since acquisition"), type="category")
    return _finish(fig, f"{title} (%)" if percent else title, max(360, 26 * len(labels) + 120))


# ---- engagement
def pressure_histogram(frame: pd.DataFrame, limit: int) -> go.Figure:
    colours = [VERMILION if c > limit else BLUE for c in frame.contacts]
    fig = go.Figure(go.Bar(x=frame.contacts, y=frame.customer_weeks, marker_color=colours,
                           hovertemplate=_("%{x} contacts in a week: %{y:,} customer-weeks") + "<extra></extra>"))
    target_line(fig, limit + 0.5, _("alert above {limit} per week").format(limit=limit), horizontal=False)
    fig.update_xaxes(title=_("Outbound contacts to one customer in one week"),
                     dtick=1 if frame.contacts.max() <= 20 else None)
    fig.update_yaxes(title=_("Customer-weeks"), type="log")
    return _finish(fig, _("Contact pressure: how many contacts a customer gets in a week"), 330)


def response_bars(personalized: tuple[float | None, float, float], generic: tuple[float | None, float, float]
                  ) -> go.Figure:
    labels, values, lows, highs = [], [], [], []
    for label, (rate, low, high) in ((_("Personalised"), personalized), (_("Generic"), generic)):
        labels.append(label)
        values.append(rate)
        lows.append(rate - low if rate is not None else 0)
        highs.append(high - rate if rate is not None else 0)
    fig = go.Figure(go.Bar(x=labels, y=[0.0 if v is None else v for v in values], marker_color=[GREEN, GREY],
                           error_y=dict(type="data", symmetric=False, array=highs, arrayminus=lows, color=BLACK),
                           text=[percent(v, 1) if v is not None else _("n/a") for v in values],
                           # above a bar too short to hold it, and "n/a" where there is no bar
                           textposition=inside_or_beside(values, 0.15),
                           insidetextanchor="start", insidetextfont=dict(color="white"), cliponaxis=False,
                           hovertemplate="%{x}: %{text}<extra></extra>"))
    fig.update_yaxes(title=_("Response rate"), tickformat=".1%", rangemode="tozero")
    fig.update_xaxes(title=_("Marketing contact"))
    return _finish(fig, _("Response rate, with 95 % Wilson intervals"), 320)


def campaign_roi(frame: pd.DataFrame) -> go.Figure:
    rows = frame.dropna(subset=["roi"])
    colours = [GREEN if r >= 0 else VERMILION for r in rows.roi]
    repeated = rows["name"].duplicated(keep=False)  # campaigns may share a name: one bar each
    labels = [f"{n} ({i})" if r else n for n, i, r in zip(rows["name"], rows.campaign_id, repeated)]
    fig = go.Figure(go.Bar(x=labels, y=rows.roi, marker_color=colours, customdata=rows[["campaign_id"]],
                           hovertemplate=_("%{x}: ROI %{y:.0%}") + "<extra></extra>", showlegend=False))
    target_line(fig, 0.0, _("break-even"), in_legend=True)     # at zero, its label stood on the first bars
    fig.update_yaxes(title=_("ROI"), tickformat=".0%", zeroline=False)   # the break-even line is the zero line
    fig.update_xaxes(title=_("Campaign"), tickangle=-35)
    return _finish(fig, _("Campaign ROI (last-touch attribution, first-year margin)"), 380)


# ---- segments
def revenue_treemap(frame: pd.DataFrame, first: str, second: str, measure: str) -> go.Figure:
    rows = frame[frame[measure] > 0]
    ids, labels, parents, values, custom = [], [], [], [], []
    for top, group in rows.groupby(first):
        ids.append(str(top))
        labels.append(str(top))
        parents.append("")
        values.append(float(group[measure].sum()))
        custom.append([str(top), ""])
        for r in group.itertuples():
            ids.append(f"{top}/{getattr(r, second)}")
            labels.append(str(getattr(r, second)))
            parents.append(str(top))
            values.append(float(getattr(r, measure)))
            custom.append([str(top), str(getattr(r, second))])
    fmt = "€%{value:,.0f}" if measure == "revenue" else _("%{value:,} customers")
    tops = {top: PALETTE[i % 6] for i, top in enumerate(dict.fromkeys(c[0] for c in custom))}
    fig = go.Figure(go.Treemap(ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
                               customdata=custom, texttemplate="<b>%{label}</b><br>" + fmt,
                               hovertemplate="%{id}: " + fmt + "<extra></extra>",
                               marker=dict(colors=[tops[c[0]] for c in custom], line=dict(color="white", width=2)),
                               textfont=dict(color="white")))
    fig.update_layout(margin=dict(t=60))
    titles = {("revenue", "segment", "region"): N_("Revenue by segment and region (click a segment to filter the table)"),
              ("customers", "segment", "region"): N_("Buying customers by segment and region (click a segment to filter "
                                                     "the table)")}
    title = titles.get((measure, first, second))
    return _finish(fig, _(title) if title else f"{measure.capitalize()} by {first} and {second}", 440)


# ---- survival
def survival_curves(curves: pd.DataFrame, churn_days: int) -> go.Figure:
    """Kaplan-Meier curves per group as steps, with their 95 % bands."""
    fig = go.Figure()
    for i, (group, rows) in enumerate(curves.groupby("group", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        rgb = tuple(int(colour[k:k + 2], 16) for k in (1, 3, 5))
        fig.add_trace(go.Scatter(x=rows.time, y=rows.upper, line=dict(width=0, shape="hv"), showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=rows.time, y=rows.lower, line=dict(width=0, shape="hv"), fill="tonexty",
                                 fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.15)", showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=rows.time, y=rows.survival, name=str(group), line=dict(color=colour, width=2.5,
                                                                                           shape="hv"),
                                 customdata=rows[["at_risk"]],
                                 # no <extra>: plotly shows the trace's name there, escaped with the data
                                 hovertemplate=_("day %{x:.0f}: %{y:.1%} still active (%{customdata[0]:,} at risk)")))
    target_line(fig, 0.5, _("median"))
    fig.update_yaxes(title=_("Share of customers still active"), tickformat=".0%", range=[0, 1.02])
    fig.update_xaxes(title=_("Days since acquisition (churn = no order for {days} days)").format(days=churn_days),
                     rangemode="tozero")
    return _finish(fig, _("Customer survival (Kaplan-Meier, 95 % bands)"), 420)


# ---- customer value
def clv_histogram(bins: pd.DataFrame) -> go.Figure:
    centres = (bins.low * bins.high) ** 0.5
    fig = go.Figure(go.Bar(x=centres, y=bins.customers, width=(bins.high - bins.low), marker_color=BLUE,
                           customdata=bins[["low", "high"]],
                           hovertemplate=_("€%{customdata[0]:,.0f} to €%{customdata[1]:,.0f}: %{y:,} customers")
                           + "<extra></extra>"))
    fig.update_xaxes(title=_("Predicted CLV (log scale)"), type="log", tickprefix="€")
    fig.update_yaxes(title=_("Customers"))
    return _finish(fig, _("How predicted customer value is spread"), 340)


def alive_value_map(grid: pd.DataFrame) -> go.Figure:
    """Every customer on a map of P(alive) against predicted CLV (metrics.clv.alive_value_grid):
    each cell coloured by its customers on a log scale (the column at 100 % holds thousands
    where a valuable cell holds a few), an empty cell left blank. One image, whatever the
    number of customers: a sample of dots drawn with WebGL cost a browser without a graphics
    card about 0.4 s each time the page was opened (bench/pages.py)."""
    p_edges = np.unique(np.concatenate([grid.p_low, grid.p_high]))
    value_edges = np.unique(np.concatenate([grid.clv_low, grid.clv_high]))
    cells = grid.pivot_table(index="clv_low", columns="p_low", values="customers", aggfunc="sum").sort_index()
    counts = cells.to_numpy(dtype=float)
    shown = np.where(counts > 0, np.log10(np.where(counts > 0, counts, 1)), np.nan)
    custom = np.dstack([np.broadcast_to(p_edges[:-1], counts.shape), np.broadcast_to(p_edges[1:], counts.shape),
                        np.broadcast_to(value_edges[:-1, None], counts.shape),
                        np.broadcast_to(value_edges[1:, None], counts.shape), counts])
    top = int(np.ceil(np.nanmax(shown))) if np.isfinite(shown).any() else 1
    ticks = list(range(0, max(top, 1) + 1))
    fig = go.Figure(go.Heatmap(
        z=shown, x=p_edges, y=value_edges, customdata=custom, colorscale="Blues", zmin=0, zmax=max(top, 1),
        hoverongaps=False, xgap=1, ygap=1,
        colorbar=dict(title=dict(text=_("Customers"), side="top"), thickness=12, len=0.9,
                      tickvals=ticks, ticktext=[number(10 ** t) for t in ticks]),
        hovertemplate=_("P(alive) %{customdata[0]:.0%}–%{customdata[1]:.0%}, CLV €%{customdata[2]:,.0f}–"
                        "€%{customdata[3]:,.0f}: %{customdata[4]:,.0f} customers") + "<extra></extra>"))
    fig.update_xaxes(title=_("Probability the customer is still alive"), tickformat=".0%", range=[0, 1],
                     showgrid=False)
    fig.update_yaxes(title=_("Predicted CLV (log scale)"), type="log", tickprefix="€", showgrid=False)
    return _finish(fig, _("Still a customer? Probability alive against predicted value"), 400)


def equity_bars(by: pd.DataFrame, column: str, title: str, x_title: str, money=None) -> go.Figure:
    """Money per group as bars, each labelled with ``money(amount)`` (the page's currency and locale)."""
    label = money or (lambda v: f"€{v:,.0f}")
    fig = go.Figure(go.Bar(x=by.group.astype(str), y=by[column], marker_color=BLUE,
                           text=[label(v) for v in by[column]], textposition="outside", cliponaxis=False,
                           hovertemplate="%{x}: €%{y:,.0f}<extra></extra>"))
    fig.update_yaxes(title=x_title, tickprefix="€", rangemode="tozero")
    fig.update_xaxes(title=None)
    return _finish(fig, title, 330)


# ---- forecasts
def forecast_chart(result, title: str, y_title: str, money: bool = False) -> go.Figure:
    """History, the forecast mean and its 80 % and 95 % bands."""
    fig = go.Figure()
    history = result.history
    amount = "€%{y:,.0f}" if money else "%{y:,.0f}"

    def hover(months, name: str) -> dict:   # plotly writes a date's month in English: the page's own
        return dict(customdata=[month(pd.Timestamp(m)) for m in months],
                    hovertemplate=f"%{{customdata}}: {amount}<extra>{name}</extra>")

    fig.add_trace(go.Scatter(x=history.index, y=history.values, mode="lines+markers", name=_("Actual"),
                             line=dict(color=BLUE, width=2.5), **hover(history.index, _("Actual"))))
    p = result.predictions
    if len(p):
        for level, alpha in ((95, 0.12), (80, 0.25)):
            fig.add_trace(go.Scatter(x=p.period, y=p[f"upper_{level}"], mode="lines", line=dict(width=0),
                                     showlegend=False, hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=p.period, y=p[f"lower_{level}"], mode="lines", line=dict(width=0),
                                     fill="tonexty", fillcolor=f"rgba(230,159,0,{alpha})",
                                     name=_("{level} % band").format(level=level),
                                     hoverinfo="skip"))
        months = [history.index[-1], *p.period]
        fig.add_trace(go.Scatter(x=months, y=[history.values[-1], *p["mean"]], mode="lines+markers", name=_("Forecast"),
                                 line=dict(color=ORANGE, width=2.5, dash="dash"), **hover(months, _("Forecast"))))
    unfinished = getattr(result, "unfinished", None)
    if unfinished is not None and len(unfinished):
        fig.add_trace(go.Scatter(x=unfinished.index, y=unfinished.values, mode="markers", name=_("Month so far"),
                                 marker=dict(color=BLUE, size=9, symbol="circle-open", line=dict(width=2)),
                                 hovertemplate=_("%{x|%m/%Y} so far (unfinished, not used): %{y:,.0f}")
                                 + "<extra></extra>"))
    fig.update_xaxes(title=_("Month"))
    month_axis(fig)
    fig.update_yaxes(title=y_title, tickprefix="€" if money else "", rangemode="tozero", tickformat=",.0f")
    return _finish(fig, title, 330)


def rfm_heatmap(grid: pd.DataFrame) -> go.Figure:
    """Customers per (recency, frequency) score, labelled with the named segment."""
    pivot = grid.pivot_table(index="f_score", columns="r_score", values="customers", aggfunc="sum").sort_index()
    names = grid.pivot_table(index="f_score", columns="r_score", values="rfm_segment", aggfunc="first").sort_index()
    # a segment's name on two lines, so that it stays in its cell ("Cannot / lose them" ran into
    # the next cells). The line break is markup, which escaped() would turn into text: the
    # figure is escaped first, then the names are set; a name that is not one of the segments
    # (data) is escaped and kept whole. (A heatmap's texttemplate cannot show customdata.)
    from metrics.rfm import SEGMENT_ORDER

    def _label(name: str) -> str:
        return (_wrapped(_(name), 10) or "") if name in SEGMENT_ORDER else _escape_values(name)

    text = [[_label(str(names.iat[i, j])) for j in range(pivot.shape[1])] for i in range(pivot.shape[0])]
    fig = escaped(go.Figure(go.Heatmap(z=pivot.to_numpy(), x=[str(c) for c in pivot.columns],
                                       y=[str(i) for i in pivot.index], texttemplate="%{text}<br>%{z:,.0f}",
                                       textfont_size=10, colorscale="Blues", showscale=False,
                                       hovertemplate="R %{x}, F %{y}: %{text}<br>%{z:,.0f}<extra></extra>")))
    # no colour scale: every cell writes its count, and on a phone the scale took a fifth of the
    # width the names need; short axis titles for the same reason
    fig.data[0].text = text
    fig.update_xaxes(title=_("Recency (5 = most recent)"), type="category")
    fig.update_yaxes(title=_("Frequency (5 = most frequent)"), type="category")
    return _finish(fig, _("RFM grid: customers by recency and frequency"), 460)


def odds_ratio_forest(table: pd.DataFrame) -> go.Figure:
    """Odds ratios of churn drivers with 95 % intervals, on a log axis (1 = no effect)."""
    rows = table.iloc[::-1]
    colours = [VERMILION if lo > 1 else GREEN if hi < 1 else GREY for lo, hi in zip(rows.ci_low, rows.ci_high)]
    fig = go.Figure(go.Scatter(x=rows.odds_ratio, y=[_(label) for label in rows.label], mode="markers",
                               marker=dict(color=colours, size=10),
                               error_x=dict(type="data", symmetric=False, array=rows.ci_high - rows.odds_ratio,
                                            arrayminus=rows.odds_ratio - rows.ci_low, color=BLACK),
                               hovertemplate=_("%{y}: odds ratio %{x:.2f}") + "<extra></extra>"))
    # the axis title is centred under the plot, which long driver names leave narrow on a
    # phone: a short title, and the line at 1 says what it means
    fig.add_vline(x=1, line_dash="dash", line_color=BLACK)
    # an annotation on a log axis is placed at log10(x): 0 is the line at 1 (add_vline's own
    # annotation put it at 10, and stretched the axis to reach it)
    fig.add_annotation(x=0, xref="x", y=1, yref="paper", yanchor="bottom", showarrow=False,
                       text=_("no effect"), font=dict(color=BLACK))
    fig.update_xaxes(title=_("Odds ratio (log scale)"), type="log")
    fig.update_yaxes(title=None)
    return _finish(fig, _("What drives churn (red: raises it, green: lowers it, grey: unclear)"), 380)


def at_risk_bars(table: pd.DataFrame, y_title: str | None = None) -> go.Figure:
    rows = table[table.group != "all"]
    fig = go.Figure([go.Bar(x=rows.group.astype(str), y=rows.clv, name=_("CLV"), marker_color=BLUE,
                            hovertemplate="%{x}: €%{y:,.0f}<extra></extra>"),
                     go.Bar(x=rows.group.astype(str), y=rows.clv_at_risk, name=_("CLV at risk"), marker_color=VERMILION,
                            text=[percent(s, 0) for s in rows.share_at_risk],
                            hovertext=[_("{share} at risk").format(share=percent(s, 0)) for s in rows.share_at_risk],
                            textposition="outside", cliponaxis=False,
                            hovertemplate="%{x}: €%{y:,.0f} (%{hovertext})<extra></extra>")])
    # the share at risk above its bar, readable (plotly would shrink it to the bar's width)
    fig.update_layout(barmode="group", uniformtext=dict(minsize=11, mode="show"))
    fig.update_yaxes(title=y_title or _("Predicted CLV"), tickprefix="€", rangemode="tozero")
    return _finish(fig, _("CLV at risk: predicted value × probability of churning"), 360)


# ---- sales pipeline
#: The share of the longest bar from which a pipeline bar writes its deal count inside itself.
INSIDE_SHARE = 0.4


def pipeline_bars(frame: pd.DataFrame, title: str, y_title: str, money_prefix: str = "€") -> go.Figure:
    """Open amount per group (age band, team or source), with the number of deals on each bar:
    inside a bar at least :data:`INSIDE_SHARE` of the longest (plotly makes the text smaller
    where it does not fit), beside a shorter one, where the axis leaves room for it at any
    width. Left to plotly ("auto"), a bar almost as long as the longest put its count beside
    itself on a phone, where the chart's edge cut it ("35 oportun...")."""
    top = float(frame["amount"].max()) if len(frame) else 0.0
    fig = go.Figure(go.Bar(x=frame["amount"], y=frame["group"], orientation="h", marker_color=BLUE,
                           text=[ngettext("{n} deal", "{n} deals", int(d)).format(n=number(int(d))) for d in frame["deals"]],
                           textposition=inside_or_beside(frame["amount"], INSIDE_SHARE),
                           insidetextanchor="end", cliponaxis=False,
                           hovertemplate=f"%{{y}}: {money_prefix}%{{x:,.0f}}<extra></extra>"))
    fig.update_xaxes(title=_("Open amount"), tickprefix=money_prefix, tickformat=",.0f",
                     range=[0, top * 1.3 if top > 0 else 1], nticks=4)  # room for the deal counts beside the bars
    fig.update_yaxes(title=y_title, autorange="reversed")
    return _finish(fig, title, 320)


def close_forecast_bars(frame: pd.DataFrame, money_prefix: str = "€") -> go.Figure:
    """Open amount expected to close per month, and the same weighted by the chance of winning."""
    fig = go.Figure([
        go.Bar(x=frame["month"], y=frame["amount"], name=_("Open amount"), marker_color=SKY,
               hovertemplate=_("%{x|%m/%Y}: {amount} open").replace("{amount}", money_prefix + "%{y:,.0f}")
               + "<extra></extra>"),
        go.Bar(x=frame["month"], y=frame["weighted"], name=_("Weighted by chance of winning"), marker_color=BLUE,
               hovertemplate=_("%{x|%m/%Y}: {amount} expected").replace("{amount}", money_prefix + "%{y:,.0f}")
               + "<extra></extra>"),
    ])
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title=_("Expected month of close"))
    month_axis(fig)
    fig.update_yaxes(title=_("Amount"), tickprefix=money_prefix, tickformat=",.0f", rangemode="tozero")
    return _finish(fig, _("Open amount by expected month of close"), 340)


def win_rate_dots(frame: pd.DataFrame, title: str, y_title: str, target: float | None = None) -> go.Figure:
    """Win rate per group as a dot with its 95 % Wilson interval."""
    fig = go.Figure(go.Scatter(
        x=frame["win_rate"], y=frame["group"], mode="markers", marker=dict(size=11, color=BLUE),
        error_x=dict(type="data", symmetric=False, array=frame["high"] - frame["win_rate"],
                     arrayminus=frame["win_rate"] - frame["low"], color=BLACK, thickness=1.3, width=6),
        customdata=frame[["won", "closed"]].to_numpy(),
        hovertemplate=_("%{y}: %{x:.1%} (%{customdata[0]} won of %{customdata[1]} closed)") + "<extra></extra>",
        showlegend=False))
    if target is not None:
        # in the legend: at the top of the line, its label stood on the first group's dot
        target_line(fig, target, _("target {target}").format(target=percent(target, 0)), horizontal=False,
                    in_legend=True)
    fig.update_xaxes(title=_("Win rate (95 % interval)"), tickformat=".0%", range=[0, 1.02])
    fig.update_yaxes(title=y_title, autorange="reversed")
    return _finish(fig, title, 300)


def cycle_histogram(days: pd.Series, median: float | None) -> go.Figure:
    """Sales-cycle days of the deals won in the range, with the median marked."""
    fig = go.Figure(go.Histogram(x=days, marker_color=BLUE, xbins=dict(size=7),
                                 hovertemplate=_("%{x} days: %{y} deals") + "<extra></extra>"))
    if median is not None:
        target_line(fig, median, _("median {days} days").format(days=f"{median:.0f}"), horizontal=False)
    fig.update_xaxes(title=_("Days to close"), rangemode="tozero")
    fig.update_yaxes(title=_("Deals won"))
    return _finish(fig, _("Sales cycle of the deals won"), 320)
