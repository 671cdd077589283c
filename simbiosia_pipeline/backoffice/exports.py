"""The tables of a page as files: CSV (one table) and Excel (a sheet per table).

Exports carry the same rows and columns as the screen, at full precision: the screen rounds USD
to the cent, a CSV cell is the warehouse's Decimal as written (every digit). An Excel cell is an
Excel number, which holds 15 significant digits: amounts stay exact to far below a millionth of a
cent, and finance can sum them in the sheet.
"""

from __future__ import annotations

import io
import re

import pandas as pd

_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def xlsx_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """One workbook, a sheet per table (names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=_SHEET_NAME.sub(" ", name)[:31], index=False)
    return buffer.getvalue()
