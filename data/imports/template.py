"""Empty templates of the ``crm`` profile, for companies whose CRM is a spreadsheet:
one sheet (xlsx) or one CSV (in a zip) per table, with the data model's column names."""

from __future__ import annotations

import io
import zipfile

from data import schema


def headers() -> dict[str, list[str]]:
    """Table -> its column names, in the data model's order."""
    return {t.name: [c.name for c in t.columns] for t in schema.TABLES}


def template_xlsx() -> bytes:
    """An .xlsx workbook with one sheet per table, the header in bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, columns in headers().items():
        sheet = book.create_sheet(name)
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_zip() -> bytes:
    """A zip of one header-only CSV per table (UTF-8)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, columns in headers().items():
            archive.writestr(f"{name}.csv", ",".join(columns) + "\n")
    return out.getvalue()
