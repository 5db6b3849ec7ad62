"""Values from links or data made harmless for where they are shown or saved.

- :func:`markdown`: the punctuation that Markdown (CommonMark + GFM, Streamlit's flavour)
  acts on is backslash-escaped (CommonMark lets any ASCII punctuation be escaped), a
  leading list marker too, and line breaks become spaces; so ``[Sign in](https://evil.example)``
  shows as typed, never as a link (``:`` and ``@`` and ``.`` escaped: no autolink either),
  emphasis, an icon (``:material/x:``), a colour directive or a formula. Streamlit renders
  no raw HTML unless asked, and ``<`` is escaped as well. Hyphens, commas, slashes stay
  as they are, so dates read normally in the source of a caption.
- :func:`csv_cell` / :func:`csv_frame` / :func:`to_csv`: spreadsheet formulas neutralised
  per OWASP's CSV-injection advice: a text cell that starts with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return gets a leading single quote, so that a spreadsheet shows it as
  text instead of evaluating it. Numbers stay numbers (a negative amount is not a formula).

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import re
import string

import pandas as pd

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_HARMLESS = "-,;'\"/?%&="
_PUNCTUATION = re.compile("([" + re.escape("".join(c for c in string.punctuation if c not in _HARMLESS)) + "])")
_LEADING_MARKER = re.compile(r"^(\s*)([-+=])")
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def markdown(value: object) -> str:
    """``value`` as text that Markdown shows literally (no link, no emphasis, no HTML)."""
    text = _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(value)))
    return _LEADING_MARKER.sub(r"\1\\\2", text)


def csv_cell(value: object) -> object:
    """A text cell that a spreadsheet would evaluate, prefixed with ``'``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) passed through :func:`csv_cell`."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(csv_cell)
    out.columns = [csv_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def to_csv(frame: pd.DataFrame, **kwargs) -> str:
    """``frame.to_csv`` with formulas neutralised (every download and the CLI use this)."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("quoting", csv.QUOTE_NONNUMERIC)  # text always quoted: a CR inside stays in its cell
    return csv_frame(frame).to_csv(**kwargs)
