"""How KPI values read: one formatter per unit, shared by the CLI, exports and the app."""

from __future__ import annotations

from metrics.catalogue import Unit


def format_value(value: float | None, unit: Unit, signed: bool = False) -> str:
    """A KPI value in its unit: 12.3 %, 4.2 h, 31 days, 2.8, 3.1x, 11.8 per 1,000, NPS points.

    ``signed`` formats a difference: percentages then read as percentage points (pp).
    """
    if value is None:
        return "no data"
    sign = "+" if signed and value > 0 else ""
    if unit is Unit.PERCENT:
        return f"{sign}{value * 100:.1f} pp" if signed else f"{value * 100:.1f} %"
    if unit is Unit.POINTS:
        return f"{sign}{value:.1f}"
    if unit is Unit.RATIO:
        return f"{sign}{value:.2f}x"
    if unit is Unit.HOURS:
        return f"{sign}{value:.1f} h"
    if unit is Unit.DAYS:
        return f"{sign}{value:.0f} days"
    if unit is Unit.PER_THOUSAND:
        return f"{sign}{value:.1f} per 1,000"
    return f"{sign}{value:.2f}"
