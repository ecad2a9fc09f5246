"""Rendering the document drafts: PPC reports, publication, notices, internal reports, summary.

``render_draft(kind, data, lang=..., fmt=...)`` renders one draft from the data dict the draft
builder produces (see :data:`KINDS`; every datetime aware UTC, shown in Japan time; any value
may be None, meaning not yet established).

Templates live in ``templates/documents/``:

* ``<lang>/<kind>.j2`` — the content of one kind in one language, written once for both
  formats: structure comes from format macros (``m.h2``, ``m.fields``, ``m.table``...).
* ``_layout.<fmt>.j2`` and ``_macros.<fmt>.j2`` — the page and the building blocks of each
  format (GitHub-flavoured Markdown; a complete, printable HTML page).

A name ``X.<fmt>.j2`` loads ``X.<fmt>.j2`` when that file exists, else the shared ``X.j2``, so
each content template is compiled once per format and escaped for it:

* HTML (``*.html.j2``): Jinja's autoescape, from ``select_autoescape(("html", "html.j2"))``.
* Markdown (``*.md.j2``): never HTML-escaped. Instead the environment's ``finalize`` passes
  every ``{{ expression }}`` through :func:`~hokoku.documents.markdown.md_escape`, the
  Markdown analogue of autoescape, so hostile text (``<script>``, ``<!channel>``,
  ``**bold**``, ``[link](javascript:...)``) comes out as inert literal text. Macro output and explicit filters return
  :class:`~markupsafe.Markup`, which is taken as already safe in both formats. (Markdown
  templates are compiled in Jinja's autoescape mode too, only so that macro output is
  ``Markup``; since ``finalize`` hands every value over already escaped, HTML escaping never
  touches Markdown text.)

What flows where: the public-facing kinds (:data:`PUBLIC_KINDS`, :data:`COMMISSION_KINDS`) read
only the owner's findings and public texts (``data["public"]``) and the facts the records
establish — never the reporter's summary, stage notes or step notes; an unwritten public text is
a marked gap (``【未記入：公表用の原因】``). The headcount (:func:`headcount_text`), statuses
(:func:`work_status`) and dates each have one wording in every kind. Word export renders the
HTML and converts it (:mod:`hokoku.documents.docx`).

``finalize`` also formats values for display in both formats: dates in 和暦 and Western form
(:mod:`hokoku.documents.wareki`), durations (:mod:`hokoku.documents.durations_fmt`), None as
「現時点で未確定」 / "Not yet established".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from hokoku.core.exceptions import InputError
from hokoku.core.statuses import CLOSED_STAGES, StageStatus
from hokoku.core.statutory import parse_regime
from hokoku.core.timeutil import as_utc
from hokoku.documents.diff import ITEM_KEYS, diff_items, normalise
from hokoku.documents.durations_fmt import deadline_verdict, format_duration
from hokoku.documents.labels import LABELS, PUBLIC_FIELDS
from hokoku.documents.markdown import md_escape
from hokoku.documents.wareki import format_date, format_datetime, japan_date
from hokoku.i18n import Section, install, t
from hokoku.resources import templates_dir

KINDS: tuple[str, ...] = (
    "ppc-preliminary",
    "ppc-final",
    "ppc-cover",
    "ppc-information",
    "publication",
    "individual-notice",
    "investigation-report",
    "dg-report",
    "summary",
)
LANGS: tuple[str, ...] = ("ja", "en")
FORMATS: tuple[str, ...] = ("md", "html")
"""Text formats :func:`render_draft` returns; Word (docx) comes from :mod:`hokoku.documents.docx`."""

PUBLIC_KINDS: tuple[str, ...] = ("publication", "individual-notice")
"""Drafts for the public and the person: only public texts and established facts flow in."""
COMMISSION_KINDS: tuple[str, ...] = ("ppc-preliminary", "ppc-final", "ppc-information")
"""Drafts filed with the Commission: the form's items and the reporter's contact, nothing internal."""

#: Stage codes, old and new (issue 10 splits individuals-publication): the first present wins;
#: a missing code means the duty is not on this incident's chain (treated as not applicable).
NOTICE_STAGES: tuple[str, ...] = ("individual-notice", "individuals-publication")
PUBLICATION_STAGES: tuple[str, ...] = ("publication", "individuals-publication")

MEASURE_STAGES: tuple[str, ...] = ("immediate-measures", "containment", "contractor-report")
"""Stages whose completion is a measure taken against the damage ("what we did")."""

TEMPLATES_DIR = templates_dir()

# --------------------------------------------------------------------------- display values


def _lang(context: Context) -> str:
    return context.get("lang", "ja")


def display(value: Any, lang: str) -> Any:
    """A value as the drafts show it: dates in both calendars, durations, None as unknown."""
    labels = LABELS[lang]
    if value is None:
        return labels.text("unknown")
    if isinstance(value, bool):
        return labels.text("yes") if value else labels.text("no")
    if isinstance(value, datetime):
        return format_datetime(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, timedelta):
        return format_duration(value, lang)
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _is_markdown(context: Context) -> bool:
    return context.name is not None and context.name.endswith(".md.j2")


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every ``{{ }}``: shown for display, then md-escaped in Markdown templates."""
    if isinstance(value, Markup):
        return value
    value = display(value, _lang(context))
    if _is_markdown(context):
        return md_escape(value)
    if not context.eval_ctx.autoescape:  # a template outside both formats: still escape
        return escape(value)
    return value


