"""How KPI values read: one formatter per unit, shared by the CLI, exports and the app."""

from __future__ import annotations

from i18n import N_, _, ngettext, number
from metrics.catalogue import Unit

#: Per unit: the factor a value is shown at (a fraction as a percentage) and its decimals.
SHOWN: dict[Unit, tuple[float, int]] = {
    Unit.PERCENT: (100.0, 1),
    Unit.POINTS: (1.0, 1),
    Unit.RATIO: (1.0, 2),
    Unit.HOURS: (1.0, 1),
    Unit.DAYS: (1.0, 0),
    Unit.PER_THOUSAND: (1.0, 1),
    Unit.SCORE: (1.0, 2),
}


#: What a target is written in, per unit (percentages are entered as percents: 95 for 95 %).
UNIT_NAMES: dict[Unit, str] = {
    Unit.PERCENT: N_("%"), Unit.POINTS: N_("NPS points"), Unit.RATIO: N_("times"), Unit.HOURS: N_("hours"),
    Unit.DAYS: N_("days"), Unit.PER_THOUSAND: N_("per 1,000 active customers"), Unit.SCORE: N_("score"),
}


def shown(value: float, unit: Unit) -> str:
    """The number as it reads (scaled, to the unit's decimals, in the current language); a
    difference too small to show reads 0, never -0."""
    factor, decimals = SHOWN[unit]
    text = number(value * factor, decimals)
    return number(0.0, decimals) if text.lstrip("-") == number(0.0, decimals) else text


def format_value(value: float | None, unit: Unit, signed: bool = False) -> str:
    """A KPI value in its unit: 12.3 %, 4.2 h, 31 days, 2.8, 3.1x, 11.8 per 1,000, NPS points.

    ``signed`` formats a difference: percentages then read as percentage points (pp); a
    difference that rounds to nothing reads 0.0, without a sign.
    """
    if value is None:
        return _("no data")
    text = shown(value, unit)
    if signed and value > 0 and text != shown(0.0, unit):
        text = "+" + text
    if unit is Unit.PERCENT:
        return (_("{value} pp") if signed else _("{value} %")).format(value=text)
    if unit is Unit.RATIO:
        return _("{value}x").format(value=text)
    if unit is Unit.HOURS:
        if not signed and 0 < value < 1:   # a median of 12 minutes, not "0.2 h"
            return _("{value} min").format(value=number(value * 60))
        return _("{value} h").format(value=text)
    if unit is Unit.DAYS:
        return ngettext("{value} day", "{value} days", abs(round(value))).format(value=text)
    if unit is Unit.PER_THOUSAND:
        return _("{value} per 1,000").format(value=text)
    return text
