"""95 % intervals for the KPIs measured on a sample of answers or records.

- a proportion (CSAT, SLA compliance, win rate...): the Wilson score interval
  (statsmodels ``proportion_confint(method="wilson")``), which stays inside [0, 1] and
  behaves on small n;
- NPS (= 100 x (share of promoters - share of detractors)): the normal interval of a
  difference of two shares of one multinomial sample,
  ``NPS ± z x 100 x sqrt((p + d - (p - d)^2) / n)`` with p, d the promoter and
  detractor shares;
- a change of NPS between two independent periods: ``Δ ± z x sqrt(se1^2 + se2^2)``;
- a mean score (CES): the normal interval ``mean ± z x sd / sqrt(n)``.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile

WILSON = "wilson"
NPS_NORMAL = "nps normal"
MEAN_NORMAL = "mean normal"


def wilson(successes: int, trials: int) -> tuple[float, float] | None:
    """The 95 % Wilson interval of successes / trials (None without trials)."""
    if not trials:
        return None
    # imported here: statsmodels takes 0.7 s to import, and a server reads its first figures
    # on the other core while it imports its libraries (pages/serve.py), before this is needed
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(int(successes), int(trials), alpha=0.05, method="wilson")
    p = successes / trials
    return min(float(low), p), max(float(high), p)


def nps_standard_error(promoters: int, detractors: int, answers: int) -> float | None:
    """Standard error of NPS in points: 100 x sqrt((p + d - (p - d)^2) / n)."""
    if not answers:
        return None
    p, d = promoters / answers, detractors / answers
    return 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / answers)


def nps_interval(promoters: int, detractors: int, answers: int) -> tuple[float, float] | None:
    """The 95 % normal interval of NPS (points), clipped to [-100, 100]."""
    se = nps_standard_error(promoters, detractors, answers)
    if se is None:
        return None
    nps = 100.0 * (promoters - detractors) / answers
    return max(nps - Z95 * se, -100.0), min(nps + Z95 * se, 100.0)


def difference_interval(difference: float, se_a: float | None, se_b: float | None) -> tuple[float, float] | None:
    """The 95 % interval of a difference between two independent estimates."""
    if se_a is None or se_b is None:
        return None
    half = Z95 * math.sqrt(se_a**2 + se_b**2)
    return difference - half, difference + half


def mean_interval(mean: float | None, sd: float | None, n: int) -> tuple[float, float] | None:
    """The 95 % normal interval of a mean score."""
    if mean is None or sd is None or n < 2:
        return None
    half = Z95 * sd / math.sqrt(n)
    return mean - half, mean + half
