"""Access (admins only): who may sign in, with which role and which part of the business."""

import streamlit as st

from data.store import StoreError
from i18n import _
from metrics.scope import ROLE_LABELS, AccessError, access_path, describe_scope, parse_access, read_access_file
from pages import labels, signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Access"))
if not signin.can_admin():  # the navigation hides this page from other roles; refuse anyway
    st.warning(_("Only an admin can see and change who has access."), icon=":material/lock:")
    st.stop()

store = ui.store()
saved = store.access_definition()
if saved:
    text = saved["definition"]
    st.caption(_("In force: the version saved in the app by {who} at {moment} UTC. It takes precedence over the "
                 "access file.").format(who=saved["saved_by"], moment=ui.i18n.moment(saved["saved_at"])))
else:
    path = access_path()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    st.caption(_("In force: the access file {file} (no version saved in the app yet).").format(file=path.name))

st.markdown(_("One entry per person (`[users.\"e-mail\"]`) or per group of your sign-in provider "
              "(`[groups.\"name\"]`), each with a role (`executive`, `manager`, `crm_lead` or `admin`) and, "
              "optionally, the customer dimensions they may see (`segment`, `region`, `industry`, "
              "`acquisition_channel`, `owner_team`). An entry without dimensions sees the whole company."))
with st.form("access_form"):
    edited = st.text_area(_("Access definition (TOML)"), value=text, height=360, key="access_text")
    save = st.form_submit_button(_("Save"), type="primary", icon=":material/save:")
if save:
    try:
        definition = parse_access(edited, "access definition")
        if not any(g.role == "admin" for g in definition.users.values()):
            raise AccessError("access definition: no user entry has role = \"admin\"; saving it would lock every "
                              "admin out")
        store.save_access(edited, who=signin.user_name(), role=signin.role())
        st.success(_("Saved. The new access applies from each user's next click."), icon=":material/check:")
    except (AccessError, StoreError) as exc:
        st.error(str(exc), icon=":material/error:")

try:
    current = parse_access(store.access_definition()["definition"]) if store.access_definition() else read_access_file()
    rows = [{_("Who"): _("user {email}").format(email=email), _("Role"): _(ROLE_LABELS[g.role]),
             _("Sees"): describe_scope(g.scope)} for email, g in current.users.items()]
    rows += [{_("Who"): _("group {name}").format(name=name), _("Role"): _(ROLE_LABELS[g.role]),
              _("Sees"): describe_scope(g.scope)} for name, g in current.groups.items()]
    st.subheader(_("Who has access"))
    if rows:
        st.dataframe(rows, hide_index=True)
    else:   # an empty table reads "empty", in English
        ui.empty_state(_("No user or group is defined yet: sign-in is not configured, or the definition below is empty."))
except AccessError as exc:
    st.error(str(exc), icon=":material/error:")

history = store.access_history()
if len(history):
    st.subheader(_("Changes"))
    labels.table(history, hide_index=True, column_config={
        "version_id": _("Version"), "saved_by": _("Saved by"),
        "saved_at": st.column_config.DatetimeColumn(_("Saved at (UTC)"), format="localized")})
