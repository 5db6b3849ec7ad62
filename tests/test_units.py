"""KPI values as they read (metrics/units.py)."""

from __future__ import annotations

import pytest

from i18n import using

from metrics.catalogue import Unit
from metrics.units import format_value, shown


@pytest.mark.parametrize("value, unit, signed, text", [
    (0.897, Unit.PERCENT, False, "89.7 %"),
    (-0.012, Unit.PERCENT, True, "-1.2 pp"),
    (0.0123, Unit.PERCENT, True, "+1.2 pp"),
    (-0.0004, Unit.PERCENT, True, "0.0 pp"),      # -0.04 pp shows as nothing: no sign, no arrow
    (0.0004, Unit.PERCENT, True, "0.0 pp"),
    (-0.04, Unit.POINTS, True, "0.0"),
    (4.8, Unit.POINTS, True, "+4.8"),
    (3.456, Unit.RATIO, False, "3.46x"),
    (7.25, Unit.HOURS, False, "7.2 h"),            # half to even, as Babel rounds
    (0.2, Unit.HOURS, False, "12 min"),             # under an hour: minutes, not "0.2 h"
    (-0.2, Unit.HOURS, True, "-0.2 h"),             # a change stays in the KPI's hours
    (-0.4, Unit.DAYS, True, "0 days"),
    (30.6, Unit.DAYS, False, "31 days"),
    (-1.0, Unit.DAYS, True, "-1 day"),              # one day, singular, whatever its sign
    (1.2, Unit.DAYS, False, "1 day"),
    (1234.5, Unit.PER_THOUSAND, False, "1,234.5 per 1,000"),
    (2.825, Unit.SCORE, False, "2.82"),            # half to even
    (None, Unit.PERCENT, False, "no data"),
])
def test_values_read_in_their_unit(value, unit, signed, text):
    assert format_value(value, unit, signed) == text


def test_days_in_spanish_singular_and_plural():
    with using("es"):
        assert [format_value(v, Unit.DAYS, True) for v in (-1.0, 1.0, 2.0, 0.0)] == [
            "-1 día", "+1 día", "+2 días", "0 días"]


def test_a_change_too_small_to_show_is_zero():
    assert shown(-0.0004, Unit.PERCENT) == "0.0"
    assert shown(-0.012, Unit.PERCENT) == "-1.2"
    assert shown(2.675, Unit.SCORE) == "2.68"        # Babel's rounding of the decimal text, as before
