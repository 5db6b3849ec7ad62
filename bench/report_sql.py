"""The scorecard of metrics.catalogue as hand-written DuckDB SQL: the speed reference.

One statement, run through the ``duckdb`` Python API with the period bounds as
parameters: a ``periods`` row per period (the range, the previous period of the same
length and, for the growth KPIs of the previous period, the one before it), one
aggregate per metric family over all its periods at once, and the KPIs computed from
those in a final projection, ``lead()`` reaching the period before for the changes and
growths. Definitions as in metrics/*.py (summarised in bench/report_pandas.py). What an
expert adds beyond the definitions:

- each table is scanned once for all periods: small tables joined to the period rows,
  interactions (the largest) given its period by CASE and first reduced to a small cube;
  only the per-customer department sets are grouped per period (smaller hash tables);
- "at least two distinct departments" as a bit set of the departments (a closed set in
  the schema: sales, service, marketing, back_office, partner), grouped per period;
- emails normalised once, each counted from the first record that carries it;
- orders not joined back to customers: the schema's foreign key (enforced by DuckDB)
  already guarantees every order has its customer;
- the NPV sum in closed form (a geometric series).

Only ``compare = previous`` and no dimension filters: the benchmark's scope.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

SCORECARD_SQL = """
WITH periods AS (  -- p = 0: the range; 1: the previous period; 2: the one before (growth only)
    SELECT *
    FROM (VALUES (0, $start0, $as_of0), (1, $start1, $start0), (2, $start2, $start1)) AS v(p, start_at, as_of)
),
survey AS (
    SELECT p,
           100.0 * (count(*) FILTER (kind = 'nps' AND score >= 9)
                    - count(*) FILTER (kind = 'nps' AND score <= 6))
                 / nullif(count(*) FILTER (kind = 'nps'), 0) AS nps,
           count(*) FILTER (kind = 'csat' AND score >= 4) / nullif(count(*) FILTER (kind = 'csat'), 0) AS csat,
           avg(score) FILTER (kind = 'ces') AS ces
    FROM periods JOIN surveys ON answered_at >= start_at AND answered_at < as_of
    GROUP BY p
),
invitation AS (
    SELECT p, count(*) FILTER (answered) / count(*) AS survey_response_rate
    FROM periods JOIN survey_invitations ON sent_at >= start_at AND sent_at < as_of
    WHERE p < 2
    GROUP BY p
),
ticket_status AS (
    SELECT p, sla_class, channel, category, escalated, resolved_by,
           coalesce(resolved_at < as_of, false) AS resolved,
           epoch(resolved_at) - epoch(opened_at) AS resolution_seconds,
           epoch(as_of) - epoch(opened_at) AS age_seconds,
           CASE sla_class WHEN 'immediate' THEN 180.0 ELSE 86400.0 END AS limit_seconds
    FROM periods JOIN tickets ON opened_at >= start_at AND opened_at < as_of
    WHERE p < 2
),
ticket AS (
    SELECT p,
           count(*) FILTER (met) / nullif(count(*) FILTER (met OR breached), 0) AS sla_compliance,
           count(*) FILTER (escalated AND met)
               / nullif(count(*) FILTER (escalated AND (met OR breached)), 0) AS escalated_within_sla,
           quantile_cont(resolution_seconds, 0.5) FILTER (resolved) / 3600.0 AS resolution_hours,
           count(*) FILTER (channel = 'in_person') / count(*) AS in_person_share,
           count(*) FILTER (resolved AND resolved_by = 'self_service')
               / nullif(count(*) FILTER (resolved), 0) AS self_service_share,
           count(*) FILTER (category = 'complaint') AS complaints
    FROM (SELECT *,
                 resolved AND resolution_seconds <= limit_seconds AS met,
                 (resolved AND resolution_seconds > limit_seconds)
                     OR (NOT resolved AND age_seconds > limit_seconds) AS breached
          FROM ticket_status)
    GROUP BY p
),
deal AS (
    SELECT p,
           count(*) FILTER (status = 'won') / count(*) AS win_rate,
           quantile_cont(epoch(closed_at) - epoch(created_at), 0.5) FILTER (status = 'won') / 86400.0
               AS sales_cycle_days,
           coalesce(sum(amount) FILTER (status = 'won' AND source = 'partner'), 0)::DOUBLE
               / nullif(sum(amount) FILTER (status = 'won'), 0) AS partner_won_share
    FROM periods JOIN opportunities ON closed_at >= start_at AND closed_at < as_of
    WHERE p < 2 AND status IN ('won', 'lost')
    GROUP BY p
),
interaction_cube AS (  -- the big table: both periods in one scan (period by CASE), down to a few hundred rows
    SELECT CASE WHEN occurred_at >= $start0 THEN 0 ELSE 1 END AS p, direction, channel,
           campaign_id IS NOT NULL AS campaign, coalesce(responded, false) AS responded,
           customer_id IS NOT NULL AS linked, count(*) AS n
    FROM interactions
    WHERE occurred_at >= $start1 AND occurred_at < $as_of0
    GROUP BY ALL
),
interaction AS (
    SELECT p,
           sum(n) FILTER (direction = 'outbound' AND campaign AND responded)
               / nullif(sum(n) FILTER (direction = 'outbound' AND campaign), 0) AS campaign_response_rate,
           sum(n) FILTER (direction = 'inbound' AND channel IN ('web', 'chat', 'email', 'mobile', 'social'))
               / nullif(sum(n) FILTER (direction = 'inbound'), 0) AS digital_share,
           sum(n) FILTER (linked) / sum(n) AS linked_interactions
    FROM interaction_cube
    GROUP BY p
),
departments AS (  -- per customer, the departments that served them as bits: a set in one integer
    SELECT 0 AS p, bit_or(CASE department WHEN 'sales' THEN 1 WHEN 'service' THEN 2 WHEN 'marketing' THEN 4
                                          WHEN 'back_office' THEN 8 ELSE 16 END) AS served_by
    FROM interactions
    WHERE occurred_at >= $start0 AND occurred_at < $as_of0 AND customer_id IS NOT NULL
    GROUP BY customer_id
    UNION ALL
    SELECT 1, bit_or(CASE department WHEN 'sales' THEN 1 WHEN 'service' THEN 2 WHEN 'marketing' THEN 4
                                     WHEN 'back_office' THEN 8 ELSE 16 END)
    FROM interactions
    WHERE occurred_at >= $start1 AND occurred_at < $start0 AND customer_id IS NOT NULL
    GROUP BY customer_id
),
served AS (
    SELECT p, count(*) FILTER (bit_count(served_by) >= 2) / count(*) AS multi_department_share
    FROM departments
    GROUP BY p
),
quality AS (
    SELECT p,
           (count(name) + count(email) + count(phone) + count(segment) + count(region) + count(industry))
               / (6 * count(*)) AS completeness,
           count(email) AS with_email,
           CASE WHEN count(*) FILTER (updated_at >= as_of) <= 0.05 * count(*)
                THEN quantile_cont(epoch(as_of) - epoch(updated_at), 0.5) FILTER (updated_at < as_of) / 86400.0
           END AS days_since_update
    FROM periods JOIN customers ON created_at < as_of
    WHERE p < 2
    GROUP BY p, as_of
),
email AS (  -- distinct normalised emails among records created before as_of: normalise once
    SELECT p, count(*) AS distinct_emails
    FROM periods
    JOIN (SELECT lower(trim(email)) AS email, min(created_at) AS first_created_at
          FROM customers WHERE email IS NOT NULL GROUP BY 1) ON first_created_at < as_of
    WHERE p < 2
    GROUP BY p
),
activity AS (  -- per customer and period: active in the last year, in the year before, margin
    SELECT p, customer_id,
           bool_or(amount > 0 AND ordered_at >= as_of - INTERVAL 365 DAY) AS active,
           bool_or(amount > 0 AND ordered_at < as_of - INTERVAL 365 DAY) AS active_before,
           coalesce(sum(coalesce(margin, amount)) FILTER (ordered_at >= as_of - INTERVAL 365 DAY), 0) AS margin
    FROM periods JOIN orders ON ordered_at >= as_of - INTERVAL 730 DAY AND ordered_at < as_of
    GROUP BY p, customer_id  -- no join to customers: orders.customer_id is a FOREIGN KEY DuckDB enforces
),
retention AS (
    SELECT p,
           count(*) FILTER (active) AS active_customers,
           sum(margin)::DOUBLE / nullif(count(*) FILTER (active), 0) AS margin_per_customer,
           count(*) FILTER (active AND active_before) / nullif(count(*) FILTER (active_before), 0) AS retention
    FROM activity
    GROUP BY p
),
value AS (  -- NPV CLV = sum_{t=1..H} m r^(t-1) / (1+d)^t = m/(1+d) (1 - q^H) / (1 - q), q = r/(1+d)
    SELECT p, active_customers,
           margin_per_customer / (1 + $discount) * (1 - pow(retention / (1 + $discount), $horizon))
               / (1 - retention / (1 + $discount)) AS clv
    FROM retention
),
acquisition AS (
    SELECT p, count(*) AS new_customers
    FROM periods JOIN customers ON acquired_at >= start_at AND acquired_at < as_of
    WHERE p < 2
    GROUP BY p
),
campaign AS (
    SELECT p, sum(cost)::DOUBLE AS campaign_cost
    FROM periods JOIN campaigns ON started_at >= start_at AND started_at < as_of
    WHERE p < 2
    GROUP BY p
),
facts AS (
    SELECT *, clv * active_customers AS equity
    FROM periods
    LEFT JOIN survey USING (p) LEFT JOIN invitation USING (p) LEFT JOIN ticket USING (p)
    LEFT JOIN deal USING (p) LEFT JOIN interaction USING (p) LEFT JOIN served USING (p)
    LEFT JOIN quality USING (p) LEFT JOIN email USING (p)
    LEFT JOIN acquisition USING (p) LEFT JOIN campaign USING (p) LEFT JOIN value USING (p)
),
kpis AS (
    SELECT p, nps,
           nps - lead(nps) OVER w AS nps_change,
           CASE WHEN lead(equity) OVER w > 0 THEN equity / lead(equity) OVER w - 1 END
               AS customer_equity_growth,
           CASE WHEN lead(active_customers) OVER w > 0 THEN active_customers / lead(active_customers) OVER w - 1 END
               AS active_customers_growth,
           CASE WHEN campaign_cost <> 0 AND new_customers > 0 THEN clv / (campaign_cost / new_customers) END
               AS clv_cac,
           csat, ces,
           1000.0 * complaints / nullif(active_customers, 0) * 30.0 / $days AS complaints_per_1000,
           escalated_within_sla, partner_won_share, multi_department_share, sla_compliance,
           resolution_hours, campaign_response_rate, win_rate, sales_cycle_days, completeness,
           1 - distinct_emails / nullif(with_email, 0) AS duplicate_rate, linked_interactions,
           days_since_update, digital_share, in_person_share,
           self_service_share, survey_response_rate
    FROM facts
    WINDOW w AS (ORDER BY p)
)
SELECT * FROM kpis WHERE p < 2 ORDER BY p
"""


def scorecard(con: duckdb.DuckDBPyConnection, start: date, end: date, discount_rate: float = 0.10,
              horizon_years: int = 5) -> dict[str, tuple]:
    """KPI name -> (value in the range, value in the previous period)."""
    first = datetime(start.year, start.month, start.day)
    days = timedelta(days=(end - start).days + 1)
    bounds = {"start0": first, "as_of0": first + days, "start1": first - days, "start2": first - 2 * days}
    result = con.execute(SCORECARD_SQL, {**bounds, "days": days.days, "discount": discount_rate,
                                         "horizon": horizon_years})
    names = [d[0] for d in result.description][1:]
    now, before = (row[1:] for row in result.fetchall())
    return {name: (value, previous) for name, value, previous in zip(names, now, before)}


def report(path: str | Path, start: date, end: date) -> dict[str, tuple]:
    """Open the DuckDB file read-only and compute the scorecard."""
    with duckdb.connect(str(path), read_only=True) as con:
        return scorecard(con, start, end)
