"""Downloads of what a page shows: CSV (safe against spreadsheet formula injection, UTF-8 with a
BOM so Excel opens Japanese text) and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

from hokoku.web import security

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_response(header: Sequence[str], rows: Iterable[Sequence], *, filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return _download("\ufeff" + out.getvalue(), "text/csv; charset=utf-8", filename)


def jsonl_response(records: Iterable[dict], *, filename: str) -> Response:
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) + "\n" for r in records)
    return _download(body, "application/x-ndjson; charset=utf-8", filename)


def _download(body: str, media_type: str, filename: str) -> Response:
    response = Response(
        body.encode("utf-8"),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
    return security.security_headers(response)
