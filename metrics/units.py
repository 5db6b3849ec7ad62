"""How KPI values read: one formatter per unit, shared by the CLI, exports and the app."""

from __future__ import annotations

from i18n import _, number
from metrics.catalogue import Unit


def format_value(value: float | None, unit: Unit, signed: bool = False) -> str:
    """A KPI value in its unit: 12.3 %, 4.2 h, 31 days, 2.8, 3.1x, 11.8 per 1,000, NPS points.

    ``signed`` formats a difference: percentages then read as percentage points (pp).
    """
    if value is None:
        return _("no data")
    sign = "+" if signed and value > 0 else ""
    if unit is Unit.PERCENT:
        return (_("{value} pp") if signed else _("{value} %")).format(value=sign + number(value * 100, 1))
    if unit is Unit.POINTS:
        return f"{sign}{number(value, 1)}"
    if unit is Unit.RATIO:
        return _("{value}x").format(value=sign + number(value, 2))
    if unit is Unit.HOURS:
        return _("{value} h").format(value=sign + number(value, 1))
    if unit is Unit.DAYS:
        return _("{value} days").format(value=sign + number(value, 0))
    if unit is Unit.PER_THOUSAND:
        return _("{value} per 1,000").format(value=sign + number(value, 1))
    return f"{sign}{number(value, 2)}"
