"""The voice of the customer: NPS, CSAT, CES and survey response rate (metrics.md §1)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data.schema import survey_invitations, surveys
from metrics.filters import Filters
from metrics.periods import Periods, as_periods
from metrics.sql import as_float, count_if, ratio


def survey_facts(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Survey answers and invitations in the range.

    - nps = 100 x (share of NPS answers 9-10 - share 0-6);
    - csat = share of CSAT answers (surveys of kind csat) scoring 4 or 5;
    - ces = mean customer-effort score (1..7, lower is easier);
    - survey_response_rate = invitations sent in the range that were answered / sent.
    """
    return survey_facts_by_period(conn, [filters])[0]


def survey_facts_by_period(conn: Connection, periods: Periods | Sequence[Filters]) -> list[dict[str, float | None]]:
    """:func:`survey_facts` of several periods in one statement (answers and invitations
    each read once, grouped by period)."""
    periods = as_periods(periods)
    f = periods.selection
    s, v = surveys.c, survey_invitations.c
    a = periods.rows(surveys, s.answered_at, [s.kind, s.score], f.fact_clauses(surveys))
    answers = (
        select(
            a.c.p,
            count_if(a.c.kind == "nps").label("nps_answers"),
            count_if(and_(a.c.kind == "nps", a.c.score >= 9)).label("promoters"),
            count_if(and_(a.c.kind == "nps", a.c.score <= 6)).label("detractors"),
            count_if(a.c.kind == "csat").label("csat_answers"),
            count_if(and_(a.c.kind == "csat", a.c.score >= 4)).label("csat_satisfied"),
            count_if(a.c.kind == "ces").label("ces_answers"),
            as_float(func.avg(case((a.c.kind == "ces", a.c.score)))).label("ces"),
            as_float(func.stddev_samp(case((a.c.kind == "ces", a.c.score)))).label("ces_sd"),
        ).group_by(a.c.p).subquery("answers")
    )
    i = periods.rows(survey_invitations, v.sent_at, [v.answered], f.fact_clauses(survey_invitations))
    sent = select(i.c.p, func.count().label("invitations"),
                  count_if(i.c.answered).label("invitations_answered")).group_by(i.c.p).subquery("sent")
    t = periods.table()
    counts = ("nps_answers", "promoters", "detractors", "csat_answers", "csat_satisfied", "ces_answers")
    query = (select(t.c.p, *[answers.c[name] for name in (*counts, "ces", "ces_sd")],
                    sent.c.invitations, sent.c.invitations_answered)
             .select_from(t.outerjoin(answers, answers.c.p == t.c.p).outerjoin(sent, sent.c.p == t.c.p))
             .order_by(t.c.p))
    facts = []
    for row in conn.execute(query).mappings().all():
        row = {**row, **{name: int(row[name] or 0) for name in (*counts, "invitations", "invitations_answered")}}
        nps_n = row["nps_answers"]
        nps = (100.0 * (row["promoters"] - row["detractors"]) / nps_n) if nps_n else None
        facts.append({
            "nps": nps,
            "nps_answers": nps_n,
            "promoters": row["promoters"],
            "detractors": row["detractors"],
            "csat": ratio(row["csat_satisfied"], row["csat_answers"]),
            "csat_answers": row["csat_answers"],
            "csat_satisfied": row["csat_satisfied"],
            "invitations_answered": row["invitations_answered"],
            "ces": row["ces"],
            "ces_answers": row["ces_answers"],
            "ces_sd": row["ces_sd"],
            "invitations": row["invitations"],
            "survey_response_rate": ratio(row["invitations_answered"], row["invitations"]),
        })
    return facts


def nps_by_period(conn: Connection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """NPS and its number of answers per period of the range."""
    s = surveys.c
    period = func.date_trunc(grain, s.answered_at).label("period")
    query = (select(period, func.count().label("answers"), count_if(s.score >= 9).label("promoters"),
                    count_if(s.score <= 6).label("detractors"))
             .where(s.kind == "nps", filters.in_period(s.answered_at), *filters.fact_clauses(surveys))
             .group_by(period).order_by(period))
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["period", "answers", "promoters", "detractors"])
    frame["nps"] = [100.0 * (p - d) / n if n else None
                    for p, d, n in zip(frame.promoters, frame.detractors, frame.answers)]
    return frame