@pass_context
def _md_cell(context: Context, value: Any) -> Markup:
    """A Markdown table cell: escaped like md_escape, newlines as ``<br>``."""
    if isinstance(value, Markup):
        return Markup(str(value).replace("\\\n", "<br>").replace("\n", "<br>"))
    return md_escape(display(value, _lang(context)), newline="<br>", line_starts=False)


@pass_context
def _md_inline(context: Context, value: Any) -> Markup:
    """Markdown text inside a line that is already started (a heading): one line, escaped."""
    if isinstance(value, Markup):
        return Markup(str(value).replace("\\\n", " ").replace("\n", " "))
    return md_escape(display(value, _lang(context)), newline=" ", line_starts=False)


@pass_context
def _md_escape_filter(context: Context, value: Any) -> Markup:
    """``{{ value|md_escape }}``: shown for display, then made inert in Markdown."""
    return md_escape(display(value, _lang(context)))


@pass_context
def _verdict(context: Context, deadline: Mapping[str, Any]) -> str:
    """``期限内（残り2時間10分）`` / ``missed by 1 d 3 h`` for a deadline row."""
    return deadline_verdict(
        due_at=deadline.get("due_at"), met=deadline.get("met"), margin=deadline.get("margin"), lang=_lang(context)
    )


@pass_context
def _show(context: Context, value: Any) -> Any:
    """A value formatted for display (dates, durations, None...) without escaping."""
    return display(value, _lang(context))


def _day(value: date | datetime | None) -> date | None:
    """The Japan-time calendar date of an instant (None stays None)."""
    return None if value is None else japan_date(value)


@pass_context
def _diff_row(context: Context, d: Any) -> list[str]:
    """``["4. 原因", "変更あり"]`` for the changes table of the final report."""
    labels = LABELS[_lang(context)]
    return [f"{d.number}. {labels.table('item_titles')[d.key]}", labels.table("diff_status")[d.status]]


# Table rows and list lines built from the data's lists (values are escaped on output).


def _title(stage: Mapping[str, Any] | None, lang: str) -> str | None:
    """A stage's title in ``lang`` (never its code)."""
    if stage is None:
        return None
    return stage.get(f"title_{lang}") or stage.get("title_ja") or None


_ARTICLE = re.compile(r"(\d+)-(\d+)")


def article_label(article: str | None, lang: str) -> str | None:
    """``27-2`` → 規程第27条第2項 / Art. 27(2); ``APPI`` → 個人情報保護法 / APPI."""
    if not article:
        return None
    match = _ARTICLE.fullmatch(article.strip())
    if match:
        a, b = match.groups()
        return t("doc.article.regulation", lang, a=a, b=b)
    if article.strip().upper() == "APPI":
        return t("doc.article.appi", lang)
    return article


def headcount_text(headcount: Mapping[str, Any] | None, lang: str) -> str | None:
    """``1,200人（推計）`` / ``1,200 (estimated)``: the one way every draft writes the headcount."""
    if not headcount or headcount.get("count") is None:
        return None
    labels = LABELS[lang]
    text = labels.text("headcount", count=f"{headcount['count']:,}")
    return text + (labels.text("estimated") if headcount.get("estimated") else "")


