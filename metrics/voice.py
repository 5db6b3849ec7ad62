"""The voice of the customer: NPS, CSAT, CES and survey response rate (metrics.md §1)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from data.schema import survey_invitations, surveys
from metrics.filters import Filters
from metrics.sql import as_float, count_if, ratio


def survey_facts(conn: Connection, filters: Filters) -> dict[str, float | None]:
    """Survey answers and invitations in the range.

    - nps = 100 x (share of NPS answers 9-10 - share 0-6);
    - csat = share of CSAT answers (surveys of kind csat) scoring 4 or 5;
    - ces = mean customer-effort score (1..7, lower is easier);
    - survey_response_rate = invitations sent in the range that were answered / sent.
    """
    s = surveys.c
    answers = conn.execute(
        select(
            count_if(s.kind == "nps").label("nps_answers"),
            count_if(and_(s.kind == "nps", s.score >= 9)).label("promoters"),
            count_if(and_(s.kind == "nps", s.score <= 6)).label("detractors"),
            count_if(s.kind == "csat").label("csat_answers"),
            count_if(and_(s.kind == "csat", s.score >= 4)).label("csat_satisfied"),
            count_if(s.kind == "ces").label("ces_answers"),
            as_float(func.avg(case((s.kind == "ces", s.score)))).label("ces"),
            as_float(func.stddev_samp(case((s.kind == "ces", s.score)))).label("ces_sd"),
        ).where(filters.in_period(s.answered_at), *filters.fact_clauses(surveys))
    ).mappings().one()
    v = survey_invitations.c
    sent, answered = conn.execute(
        select(func.count(), count_if(v.answered))
        .where(filters.in_period(v.sent_at), *filters.fact_clauses(survey_invitations))
    ).one()
    nps_n = answers["nps_answers"]
    nps = (100.0 * (answers["promoters"] - answers["detractors"]) / nps_n) if nps_n else None
    return {
        "nps": nps,
        "nps_answers": nps_n,
        "promoters": answers["promoters"],
        "detractors": answers["detractors"],
        "csat": ratio(answers["csat_satisfied"], answers["csat_answers"]),
        "csat_answers": answers["csat_answers"],
        "csat_satisfied": answers["csat_satisfied"],
        "invitations_answered": answered,
        "ces": answers["ces"],
        "ces_answers": answers["ces_answers"],
        "ces_sd": answers["ces_sd"],
        "invitations": sent,
        "survey_response_rate": ratio(answered, sent),
    }



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
