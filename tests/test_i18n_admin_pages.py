"""The Data, Import, Alert rules, Access and sign-in pages in Spanish (AppTest, ``?lang=es``):
no exception, their Spanish headings, and none of their English headings left."""

from __future__ import annotations

import pytest

from tests.test_signin_pages import env, run_as  # noqa: F401 — env is a fixture used by name

#: page -> (who sees it, Spanish texts that must be shown, English texts that must not)
PAGES = {
    "data_source": ("root@example.com",
                    ["Datos", "Comprobaciones del modelo de datos", "Tablas y actualidad de los datos",
                     "Calidad de la información (regla 6)", "Comprobar de nuevo"],
                    ["Data model checks", "Tables and freshness", "Information quality", "Check again",
                     "Connection:", "Share of customer records"]),
    "import_data": ("lead@example.com",
                    ["Importar datos", "Importaciones anteriores", "¿No tiene una exportación a mano?"],
                    ["Import data", "Past imports", "No export at hand", "Bring your own CRM", "No import yet"]),
    "alerts": ("lead@example.com",
               ["Reglas de alerta", "**Añadir una regla**", "Avisar cuando", "Añadir regla"],
               ["Alert rules", "Add a rule", "Alert when", "Add rule", "The e-mail digests"]),
    "access_admin": ("root@example.com",
                     ["Accesos", "Quién tiene acceso", "Definición de accesos (TOML)", "Guardar"],
                     ["Who has access", "Access definition", "In force:", "One entry per person"]),
}


def _texts(at) -> list[str]:
    texts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success", "error")
             for e in getattr(at, kind)]
    texts += [e.label for kind in ("button", "selectbox", "text_area", "number_input", "expander", "radio")
              for e in getattr(at, kind)]
    texts += [e.label for e in at.get("form_submit_button")] if hasattr(at, "get") else []
    return [str(t) for t in texts]


@pytest.mark.parametrize("page", list(PAGES))
def test_page_in_spanish_has_no_english_heading(env, page):  # noqa: F811
    who, spanish, english = PAGES[page]
    at = run_as(who, page, {"lang": "es"})
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    joined = "\n".join(texts)
    for text in spanish:
        assert text in joined, (text, texts)
    for text in english:
        assert text not in joined, (text, [t for t in texts if text in t])


def test_sign_in_and_no_access_pages_in_spanish(env):  # noqa: F811
    signed_out = run_as(None, signed_in=False, query={"lang": "es"})
    assert not signed_out.exception
    assert [t.value for t in signed_out.title] == ["Analítica CRM"]
    assert [b.label for b in signed_out.button] == ["Iniciar sesión"]
    stranger = run_as("stranger@example.com", query={"lang": "es"})
    assert [t.value for t in stranger.title] == ["Sin acceso"]
    assert "Ha iniciado sesión como stranger@example.com" in stranger.warning[0].value
    assert [b.label for b in stranger.button] == ["Cerrar sesión"]
    manager = run_as("ana@example.com", query={"lang": "es"})
    sidebar = " ".join(m.value for m in manager.sidebar.markdown)
    assert "Responsable de área · ve Región: North" in sidebar, sidebar
