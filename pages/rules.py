"""Gartner's eight rules: each rule's definition, its KPIs with trend, target, status, records."""

import math

import streamlit as st

from metrics.catalogue import Rule
from i18n import _
from pages import labels, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Gartner's eight rules"))
f = ui.filters()
ui.caption_filters(f)
st.markdown(_("**How the score is computed.** A KPI's attainment is value / target (target / value when lower "
              "is better), capped at 1; for a change KPI (NPS change, growth) it falls evenly from 1 at the target "
              "to 0 at a declared distance below it (10 NPS points, 10 percentage points of growth). A rule's "
              "score is 100 × the mean attainment of its KPIs that have data; the overall CRM score is the mean "
              "of the rule scores. KPIs without data are shown as *no data*, never as 0, and a KPI measured on "
              "fewer than {minimum} answers or records is shown with *too few answers* and left out of the score. "
              "A tile's ? gives its base and 95 % interval. Sparklines show the last six months.").format(
    minimum=ui.settings().min_base))

#: The most tiles side by side: in a row of five a status such as "near target · target ≤ 24.0 h"
#: took two lines at 1440 px, and its tile ended a line shorter than its neighbours.
MOST_PER_ROW = 4

card = ui.scorecard(f)
kpis = card["kpis"]
rules = card["rules"].set_index("rule")
trend = ui.compute("trend", f, 6)

for rule in Rule:
    score = rules.loc[rule.value, "score"]
    previous = rules.loc[rule.value, "comparison"] if "comparison" in rules else None
    with st.container(border=True):
        head = st.columns([3, 1])
        head[0].subheader(f"{rule.value}. {_(rule.title)}")
        head[0].caption(_(rule.definition))
        change = None if previous is None or previous != previous or score is None or score != score \
            else score - previous
        head[1].metric(_("Rule score"), _("no data") if score != score or score is None else f"{score:.0f} / 100",
                       delta=None if change is None else _("{change} points").format(change=ui.i18n.signed(change, 1)),
                       delta_color="off" if change is not None and round(change, 1) == 0 else "normal",
                       delta_arrow="off" if change is not None and round(change, 1) == 0 else "auto")
        mine = kpis[kpis.rule == rule.value].to_dict("records")
        rows_needed = max(math.ceil(len(mine) / MOST_PER_ROW), 1)
        per_row = max(math.ceil(len(mine) / rows_needed), 1)      # rows as even as can be: five is three and two
        for start in range(0, len(mine), per_row):
            shown = mine[start:start + per_row]
            # the tiles in a row of their own, as tall as the tallest; each definition below
            # its tile (under a definition of its own length a tile was taller or shorter than
            # its neighbours) and named, since a phone puts the definitions after all the tiles
            for col, row in zip(st.columns(per_row), shown):
                with col:
                    spark = trend[row["name"]].tolist() if row["name"] in trend else None
                    ui.kpi_tile(row, spark, drill_filters=f, key=f"rule{rule.value}_", height="stretch")
            for col, row in zip(st.columns(per_row), shown):
                col.caption(labels.named_definition(_(row["label"]), _(row["definition"])))
