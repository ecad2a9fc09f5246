"""Rendering notification messages from Jinja2 templates (Japanese default, English available)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hokoku.i18n import install

KINDS = (
    "receipt",
    "notify",
    "reminder",
    "escalation",
    "overdue",
    "serious_notice",
    "stage_done",
    "due_warning",
    "due_changed",
    "statutory_started",
    "task_assigned",
    "task_due_soon",
    "task_overdue",
    "delivery_alert",
    "stall_alert",
    "channel_down",
    "channel_up",
    "escalated_owner",
    "thread_parent",
    "thread_reply",
    "audit_checkpoint",
    "bulk_read_warning",
)


class Renderer:
    def __init__(self, templates_dir: Path):
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        install(self.env)

    def message(self, kind: str, lang: str, **context) -> tuple[str, str]:
        """(subject, plain-text body) for a message kind.

        Plain text is not HTML-escaped here: each channel makes user text inert in its own
        syntax (Slack escapes ``<>&``; email HTML parts are autoescaped).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown message kind {kind!r}")
        template = self.env.get_template(f"messages/{lang}/{kind}.txt.j2")
        ctx = template.new_context(context)
        subject = "".join(template.blocks["subject"](ctx)).strip()
        body = "".join(template.blocks["body"](template.new_context(context))).strip() + "\n"
        return subject, body

    def html(self, name: str, **context) -> str:
        return self.env.get_template(name).render(**context)