def first_stage(stage_by_code: Mapping[str, Any], codes: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The first of ``codes`` on the incident's chain, or None (not applicable)."""
    for code in codes:
        if code in stage_by_code:
            return stage_by_code[code]
    return None


def work_status(stage: Mapping[str, Any] | None, has_records: bool) -> str:
    """done / in_progress / not_done / skipped / unknown for a duty, from its stage and records."""
    if stage is None:
        return "done" if has_records else "unknown"
    status = stage.get("status")
    if status == StageStatus.DONE:
        return "done"
    if status == StageStatus.SKIPPED:
        return "skipped"
    if has_records or status == StageStatus.ACKNOWLEDGED:
        return "in_progress"
    return "not_done"


def _method(method: str | None, lang: str) -> str:
    text = (method or "").strip()
    return LABELS[lang].table("notice_methods").get(text.lower(), text)


@pass_context
def _stage_row(context: Context, s: Mapping[str, Any]) -> list[Any]:
    """[completed, title, by, note] for a completed stage (internal drafts)."""
    return [
        s.get("completed_at"),
        _title(s, _lang(context)),
        s.get("completed_by_name"),
        s.get("note") or s.get("skip_reason"),
    ]


@pass_context
def _stage_done_row(context: Context, s: Mapping[str, Any]) -> list[Any]:
    """[completed, title] for a completed stage, without internal notes (Commission drafts)."""
    return [s.get("completed_at"), _title(s, _lang(context))]


@pass_context
def _stage_status_row(context: Context, s: Mapping[str, Any]) -> list[Any]:
    """[article, title, owner, status, due, completed, note] for any stage."""
    lang = _lang(context)
    status = LABELS[lang].table("stage_status").get(s.get("status") or "", LABELS[lang].text("unknown"))
    return [
        article_label(s.get("article"), lang),
        _title(s, lang),
        s.get("owner_name"),
        status,
        s.get("due_at"),
        s.get("completed_at"),
        s.get("note") or s.get("skip_reason"),
    ]


_CODE_LIKE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")
#: Events the system records as a consequence of someone's action or of time passing: told
#: without an actor ("「封じ込め」が始まった。"), whoever's action triggered them.
AUTOMATIC_EVENTS = frozenset(
    {
        "tasks.created",
        "stage.started",
        "stage.reminder",
        "stage.escalation",
        "stage.overdue",
        "step.due_soon",
        "step.overdue",
        "step.reminder",
        "prevention.due_soon",
        "prevention.overdue",
    }
)


@pass_context
def _timeline_sentence(context: Context, e: Mapping[str, Any]) -> str:
    """One timeline entry as a sentence in words: 「令和…　中村 美咲が「封じ込め」を完了した。」"""
    lang = _lang(context)
    labels = LABELS[lang]
    stage = context.get("stage_by_code", {}).get(e.get("stage"))
    action = str(e.get("action") or "")
    phrase = labels.table("events").get(action)
    if phrase is None:
        phrase = labels.text("event_other") if _CODE_LIKE.match(action) or not action else action
    field = e.get("field")
    field_label = (
        (
            labels.table("public_fields").get(field)
            if action.startswith("public_text.")
            else labels.table("item_titles").get(field)
        )
        if isinstance(field, str)
        else None
    )
    what = phrase.format(
        stage=_title(stage, lang) or labels.text("none"),
        step=e.get(f"step_title_{lang}") or e.get("step_title_ja") or labels.text("none"),
        field=field_label or labels.text("none"),
    )
    actor = e.get("actor_name") or ""
    when = display(e.get("at"), lang)
    if not actor or actor.startswith("hokoku:") or "@" in actor or action in AUTOMATIC_EVENTS:
        return labels.text("timeline_sentence_system", when=when, what=what[0].upper() + what[1:])
    return labels.text("timeline_sentence", when=when, actor=actor, what=what)


@pass_context
def _deadline_row(context: Context, d: Mapping[str, Any]) -> list[Any]:
    """[name, due, done, verdict] for a deadline."""
    lang = _lang(context)
    return [d.get(f"name_{lang}"), d.get("due_at"), d.get("done_at"), _verdict(context, d)]


@pass_context
def _notice_row(context: Context, n: Mapping[str, Any]) -> list[Any]:
    """[when, how many, method, alternative measure] for a notice to individuals."""
    lang = _lang(context)
    count = n.get("count")
    return [
        n.get("notified_at"),
        None if count is None else LABELS[lang].text("headcount", count=f"{count:,}"),
        _method(n.get("method"), lang),
        n.get("substitute"),
    ]


@pass_context
def _action_row(context: Context, a: Mapping[str, Any]) -> list[Any]:
    """[title, owner, due, status, completed] for a recurrence-prevention action."""
    raw = a.get("status")
    status = LABELS[_lang(context)].table("action_status").get(raw, raw) if isinstance(raw, str) else raw
    return [a.get("title"), a.get("owner_name"), a.get("due_at"), status, a.get("completed_at")]


# --------------------------------------------------------------------------- environment


class _FormatLoader(FileSystemLoader):
    """``X.md.j2`` / ``X.html.j2`` come from that file if it exists, else from the shared ``X.j2``."""

    _FORMAT_NAME = re.compile(r"(?P<base>.+)\.(?:md|html)\.j2")

    def get_source(self, environment: Environment, template: str):
        try:
            return super().get_source(environment, template)
        except TemplateNotFound:
            match = self._FORMAT_NAME.fullmatch(template)
            if not match:
                raise
            return super().get_source(environment, match.group("base") + ".j2")


_HTML_AUTOESCAPE = select_autoescape(("html", "html.j2"))


def _autoescape(name: str | None) -> bool:
    """HTML templates: autoescape. Markdown templates: see the module docstring."""
    return name is not None and (name.endswith(".md.j2") or _HTML_AUTOESCAPE(name))


@cache
def environment(templates_dir: Path = TEMPLATES_DIR) -> Environment:
    """The Jinja2 environment for the drafts (one per templates folder, cached)."""
    env = Environment(
        loader=_FormatLoader(str(templates_dir)),
        autoescape=_autoescape,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        # escaping (Markdown); HTML is escaped by autoescape
        md_escape=_md_escape_filter,
        md_cell=_md_cell,
        md_inline=_md_inline,
        # display
        show=_show,
        day=_day,
        verdict=_verdict,
        # table rows and list lines from the data's lists
        diff_row=_diff_row,
        stage_row=_stage_row,
        stage_status_row=_stage_status_row,
        timeline_sentence=_timeline_sentence,
        deadline_row=_deadline_row,
        stage_done_row=_stage_done_row,
        article=lambda a, lang="ja": article_label(a, lang),
        action_row=_action_row,
        notice_row=_notice_row,
    )
    install(env)
    return env


# --------------------------------------------------------------------------- context

_TOP_DEFAULTS: dict[str, Any] = {
    "generated_at": None,
    "stages": [],
    "triage": None,
    "ppc": None,
    "items": {},
    "preliminary_items": None,
    "prevention_actions": [],
    "notices": [],
    "metrics": {"time_to_acknowledge": None, "time_to_contain": None},
    "deadlines": [],
    "timeline": [],
    "public": {},
    "headcount": None,
    "reported_data_items": None,
}


def _items(raw: Mapping[str, Any]) -> dict[str, str | None]:
    """The nine items, each normalised (blank = None = not yet established)."""
    return {key: normalise(raw.get(key)) for key in ITEM_KEYS}


def _item_rows(items: Mapping[str, str | None], labels: Section) -> list[dict[str, Any]]:
    """The nine items as ``{number, key, title, value}`` rows, in report order."""
    return [
        {"number": n, "key": key, "title": labels.table("item_titles")[key], "value": items[key]}
        for n, key in enumerate(ITEM_KEYS, start=1)
    ]


def _open_questions(data: Mapping[str, Any], items: Mapping[str, str | None], labels: Section, lang: str) -> list[str]:
    """What the investigation has not established yet, one line each."""
    texts = labels.table("open_questions")
    out = [texts["item"].format(title=labels.table("item_titles")[key]) for key in ITEM_KEYS if items[key] is None]
    triage = data["triage"]
    if triage is None:
        out.append(texts["no_triage"])
    else:
        if triage.get("decision") is None:
            out.append(texts["no_decision"])
    headcount = data.get("headcount") or (
        {"count": triage.get("individuals"), "estimated": triage.get("individuals_estimated")} if triage else None
    )
    if headcount and headcount.get("count") is not None and headcount.get("estimated"):
        out.append(texts["estimated"].format(count=headcount_text(headcount, lang)))
    for stage in data["stages"]:
        if stage.get("status") not in CLOSED_STAGES:
            status = labels.table("stage_status").get(stage.get("status"), labels.text("unknown"))
            out.append(
                texts["stage"]
                .format(
                    article=article_label(stage.get("article"), lang) or "",
                    title=_title(stage, lang) or "",
                    status=status,
                )
                .strip()
            )
    return out


def _public(raw: Mapping[str, Any] | None) -> dict[str, str | None]:
    raw = raw or {}
    return {key: normalise(raw.get(key)) for key in PUBLIC_FIELDS}


def _lines(*parts: str | None) -> str | None:
    text = "\n".join(p for p in parts if p)
    return text or None


def _report_items(
    ctx: Mapping[str, Any], items: Mapping[str, str | None], public: Mapping[str, str | None], lang: str
) -> dict[str, str | None]:
    """The nine items as the drafts write them, each fact from one source, never internal notes.

    Owner's findings first, then the owner's public texts; the headcount from the triage (or the
    report until triage); notices, publication and prevention actions from their records, in words.
    """
    labels = LABELS[lang]
    words = labels.table("work_status")
    stage_by_code = {s.get("code"): s for s in ctx["stages"]}
    out = dict(items)
    for key in ("summary", "cause", "secondary_damage", "prevention", "other"):
        if out[key] is None:
            out[key] = public.get(key)
    if out["data_items"] is None:
        out["data_items"] = normalise(ctx.get("reported_data_items"))
    count = headcount_text(ctx.get("headcount"), lang)
    if count:  # the number from the triage (or the report); the owner's finding only explains it
        note = items["individuals"] and labels.text("individuals_note", text=items["individuals"])
        out["individuals"] = _lines(count, note)

    notices = ctx["notices"]
    notice_stage = first_stage(stage_by_code, NOTICE_STAGES)
    lines = []
    for n in notices:
        line = labels.text(
            "notice_line",
            when=display(n.get("notified_at"), lang),
            count=f"{n.get('count') or 0:,}",
            method=_method(n.get("method"), lang),
        )
        if n.get("substitute"):
            line += labels.text("notice_substitute", substitute=n["substitute"])
        lines.append(line)
    status = work_status(notice_stage, bool(notices))
    if status != "unknown" or lines or items["individual_response"]:
        out["individual_response"] = _lines(
            labels.text("status_line", status=words[status]), *lines, items["individual_response"]
        )

    pub = first_stage(stage_by_code, PUBLICATION_STAGES)
    status = work_status(pub, False)
    if status != "unknown" or items["publication"]:
        head = labels.text("status_line", status=words[status])
        if status == StageStatus.DONE and pub is not None and pub.get("completed_at"):
            head += labels.text("published_on", when=display(_day(pub["completed_at"]), lang))
        out["publication"] = _lines(head, items["publication"])

    actions = [
        labels.text(
            "action_line",
            title=a.get("title"),
            status=labels.table("action_status").get(a.get("status"), words["unknown"]),
        )
        for a in ctx["prevention_actions"]
    ]
    if actions:
        out["prevention"] = _lines(out["prevention"], *actions)
    return out


def summary_block(ctx: Mapping[str, Any], text: str | None, lang: str, *, gap: str | None = None) -> str | None:
    """概要: what happened, then when it happened, how and by whom it was discovered, awareness."""
    labels = LABELS[lang]
    incident = ctx["incident"]
    sep = t("label.sep", lang)
    discovery = ctx["public_texts"].get("discovery") or labels.table("discovered_by").get(
        incident.get("entry") or "staff"
    )
    facts = [
        f"{labels.text('occurred_at')}{sep}{display(incident.get('occurred_at'), lang)}",
        f"{labels.text('discovery')}{sep}{discovery}",
        f"{labels.text('aware_at')}{sep}{display(incident.get('aware_at'), lang)}",
    ]
    if text is None and gap is None:
        return None
    return _lines(text if text is not None else gap, *facts)


def build_context(kind: str, data: Mapping[str, Any], lang: str, fmt: str) -> dict[str, Any]:
    """The template context: the data (with defaults filled in) plus derived values."""
    if not isinstance(data, Mapping):
        raise InputError(f"draft data must be a mapping, got {type(data).__name__}")
    for required in ("organisation", "incident"):
        if not isinstance(data.get(required), Mapping):
            raise InputError(f"draft data has no {required!r} section")
    ctx: dict[str, Any] = {**_TOP_DEFAULTS, **data}
    triage = ctx.get("triage")
    if ctx.get("headcount") is None and triage and triage.get("individuals") is not None:
        ctx["headcount"] = {
            "count": triage["individuals"],
            "estimated": bool(triage.get("individuals_estimated")),
            "source": "triage",
        }
    for key in ("stages", "prevention_actions", "notices", "deadlines", "timeline"):
        ctx[key] = list(ctx[key] or [])
    ctx["metrics"] = {**_TOP_DEFAULTS["metrics"], **(ctx["metrics"] or {})}
    labels = LABELS[lang]
    public = _public(ctx["public"])
    ctx["public_texts"] = public
    recorded = _items(ctx["items"] or {})
    items = _report_items(ctx, recorded, public, lang)
    gaps = {key: marked_gap(labels, key) for key in public}
    items["summary"] = summary_block(ctx, items["summary"], lang, gap=gaps["summary"])
    preliminary = None if ctx["preliminary_items"] is None else _items(ctx["preliminary_items"])
    contact = (ctx["organisation"] or {}).get("contact")
    org, incident = ctx["organisation"], ctx["incident"]
    institute = display(incident.get(f"institute_name_{lang}"), lang)
    division = display(incident.get(f"division_name_{lang}"), lang)
    regime = parse_regime(org["regime"])
    ctx.update(
        kind=kind,
        lang=lang,
        fmt=fmt,
        L=labels,
        items=items,
        preliminary_items=preliminary,
        item_rows=_item_rows(items, labels),
        preliminary_rows=None if preliminary is None else _item_rows(preliminary, labels),
        unknown_items=[labels.table("item_titles")[key] for key in ITEM_KEYS if items[key] is None],
        diffs=diff_items(preliminary, items),
        org_name=org.get(f"name_{lang}") or org.get("name_ja"),
        place=t("doc.place", lang, institute=institute, division=division),
        regime=regime,
        regime_label=labels.table("regime")[regime.value],
        stage_by_code={s.get("code"): s for s in ctx["stages"]},
        measures=[s for s in ctx["stages"] if s.get("code") in MEASURE_STAGES and s.get("completed_at")],
        done_stages=sorted(
            (s for s in ctx["stages"] if s.get("completed_at")), key=lambda s: as_utc(s["completed_at"])
        ),
        timeline=sorted(ctx["timeline"], key=lambda e: as_utc(e["at"])),
        open_questions=_open_questions(ctx, items, labels, lang),
        headcount_text=headcount_text(ctx.get("headcount"), lang),
        recorded_items=recorded,
        gaps=gaps,
        pub={key: public[key] if public[key] is not None else gaps[key] for key in public},
        # the public and the person read the data items the owner recorded, not the reporter's words
        public_data_items=recorded["data_items"]
        if recorded["data_items"] is not None
        else labels.text("gap", field=labels.text("data_items_field")),
        public_summary=summary_block(ctx, public["summary"], lang, gap=gaps["summary"]),
        # internal reports may fall back to the reporter's own words
        internal_summary=summary_block(
            ctx, recorded["summary"] or public["summary"] or normalise(ctx["incident"].get("summary")), lang
        ),
        contact=contact,
        notice_stage=first_stage({s.get("code"): s for s in ctx["stages"]}, NOTICE_STAGES),
        publication_stage=first_stage({s.get("code"): s for s in ctx["stages"]}, PUBLICATION_STAGES),
    )
    return ctx


def marked_gap(labels: Section, key: str) -> str:
    """The marked gap for a public field nobody has written yet: 【未記入：公表用の概要】."""
    return labels.text("gap", field=labels.table("public_fields")[key])


def _tidy_markdown(text: str) -> str:
    """No trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _choices(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"unknown {what} {value!r}: expected one of {', '.join(allowed)}")


def render_draft(kind: str, data: Mapping[str, Any], *, lang: str = "ja", fmt: str = "md") -> str:
    """Render draft ``kind`` (one of :data:`KINDS`) in ``lang`` (ja, en) and ``fmt`` (md, html).

    Raises :class:`~hokoku.core.exceptions.InputError` for an unknown kind, language or format, or
    data without ``organisation`` / ``incident``.
    """
    _choices("document kind", kind, KINDS)
    _choices("language", lang, LANGS)
    _choices("format", fmt, FORMATS)
    context = build_context(kind, data, lang, fmt)
    text = environment().get_template(f"documents/{lang}/{kind}.{fmt}.j2").render(context)
    if fmt == "md":
        text = _tidy_markdown(text)
    return text.strip() + "\n"
