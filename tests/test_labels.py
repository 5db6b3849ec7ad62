"""pages/labels.py: tables' numbers written as the page's language writes them."""

import pandas as pd
import streamlit as st

import i18n
from pages import labels


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"p_alive": [0.93184, None], "customers": [12345, 3], "coef": [0.63231, 1.5],
                         "clv": [1234.5, 2.0], "created_at": pd.to_datetime(["2026-01-02", "2026-03-04"])})


def _config() -> dict:
    return {"p_alive": st.column_config.NumberColumn("P(alive)", format="percent"),
            "customers": st.column_config.NumberColumn("Customers", format="%d"),
            "clv": st.column_config.NumberColumn("CLV"),
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm")}


def _cells(styler) -> list[list[str]]:
    """The text each cell shows (a Styler's display values), row by row."""
    table = styler._translate(False, False)
    return [[cell["display_value"] for cell in row[1:]] for row in table["body"]]


def test_spanish_tables_write_percentages_counts_and_decimals_the_spanish_way():
    with i18n.using("es"):
        shown, config = labels.localised(_frame(), _config(), decimals={"coef": 4})
        cells = _cells(shown)
    # hand-written: 0.93184 = 93,2 %; 12345 with a dot for thousands; 0.63231 to four decimals
    assert cells[0][:3] == ["93,2 %", "12.345", "0,6323"]
    assert cells[1][:3] == ["", "3", "1,5000"]          # a missing value is an empty cell
    # the columns now formatted by the Styler lose Streamlit's own format; the others keep theirs
    assert config["p_alive"]["type_config"]["format"] is None
    assert config["customers"]["type_config"]["format"] is None
    assert config["created_at"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    assert config["p_alive"]["label"] == "P(alive)"


def test_english_tables_write_them_the_english_way():
    with i18n.using("en"):
        cells = _cells(labels.localised(_frame(), _config(), decimals={"coef": 4})[0])
    assert cells[0][:3] == ["93.2 %", "12,345", "0.6323"]


def test_a_styled_table_keeps_its_money_and_gains_the_other_formats():
    frame = _frame()
    with i18n.using("es"):
        money = frame.style.format({"clv": lambda v: i18n.money(v)}, subset=["clv"])
        shown, _config_ = labels.localised(money, _config())
        cells = _cells(shown)
    assert shown is money                                  # the same Styler, one more format
    assert cells[0][0] == "93,2 %" and cells[0][3] == "1.234 €"   # 1234.5 to the even euro
    assert shown.data["p_alive"].iloc[0] == 0.93184        # the numbers stay numbers: sorting is numeric


def test_a_table_with_nothing_to_format_is_left_as_it_is():
    frame = pd.DataFrame({"name": ["Ana"], "when": ["today"]})
    shown, config = labels.localised(frame, {"name": "Name"})
    assert shown is frame and config == {"name": "Name"}


def test_every_number_format_the_pages_use_is_localised():
    """A page giving a column a Streamlit number format not in NUMBER_FORMATS would show it in
    English in every language: every format used under pages/ is listed."""
    import re
    from pathlib import Path

    used = set()
    for path in Path(labels.__file__).parent.glob("*.py"):
        text = path.read_text()
        for call in re.finditer(r"NumberColumn\((?:[^()]|\([^()]*\))*\)", text):
            used |= set(re.findall(r'format="([^"]+)"', call.group(0)))
    used |= {"percent"}         # ui.percent_column
    assert used and used <= set(labels.NUMBER_FORMATS), used - set(labels.NUMBER_FORMATS)


def test_dates_given_the_browsers_format_are_written_in_the_pages_language():
    frame = pd.DataFrame({"last": pd.to_datetime(["2026-11-23 07:58:27"])})
    config = {"last": st.column_config.DatetimeColumn("Last", format="localized")}
    with i18n.using("es"):
        shown, config = labels.localised(frame, config)
        assert _cells(shown)[0][0] == "23 nov 2026, 7:58:27"
    assert config["last"]["type_config"]["format"] is None


def test_a_missing_coded_value_stays_missing():
    assert labels.value_label(float("nan")) is None and labels.value_label(None) is None
    assert labels.value_label("in_person") == "in person"


def test_columns_are_as_wide_as_their_text_as_shown():
    """Streamlit sized a column by its header and cut "Customers served across departm..."."""
    frame = pd.DataFrame({"KPI": ["Customers served across departments", "NPS"], "value": [0.123, 0.5],
                          "filled": [0.9, 1.0], "created": pd.to_datetime(["2026-01-01", "2026-02-01"]),
                          "kept": ["a", "b"], "hidden": [1, 2]})
    config = {"value": st.column_config.NumberColumn("Value", format="percent"),
              "filled": st.column_config.ProgressColumn("Filled"),
              "created": st.column_config.DateColumn("Created", format="YYYY-MM-DD"),
              "kept": st.column_config.TextColumn("Kept", width=150), "hidden": None}
    with i18n.using("es"):
        shown, localised_config, writers = labels._localised(frame, config)
    widths = {name: (entry or {}).get("width") for name, entry in
              labels.fitted_widths(shown, localised_config, writers).items()}
    # 35 characters x 7.2 px + 26 px of padding = 278; "12,3 %" as written in Spanish, 6
    # characters: 69; a date by its format, 10: 98; progress bars, set widths and hidden columns kept
    assert widths == {"KPI": 278, "value": 69, "filled": None, "created": 98, "kept": 150, "hidden": None}


def test_a_long_header_does_not_push_short_numbers_out_of_view():
    frame = pd.DataFrame({"days": [3.857, 16.3]})
    config = {"days": st.column_config.NumberColumn("Mediana de días hasta la atracción", format="%.0f")}
    shown, localised_config, writers = labels._localised(frame, config)
    # 34 characters of header counted as 24: 24 x 7.2 + 26 = 198 px, not 271
    assert labels.fitted_widths(shown, localised_config, writers)["days"]["width"] == 198


def test_a_definition_is_named_once_under_its_tile():
    """The rules page writes each definition under its tile, named (a phone puts the
    definitions after all the tiles): the name in bold, or the definition's own opening words
    where it starts with the name."""
    assert labels.named_definition("CSAT", "Share of CSAT survey answers scoring 4 or 5.") == \
        "**CSAT**: Share of CSAT survey answers scoring 4 or 5."
    assert labels.named_definition("Customer equity growth", "Customer equity growth (active customers x CLV).") \
        == "**Customer equity growth** (active customers x CLV)."
    with i18n.using("es"):
        assert labels.named_definition("Crecimiento del valor de la cartera de clientes",
                                       "Crecimiento del valor de la cartera de clientes (clientes activos x CLV).") \
            == "**Crecimiento del valor de la cartera de clientes** (clientes activos x CLV)."
        assert labels.named_definition("NPS", "Net Promoter Score: % de respuestas 9-10.") == \
            "**NPS**: Net Promoter Score: % de respuestas 9-10."
