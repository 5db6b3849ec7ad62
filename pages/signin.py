"""Sign-in and roles in the app: who is using it, what they may see and change.

With an ``[auth]`` section in ``.streamlit/secrets.toml`` the app asks for an OIDC sign-in
(``st.login``) and looks the user up in the access definition (:mod:`metrics.scope`);
without it the app runs in local single-user mode, exactly as before sign-in existed, and
says so in the sidebar.
"""

from __future__ import annotations

import streamlit as st

from i18n import _
from metrics.scope import LOCAL, ROLE_LABELS, Access, AccessDefinition, AccessError, load_access

#: Pages only the roles that may change things see (the CRM lead's maturity page, imports).
WRITER_PAGES = frozenset({"maturity", "import_data"})
GROUPS_CLAIM = "groups"  # the OIDC claim listing the user's groups, when the provider sends one


def auth_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (OIDC sign-in)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _logged_in() -> bool:
    return bool(getattr(st.user, "is_logged_in", False))


def access_definition() -> AccessDefinition:
    """The definition in force: the version an admin saved in the app, else the access file."""
    from pages import ui

    saved = ui.store().access_definition()
    return load_access(stored_text=saved["definition"] if saved else None)


def _groups() -> list[str]:
    value = st.user.get(GROUPS_CLAIM) if _logged_in() else None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def current() -> Access:
    """The access of this session (set by :func:`gate`; local mode when sign-in is off)."""
    return st.session_state.get("access") or (LOCAL if not auth_configured() else _resolve_or_stop())


def _resolve_or_stop() -> Access:
    gate()
    return st.session_state["access"]


def gate() -> Access:
    """Run before the navigation: sign in, look the user up, or stop with a page saying why."""
    if not auth_configured():
        st.session_state["access"] = LOCAL
        st.sidebar.info(_("Local single-user mode: sign-in is not configured, so whoever opens this app sees "
                          "everything and can change targets. See the README to set up sign-in."),
                        icon=":material/person:")
        return LOCAL
    if not _logged_in():
        st.session_state.pop("access", None)
        _only(_signin_page, _("Sign in"))
    email = str(st.user.get("email") or "")
    try:
        access = access_definition().resolve(email, _groups())
    except AccessError as exc:
        st.session_state.pop("access", None)

        def invalid() -> None:
            st.title(_("Access cannot be checked"))
            st.error(_("The access definition is not valid, so nobody can be let in until an admin fixes it: "
                       "{problem}").format(problem=exc), icon=":material/error:")
            st.button(_("Log out"), on_click=st.logout, icon=":material/logout:", key="logout")
        _only(invalid, _("Access cannot be checked"))
    if access is None:
        st.session_state.pop("access", None)
        _only(lambda: _no_access_page(email), _("No access"))
    st.session_state["access"] = access
    bar = st.sidebar
    bar.markdown(_("**{name}**  \n{role} · sees {scope}").format(
        name=st.user.get("name") or email, role=_(ROLE_LABELS[access.role]), scope=access.describe_scope()))
    bar.button(_("Log out"), on_click=st.logout, icon=":material/logout:", key="logout")
    return access


def _only(page, title: str) -> None:
    """Show one page instead of the app (no menu, no other page reachable), then stop."""
    st.navigation([st.Page(page, title=title, url_path="signin", default=True)], position="hidden").run()
    st.stop()


def pages_for(access: Access, sections: dict[str, list]) -> dict[str, list]:
    """The navigation for a role: the CRM lead's pages for writers, the admin pages for admins.

    Pages left out cannot be reached by URL either.
    """
    shown = {}
    for name, pages in sections.items():
        kept = [p for p in pages if access.can_write or p.url_path not in WRITER_PAGES]
        if kept:
            shown[name] = kept
    admin = []
    if access.can_write:
        admin.append(st.Page("pages/alerts.py", title=_("Alert rules"), icon=":material/notifications:",
                             url_path="alerts"))
    if access.can_admin:
        admin.append(st.Page("pages/access_admin.py", title=_("Access"), icon=":material/admin_panel_settings:",
                             url_path="access_admin"))
    if admin:
        shown[_("Administration")] = admin
    return shown


def _signin_page() -> None:
    st.title(_("CRM analytics"))
    st.markdown(_("Sign in with your company account to see the dashboard for your part of the business."))
    st.button(_("Sign in"), on_click=st.login, type="primary", icon=":material/login:", key="login")


def _no_access_page(email: str) -> None:
    st.title(_("No access"))
    st.warning(_("You are signed in as {account}, but this account has no access to the CRM dashboard. Ask your "
                 "admin to add you to the access list.").format(
                   account=email or _("an account without an e-mail address")), icon=":material/lock:")
    st.button(_("Log out"), on_click=st.logout, icon=":material/logout:", key="logout")


def user_name() -> str:
    """Who is saving, for the store's who/when: the signed-in e-mail, or "local"."""
    access = current()
    return access.email


def role() -> str | None:
    """The role the store checks writes against (``None`` in local single-user mode)."""
    access = current()
    return None if access is LOCAL else access.role


def can_write() -> bool:
    return current().can_write


def can_admin() -> bool:
    return current().can_admin
