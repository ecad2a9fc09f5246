"""A staff report from the web form or the API: checked field by field, then the normal intake."""

from __future__ import annotations

from datetime import datetime

from hokoku.core.exceptions import InputError, NotFound
from hokoku.core.statutory import MAX_INDIVIDUALS
from hokoku.core.timeutil import parse_instant
from hokoku.i18n import t as translate
from hokoku.services.intake import MAX_SUMMARY, IntakeResult, report_incident
from hokoku.services.organisation import organisation
from hokoku.web.errors import FieldError, field_of

MAX_TEXT = 20_000


def _text(value: str | None, field: str, *, limit: int = MAX_TEXT) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        raise FieldError(field, key="err.too_long", what=field, n=len(value), limit=limit)
    return value or None


def compose_details(
    lang: str, *, data_items: str | None, individuals: int | None, already_done: str | None, details: str | None = None
) -> str | None:
    """The reporter's answers as one text (stored encrypted with the incident)."""
    parts = []
    if data_items:
        parts.append(f"{translate('report.data_items', lang)}: {data_items}")
    if individuals is not None:
        from hokoku.documents.render import headcount_text  # one wording of the headcount everywhere

        parts.append(
            f"{translate('report.individuals', lang)}: "
            f"{headcount_text({'count': individuals, 'estimated': True}, lang)}"
        )
    if already_done:
        parts.append(f"{translate('report.already_done', lang)}: {already_done}")
    if details:
        parts.append(details)
    return "\n".join(parts) or None


def submit_report(
    app,
    viewer,
    *,
    now: datetime,
    lang: str,
    division: str,
    category: str,
    summary: str,
    aware_at: datetime | None = None,
    data_items: str | None = None,
    individuals: int | None = None,
    already_done: str | None = None,
    details: str | None = None,
    serious: bool = False,
    occurred_at: datetime | None = None,
) -> IntakeResult:
    division = (division or "").strip()
    if not division:
        raise FieldError("division", key="err.report.division_missing", what="division")
    org = organisation(app)
    try:
        division = org.division(division).code
    except NotFound as exc:
        raise FieldError("division", key="err.field", name="division", error=exc) from None
    category = (category or "").strip()
    if not category:
        raise FieldError("category", key="err.report.category_missing", what="category")
    if category not in app.playbooks:
        known = ", ".join(sorted(app.playbooks))
        error = NotFound(key="err.unknown.category", value=repr(category), known=known)
        raise FieldError("category", key="err.field", name="category", error=error)
    summary_text = _text(summary, "summary", limit=MAX_SUMMARY)
    if not summary_text:
        raise FieldError("summary", key="err.report.summary_missing", what="summary")
    if aware_at is not None and aware_at > now:
        raise FieldError("aware_at", key="err.report.aware_future", what="aware_at")
    if occurred_at is not None and occurred_at > now:
        raise FieldError("occurred_at", key="err.report.occurred_future", what="occurred_at")
    if occurred_at is not None and occurred_at > (aware_at or now):
        raise FieldError("occurred_at", key="err.report.occurred_after", what="occurred_at")
    if individuals is not None and not 0 <= individuals <= MAX_INDIVIDUALS:
        raise FieldError("individuals", key="err.report.individuals", what="individuals", limit=f"{MAX_INDIVIDUALS:,}")
    items_text = _text(data_items, "data_items")
    text = compose_details(
        lang,
        data_items=items_text,
        individuals=individuals,
        already_done=_text(already_done, "already_done"),
        details=_text(details, "details"),
    )
    try:
        return report_incident(
            app,
            division=division,
            category=category,
            summary=summary_text,
            reporter=viewer.email,
            now=now,
            aware_at=aware_at,
            serious=bool(serious),
            entry="staff",
            source="web",
            details=text,
            occurred_at=occurred_at,
            data_items=items_text,
            individuals=individuals,
        )
    except InputError as exc:
        if isinstance(exc, NotFound) and field_of(exc) is None:
            raise FieldError(None, key="err.as_is", error=exc) from None
        raise


def report_from_form(
    app,
    viewer,
    *,
    now: datetime,
    lang: str,
    division: str,
    category: str,
    summary: str,
    aware_at: str,
    data_items: str,
    individuals: str,
    already_done: str,
    serious: bool,
    occurred_at: str = "",
) -> IntakeResult:
    def instant(text: str, field: str):
        if not (text or "").strip():
            return None
        try:
            return parse_instant(text, what=field)
        except InputError as exc:
            raise FieldError(field, key="err.as_is", error=exc) from None

    when = instant(aware_at, "aware_at")
    occurred = instant(occurred_at, "occurred_at")
    count = None
    if (individuals or "").strip():
        try:
            count = int(individuals.strip())
        except ValueError:
            raise FieldError(
                "individuals", key="err.whole_number", what="individuals", value=repr(individuals.strip())
            ) from None
    return submit_report(
        app,
        viewer,
        now=now,
        lang=lang,
        division=division,
        category=category,
        summary=summary,
        aware_at=when,
        data_items=data_items,
        individuals=count,
        already_done=already_done,
        serious=serious,
        occurred_at=occurred,
    )


# -- every problem of a report form at once, in the page's language ------------------------------


def _problem(key: str, lang: str, **kw) -> str:
    return translate(f"form.{key}", lang, **kw)


def report_problems(
    app,
    *,
    now: datetime,
    lang: str,
    categories: set[str],
    division: str,
    category: str,
    summary: str,
    aware_at: str,
    occurred_at: str,
    data_items: str,
    individuals: str,
    already_done: str,
    **_ignored,
) -> dict[str, str]:
    """Every problem of a report form, field by field, in ``lang`` (empty when it may be sent);
    the same checks as :func:`submit_report`, which still guards the service on its own."""
    problems: dict[str, str] = {}
    org = organisation(app)
    if not (division or "").strip():
        problems["division"] = _problem("division.missing", lang)
    else:
        try:
            org.division(division.strip())
        except NotFound:
            problems["division"] = _problem("division.unknown", lang)
    if not (category or "").strip():
        problems["category"] = _problem("category.missing", lang)
    elif category.strip() not in categories:
        problems["category"] = _problem("category.unknown", lang)
    text = (summary or "").strip()
    if not text:
        problems["summary"] = _problem("summary.missing", lang)
    elif len(text) > MAX_SUMMARY:
        problems["summary"] = _problem("summary.long", lang, n=len(text), limit=MAX_SUMMARY)
    for field, value in (("data_items", data_items), ("already_done", already_done)):
        if len((value or "").strip()) > MAX_TEXT:
            problems[field] = _problem("text.long", lang, n=len(value.strip()), limit=MAX_TEXT)
    instants = {}
    for field, value in (("aware_at", aware_at), ("occurred_at", occurred_at)):
        if (value or "").strip():
            try:
                instants[field] = parse_instant(value, what=field)
            except InputError:
                problems[field] = _problem("when.format", lang)
                continue
            if instants[field] > now:
                problems[field] = _problem("when.future", lang)
    if "occurred_at" in instants and "occurred_at" not in problems and "aware_at" not in problems:
        if instants["occurred_at"] > instants.get("aware_at", now):
            problems["occurred_at"] = _problem("occurred.after", lang)
    if (individuals or "").strip():
        try:
            count = int(individuals.strip())
        except ValueError:
            count = -1
        if not 0 <= count <= MAX_INDIVIDUALS:
            problems["individuals"] = _problem("individuals.number", lang)
    return problems
