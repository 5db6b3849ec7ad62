"""Import data: upload CRM exports, see how they map and what is wrong, then import them into
the workspace that the dashboard reads (for the CRM lead or an admin)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from data import schema
from data.imports import ImportOutOfMemory, ImportRejected, check_files, run_import
from data.imports.loader import list_batches
from data.imports.profiles import detect_profile, load_profile, profile_names
from data.imports.reader import peek_headers
from data.imports.template import template_xlsx, template_zip
from data.sources import SourceError, resolve_url, workspace_path, workspace_url
from i18n import N_, _
from pages import labels, signin, ui

ui.frame()  # first: a page opened alone runs inside app.py's frame
st.title(_("Import data"))

PROFILE_LABELS = {"crm": N_("Spreadsheet of the eight tables (template)"), "salesforce": "Salesforce",
                  "hubspot": "HubSpot", "zendesk": "Zendesk"}
MODE_LABELS = {"replace": N_("Replace all the data"), "upsert": N_("Add and update rows (keep the rest)")}
TABLE_LABELS = {"customers": N_("Customers"), "campaigns": N_("Campaigns"), "orders": N_("Orders"),
                "opportunities": N_("Opportunities"), "interactions": N_("Interactions"), "tickets": N_("Tickets"),
                "surveys": N_("Survey answers"), "survey_invitations": N_("Survey invitations")}


def profile_label(name: str) -> str:
    return _(PROFILE_LABELS[name]) if name in PROFILE_LABELS else load_profile(name).title


def mode_label(mode: str) -> str:
    return _(MODE_LABELS[mode]) if mode in MODE_LABELS else mode


def table_label(table: str) -> str:
    return _(TABLE_LABELS[table])

target = workspace_path()
target_url = workspace_url()
st.markdown(_("Bring your own CRM: upload the files your CRM exports (CSV, Excel or Parquet). They are "
              "checked first; nothing is written until every problem is fixed. The import goes into "
              "the dashboard's workspace, never into the CRM itself."))
try:
    reading = resolve_url()
except SourceError:
    reading = ""
if reading != target_url:
    st.info(_("The dashboard currently reads another source (set by CRM_DB_URL or secrets.toml). "
              "Imported data is kept in the workspace and shown once that setting is removed."),
            icon=":material/info:")

with st.expander(_("No export at hand? Download an empty template")):
    st.markdown(_("One sheet (or one CSV file) per table, with the columns of the data model. "
                  "Fill it in, then upload it here."))
    left, right = st.columns(2)
    left.download_button(_("Excel template"), template_xlsx(), file_name="crm-template.xlsx",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         on_click="ignore", icon=":material/download:")
    right.download_button(_("CSV templates (zip)"), template_zip(), file_name="crm-template.zip",
                          mime="application/zip", on_click="ignore", icon=":material/download:")

done_message = st.session_state.pop("import_done", None)
if done_message:
    st.success(done_message, icon=":material/check_circle:")
    st.page_link("pages/overview.py", label=_("Open the Overview"), icon=":material/dashboard:")

# a new key after each import empties the uploader
uploads = st.file_uploader(_("Export files"), type=["csv", "txt", "xlsx", "parquet"], accept_multiple_files=True,
                           key=f"import_files_{st.session_state.get('import_round', 0)}",
                           help=_("One file per table, or one workbook with a sheet per table."))


def saved_files(files) -> tuple[Path, dict[Path, str], str]:
    """The uploads written to a folder kept for this session; (folder, path -> name, fingerprint)."""
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + f.getvalue())
    fingerprint = digest.hexdigest()
    folder = Path(st.session_state.setdefault("import_dir", tempfile.mkdtemp(prefix="crm-upload-"))) / fingerprint[:16]
    names = {}
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(files):
        path = folder / f"{i:03d}{Path(f.name).suffix.lower()}"
        if not path.exists():
            path.write_bytes(f.getvalue())
        names[path] = f.name
    return folder, names, fingerprint


def show_problems(problems) -> None:
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if errors:
        st.error(_("{n} problem(s) must be fixed in the files before they can be imported. Each line says which "
                   "file, row (as a spreadsheet numbers it) and column.").format(n=len(errors)),
                 icon=":material/error:")
        st.code("\n".join(str(p) for p in errors), language=None, wrap_lines=True)
    if warnings:
        st.warning(_("{n} warning(s): the import can go ahead, but read them. Columns the dashboard does not use "
                     "are ignored; a dimension the files lack (segment, region, channel) is set to "
                     "\"Unassigned\".").format(n=len(warnings)), icon=":material/warning:")
        st.code("\n".join(str(p) for p in warnings), language=None, wrap_lines=True)


if uploads:
    folder, names, fingerprint = saved_files(uploads)
    paths = sorted(names)
    detected = detect_profile([h for p in paths for h in peek_headers(p)])
    options = profile_names()
    c1, c2 = st.columns(2)
    profile = c1.selectbox(_("The files come from"), options, index=options.index(detected),
                           format_func=profile_label, key="import_profile",
                           help=_("Detected from the column names; change it if it is wrong."))
    mode = c2.radio(_("Import mode"), list(MODE_LABELS), format_func=mode_label, key="import_mode",
                    horizontal=True)

    key = (fingerprint, profile, mode)
    if st.session_state.get("import_check_key") != key:
        bar = st.progress(0.0, text=_("Checking the files…"))
        try:
            with tempfile.TemporaryDirectory() as work:
                result = check_files(paths, profile, workdir=Path(work), into=str(target), mode=mode, names=names,
                                     progress=lambda x, text: bar.progress(x, text=str(text)), preview_rows=20)
        except ImportOutOfMemory as exc:
            bar.empty()
            st.error(str(exc), icon=":material/memory:")
            st.stop()
        bar.empty()
        st.session_state["import_check_key"], st.session_state["import_check"] = key, result
    result = st.session_state["import_check"]

    st.subheader(_("How the files map onto the data model"))
    for mapping in result.mappings:
        with st.expander(_("{file} → {table} ({rows} rows)").format(
                file=mapping.raw.label, table=table_label(mapping.table), rows=ui.i18n.number(mapping.raw.rows))):
            frame = pd.DataFrame([{_("Dashboard column"): target_column,
                                   _("Read from"): source or _("(not in the file)")}
                                  for target_column, source in mapping.columns.items()])
            labels.table(frame, hide_index=True, width="stretch")
            if mapping.unmapped:
                st.caption(_("Not used: {columns}").format(columns=", ".join(mapping.unmapped)))

    st.subheader(_("Check"))
    show_problems(result.problems)
    if not result.errors:
        st.success(_("The files are valid."), icon=":material/check_circle:")

    present = [t.name for t in schema.TABLES if result.rows.get(t.name)]
    if present:
        st.subheader(_("Preview"))
        tabs = st.tabs([f"{table_label(t)} ({ui.i18n.number(result.rows[t])})" for t in present])
        for tab, table in zip(tabs, present):
            preview = result.preview[table]
            labels.table(preview, labels.column_config(preview), where=tab, hide_index=True, width="stretch")

    if st.button(_("Import"), type="primary", disabled=bool(result.errors), icon=":material/upload:",
                 key="import_go"):
        ui.release_source()
        bar = st.progress(0.0, text=_("Importing…"))
        try:
            done = run_import(paths, profile, str(target), mode=mode, names=names,
                              who=getattr(st.user, "email", None) or "app", role=signin.role(),
                              progress=lambda x, text: bar.progress(x, text=str(text)))
        except ImportRejected as rejected:  # the files changed between check and import
            bar.empty()
            show_problems(rejected.problems)
        except ImportOutOfMemory as exc:
            bar.empty()
            st.error(str(exc), icon=":material/memory:")
        else:
            ui.release_source()
            st.session_state.pop("import_check_key", None)
            st.session_state["import_round"] = st.session_state.get("import_round", 0) + 1
            rows = ", ".join(f"{table_label(t)} {ui.i18n.number(n)}" for t, n in done.rows.items())
            st.session_state["import_done"] = _("Imported (import {batch}): {rows}. The dashboard now shows this "
                                                "data.").format(batch=done.batch_id, rows=rows)
            ui.follow_new_data()  # the old data's filters may not apply, even those in the link
            st.rerun()  # the sidebar filters and every page now read the new data

st.subheader(_("Past imports"))
batches = list_batches(str(target)) if target.exists() else []
if not batches:
    st.caption(_("No import yet."))
else:
    labels.table(pd.DataFrame([{
        "batch": b["batch_id"], "when": b["imported_at"], "by": b["imported_by"],
        "profile": PROFILE_LABELS.get(b["profile"], b["profile"]) if b["profile"] not in PROFILE_LABELS
        else profile_label(b["profile"]), "mode": mode_label(b["mode"]),
        "files": ", ".join(f["file"] for f in b["files"]),
        "rows": sum(b["row_counts"].values()), "undone": _("yes") if b["undone_at"] else "",
    } for b in batches]), hide_index=True, width="stretch",
        column_config={"batch": _("Import"), "when": st.column_config.DatetimeColumn(_("When (UTC)"), format="localized"),
                       "by": _("By"), "profile": _("From"), "mode": _("Mode"), "files": _("Files"),
                       "rows": st.column_config.NumberColumn(_("Rows"), format="localized"), "undone": _("Undone")})
    st.caption(_("To go back to the data before an import: `python -m data undo-import NUMBER --into {target}` "
                 "(the latest import first).").format(target=target))
