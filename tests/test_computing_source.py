"""pages/ui.py: a computation that reads another kept result (the value models, the
scorecard) reads that of the source it is computed for, also in a background thread of the
server's warming, where no page, session or configured source is around it."""

from __future__ import annotations

import logging
import shutil
import threading

import i18n
from metrics.filters import Filters
from pages import ui, warm


def test_the_value_and_churn_sections_read_the_value_models_of_their_own_source(demo_path, tmp_path, monkeypatch,
                                                                                 caplog):
    source = tmp_path / "crm.duckdb"
    shutil.copy(demo_path, source)
    url = f"duckdb:///{source}"
    # the source configured for the pages is another one, which cannot be opened
    monkeypatch.setenv("CRM_DB_URL", f"duckdb:///{tmp_path / 'elsewhere' / 'crm.duckdb'}")
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.setenv("CRM_CACHE_DIR", str(tmp_path / "cache"))
    for cached in (ui._compute_for, ui.results, ui.fingerprint):
        cached.clear()
    start, end = warm.default_filters(url).start, warm.default_filters(url).end
    f = Filters(start=start, end=end, compare="previous")
    results: dict = {}

    def warming() -> None:           # as the server's warming thread computes them (pages/warm.py)
        with i18n.using("en"):
            results["clv"] = ui._compute(url, "clv", f, (12, "segment"))
            results["churn"] = ui._compute(url, "churn", f, (90, 12, "segment"))

    with caplog.at_level(logging.WARNING):
        thread = threading.Thread(target=warming, name="warm-default-view")
        thread.start()
        thread.join(300)
    assert results["clv"]["error"] is None and results["clv"]["customers"] > 0
    assert results["churn"]["error"] is None and results["churn"]["customers"] > 0
    # the value models were fitted once, for this source and every language, and kept under it
    version = ui.fingerprint(url)
    assert (version, ("clv.fit", url, f, 12, "segment")) in ui.results()
    # nothing drawn from the thread (a spinner without a page): no "missing ScriptRunContext"
    assert not [r for r in caplog.records if "ScriptRunContext" in r.getMessage()]
    for cached in (ui._compute_for, ui.results, ui.fingerprint):
        cached.clear()


def test_the_value_models_are_fitted_once_for_every_language(demo_path, tmp_path, monkeypatch):
    """The fit (about 4 s at 1M customers) is kept once per selection and data refresh: the
    value section in English and in Spanish reads the same fit, and the error of a
    selection without enough history reads in each language."""
    monkeypatch.setenv("CRM_APP_DB_URL", f"sqlite:///{tmp_path}/app.sqlite")
    monkeypatch.setenv("CRM_CACHE_DIR", str(tmp_path / "cache"))
    for cached in (ui._compute_for, ui._clv_fit_for, ui.results, ui.fingerprint):
        cached.clear()
    url = f"duckdb:///{demo_path}"
    fits: list[Filters] = []
    fit = ui.clv.customer_values

    def counted(conn, f, *args, **kwargs):
        fits.append(f)
        return fit(conn, f, *args, **kwargs)

    monkeypatch.setattr(ui.clv, "customer_values", counted)
    whole = warm.default_filters(url)
    nobody = whole.with_values(segment="no such segment")
    shown = {}
    for lang in ("en", "es"):
        with i18n.using(lang):
            shown[lang] = {f: ui._compute(url, "clv", f, (12, "segment")) for f in (whole, nobody)}
    assert fits == [whole, nobody]
    assert shown["en"][whole]["error"] is None and shown["en"][whole]["customers"] > 0
    assert shown["es"][whole]["overall"] == shown["en"][whole]["overall"]
    assert shown["en"][nobody]["error"] == "No purchases before the calibration end in this selection."
    assert shown["es"][nobody]["error"] == "No hay compras antes del final de la calibración en esta selección."
    for cached in (ui._compute_for, ui._clv_fit_for, ui.results, ui.fingerprint):
        cached.clear()
