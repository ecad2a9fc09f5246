"""Documents: render a draft (a report to the Commission, a publication, a notice...) for an incident.

The flow gathers the incident's facts (:func:`hokoku.services.docdata.build_document_data`)
and renders one draft (:func:`hokoku.documents.render.render_draft`), then writes it to
``out`` (a path on the worker) or returns the text. Runs are tagged with the incident id and
the document kind. :func:`draft_document` is the same work without Prefect.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID

from prefect import flow, get_client, task
from prefect.runtime import flow_run

from hokoku.clock import utcnow
from hokoku.flows.common import app, emit


def draft_document(
    a, *, kind: str, incident_id: str, now: datetime, lang: str | None = None, fmt: str = "md", out: str | None = None
) -> dict:
    """Render one draft; write it to ``out`` when given. Returns what was made (and the text)."""
    from hokoku.documents.render import render_draft
    from hokoku.services.docdata import build_document_data

    lang = lang or a.settings.lang
    data = build_document_data(a, incident_id=incident_id, now=now, lang=lang)
    text = render_draft(kind, data, lang=lang, fmt=fmt)
    result = {"incident": incident_id.strip().upper(), "kind": kind, "lang": lang, "format": fmt, "chars": len(text)}
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result["path"] = str(path)
    else:
        result["text"] = text
    return result


@task(name="render draft", retries=1, retry_delay_seconds=2, persist_result=False)  # read-only, safe to retry
def render_task(kind: str, incident_id: str, now: datetime, lang: str | None, fmt: str, out: str | None) -> dict:
    return draft_document(app(), kind=kind, incident_id=incident_id, now=now, lang=lang, fmt=fmt, out=out)


@flow(name="documents: draft", log_prints=False, persist_result=False)
async def documents_flow(
    kind: str,
    incident_id: str,
    now: datetime | None = None,
    lang: str | None = None,
    fmt: str = "md",
    out: str | None = None,
) -> dict:
    now = now or utcnow()
    result = render_task(kind, incident_id, now, lang, fmt, out)
    run_id = flow_run.get_id()
    if run_id:
        async with get_client() as client:
            await client.update_flow_run(
                UUID(run_id), tags=[*flow_run.get_tags(), result["incident"], "documents", kind]
            )
    emit("document.drafted", result["incident"], kind=kind, lang=result["lang"], format=fmt)
    return result
