"""Access (admins only): who may sign in, with which role and which part of the business."""

import streamlit as st

from data.store import StoreError
from metrics.scope import ROLE_LABELS, AccessError, access_path, parse_access, read_access_file
from pages import signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title("Access")
if not signin.can_admin():  # the navigation hides this page from other roles; refuse anyway
    st.warning("Only an admin can see and change who has access.", icon=":material/lock:")
    st.stop()

store = ui.store()
saved = store.access_definition()
if saved:
    text = saved["definition"]
    st.caption(f"In force: the version saved in the app by {saved['saved_by']} at {saved['saved_at']:%Y-%m-%d %H:%M} "
               "UTC. It takes precedence over the access file.")
else:
    path = access_path()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    st.caption(f"In force: the access file {path.name} (no version saved in the app yet).")

st.markdown("One entry per person (`[users.\"e-mail\"]`) or per group of your sign-in provider "
            "(`[groups.\"name\"]`), each with a role (executive, manager, crm_lead or admin) and, optionally, the "
            "customer dimensions they may see (segment, region, industry, acquisition_channel, owner_team). An entry "
            "without dimensions sees the whole company.")
with st.form("access_form"):
    edited = st.text_area("Access definition (TOML)", value=text, height=360, key="access_text")
    save = st.form_submit_button("Save", type="primary", icon=":material/save:")
if save:
    try:
        definition = parse_access(edited, "access definition")
        if not any(g.role == "admin" for g in definition.users.values()):
            raise AccessError("access definition: no user entry has role = \"admin\"; saving it would lock every "
                              "admin out")
        store.save_access(edited, who=signin.user_name(), role=signin.role())
        st.success("Saved. The new access applies from each user's next click.", icon=":material/check:")
    except (AccessError, StoreError) as exc:
        st.error(str(exc), icon=":material/error:")

try:
    current = parse_access(store.access_definition()["definition"]) if store.access_definition() else read_access_file()
    rows = [{"Who": f"user {email}", "Role": ROLE_LABELS[g.role],
             "Sees": "; ".join(f"{d}: {', '.join(v)}" for d, v in g.scope) or "the whole company"}
            for email, g in current.users.items()]
    rows += [{"Who": f"group {name}", "Role": ROLE_LABELS[g.role],
              "Sees": "; ".join(f"{d}: {', '.join(v)}" for d, v in g.scope) or "the whole company"}
             for name, g in current.groups.items()]
    st.subheader("Who has access")
    st.dataframe(rows, hide_index=True)
except AccessError as exc:
    st.error(str(exc), icon=":material/error:")

history = store.access_history()
if len(history):
    st.subheader("Changes")
    st.dataframe(history.rename(columns={"version_id": "Version", "saved_at": "Saved at (UTC)",
                                         "saved_by": "Saved by"}), hide_index=True)
