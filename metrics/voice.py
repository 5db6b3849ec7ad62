"""The voice of the customer: NPS, CSAT, CES and survey response rate (metrics.md §1)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import pandas as pd
from sqlalchemy import BigInteger, Select, and_, case, cast, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery

from data.schema import survey_invitations, surveys
from metrics import cube
from metrics.filters import Filters
from metrics.periods import Periods, as_periods, by_period
from metrics.sql import count_if, ratio


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
    each read once, grouped by period), or, with a customer filter in the app, summed from
    the kept cube of the periods (:mod:`metrics.cube`).

    The CES mean and standard deviation are made from the count, sum and sum of squares of
    the scores (whole numbers, added exactly): the same figures from either path.
    """
    periods = as_periods(periods)
    rows = cube.counts(conn, "surveys", periods, SURVEY_SUMS, _survey_cube)
    if rows is None:
        answers, sent = _survey_parts(periods)
        t = periods.table()
        query = (select(t.c.p, *[answers.c[name] for name in ANSWER_SUMS], *[sent.c[name] for name in SENT_SUMS])
                 .select_from(t.outerjoin(answers, answers.c.p == t.c.p).outerjoin(sent, sent.c.p == t.c.p)))
        rows = [{name: int(row[name] or 0) for name in SURVEY_SUMS}
                for row in by_period(periods, conn.execute(query).mappings().all(), {})]
    return [_survey_facts(row) for row in rows]


#: The sums the survey facts are made of (counts of answers and invitations, and the CES
#: scores' sum and sum of squares).
ANSWER_SUMS = ("nps_answers", "promoters", "detractors", "csat_answers", "csat_satisfied", "ces_answers",
               "ces_sum", "ces_squares")
SENT_SUMS = ("invitations", "invitations_answered")
SURVEY_SUMS = (*ANSWER_SUMS, *SENT_SUMS)


def _survey_facts(row: dict[str, int]) -> dict[str, float | None]:
    nps_n, ces_n = row["nps_answers"], row["ces_answers"]
    nps = (100.0 * (row["promoters"] - row["detractors"]) / nps_n) if nps_n else None
    return {
        "nps": nps,
        "nps_answers": nps_n,
        "promoters": row["promoters"],
        "detractors": row["detractors"],
        "csat": ratio(row["csat_satisfied"], row["csat_answers"]),
        "csat_answers": row["csat_answers"],
        "csat_satisfied": row["csat_satisfied"],
        "invitations_answered": row["invitations_answered"],
        "ces": row["ces_sum"] / ces_n if ces_n else None,
        "ces_answers": ces_n,
        "ces_sd": _sample_sd(ces_n, row["ces_sum"], row["ces_squares"]),
        "invitations": row["invitations"],
        "survey_response_rate": ratio(row["invitations_answered"], row["invitations"]),
    }


def _sample_sd(n: int, total: int, squares: int) -> float | None:
    """Sample standard deviation of ``n`` whole numbers from their sum and sum of squares:
    the variance ``(n * squares - total**2) / (n * (n - 1))`` computed exactly, then its root
    (None below two values, as SQL's ``stddev_samp``)."""
    if n < 2:
        return None
    return math.sqrt(Fraction(n * squares - total * total, n * (n - 1)))


def _survey_parts(periods: Periods, by: Subquery | None = None) -> tuple[Subquery, Subquery]:
    """The answers' and the invitations' sums per period (and, with the customers'
    attribution ``by``, per combination of customer dimensions: the cube)."""
    f = periods.selection
    s, v = surveys.c, survey_invitations.c
    answered = surveys if by is None else surveys.outerjoin(by, by.c.customer_id == s.customer_id)
    a = periods.rows(answered, s.answered_at, [s.kind, s.score, *([] if by is None else cube.dimension_columns(by))],
                     f.fact_clauses(surveys)).c
    ces = case((a.kind == "ces", a.score))
    keys = [] if by is None else [a[key] for key in cube.KEYS]
    answers = (
        select(
            a.p, *keys,
            count_if(a.kind == "nps").label("nps_answers"),
            count_if(and_(a.kind == "nps", a.score >= 9)).label("promoters"),
            count_if(and_(a.kind == "nps", a.score <= 6)).label("detractors"),
            count_if(a.kind == "csat").label("csat_answers"),
            count_if(and_(a.kind == "csat", a.score >= 4)).label("csat_satisfied"),
            count_if(a.kind == "ces").label("ces_answers"),
            func.coalesce(func.sum(cast(ces, BigInteger)), 0).label("ces_sum"),
            func.coalesce(func.sum(cast(ces, BigInteger) * ces), 0).label("ces_squares"),
        ).group_by(a.p, *keys).subquery("answers")
    )
    invited = survey_invitations if by is None else survey_invitations.outerjoin(by, by.c.customer_id == v.customer_id)
    i = periods.rows(invited, v.sent_at, [v.answered, *([] if by is None else cube.dimension_columns(by))],
                     f.fact_clauses(survey_invitations)).c
    keys = [] if by is None else [i[key] for key in cube.KEYS]
    sent = (select(i.p, *keys, func.count().label("invitations"),
                   count_if(i.answered).label("invitations_answered"))
            .group_by(i.p, *keys).subquery("sent"))
    return answers, sent


def _survey_cube(conn: Connection, periods: Periods) -> pd.DataFrame:
    """The survey sums per period and combination of customer dimensions (metrics.cube)."""
    answers, sent = _survey_parts(periods, cube.attribution())
    return cube.frame([(conn.execute(select(answers)).mappings().all(), ANSWER_SUMS),
                       (conn.execute(select(sent)).mappings().all(), SENT_SUMS)])


def keep_survey_cube(conn: Connection, periods: Periods | Sequence[Filters]) -> None:
    """Compute and keep the survey cube of these periods (:func:`metrics.cube.keep`)."""
    cube.keep(conn, "surveys", as_periods(periods), _survey_cube)


def nps_by_period(conn: Connection, filters: Filters, grain: str = "month") -> pd.DataFrame:
    """NPS and its number of answers per period of the range (with a customer filter in the
    app, the counts summed from the kept cube of the range: :class:`metrics.cube.Series`)."""
    frame = _nps_series(grain).read(conn, filters)
    frame["nps"] = [100.0 * (p - d) / n if n else None
                    for p, d, n in zip(frame.promoters, frame.detractors, frame.answers)]
    return frame


def keep_nps_cube(conn: Connection, filters: Filters, grain: str = "month") -> None:
    """Compute and keep the cube of :func:`nps_by_period` for these dates (the warming)."""
    _nps_series(grain).keep(conn, filters)


def _nps_series(grain: str) -> cube.Series:
    return cube.Series(f"nps/{grain}", lambda f, by: _nps_query(f, grain, by), ("period",),
                       ("answers", "promoters", "detractors"))


def _nps_query(filters: Filters, grain: str, by: Subquery | None) -> Select:
    """The NPS answers per period statement (and, with the customers' attribution ``by``, per
    combination of customer dimensions: the cube)."""
    s = surveys.c
    period = func.date_trunc(grain, s.answered_at).label("period")
    dims = [] if by is None else cube.dimension_columns(by)
    query = (select(period, *dims, func.count().label("answers"), count_if(s.score >= 9).label("promoters"),
                    count_if(s.score <= 6).label("detractors"))
             .where(s.kind == "nps", filters.in_period(s.answered_at), *filters.fact_clauses(surveys))
             .group_by(period, *cube.grouped(dims)).order_by(period))
    return query if by is None else query.select_from(surveys.outerjoin(by, by.c.customer_id == s.customer_id))
