"""Response playbooks: one YAML file per incident category, validated and linted.

A playbook says what a responder does for one kind of incident (NIST SP 800-61 phases), on top
of the Chapter 9 chain that the engine runs for every incident: what the reporter does at once,
the steps with owner and deadline, the questions whose answers fill the investigation report
and the Commission's nine items, and the recurrence-prevention measures.

Shipped playbooks live in ``playbooks/`` at the top of the project; an organisation adds or
overrides playbooks by pointing ``HOKOKU_PLAYBOOK_DIR`` at one or more directories
(``os.pathsep``-separated). A later directory replaces an earlier one's playbook of the same
category.

:func:`lint` reports every problem, each as ``file:line: path: problem``. All findings are
errors; there is no warning level. That includes "no mandatory containment step" and "no
investigation question maps to data_items / individuals / cause / secondary_damage": a playbook
without them cannot support Art. 27-2 or the Commission report, so it does not load.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hokoku.core.durations import Duration, parse_duration
from hokoku.core.exceptions import ConfigError, InputError, NotFound
from hokoku.core.roles import Role, role_label
from hokoku.i18n import LocalText, plural, resolve_lang, section, t
from hokoku.resources import playbooks_dir

#: libyaml's safe loader when available (about ten times faster), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Phase = Literal["detection", "containment", "eradication", "recovery", "post-incident"]
DueFrom = Literal["report", "previous"]
#: The Commission's nine report items (PPC Rules Art. 8(1) / 44), as code names.
ReportItem = Literal[
    "summary",
    "data_items",
    "individuals",
    "cause",
    "secondary_damage",
    "individual_response",
    "publication",
    "prevention",
    "other",
]
#: Report items every playbook must ask at least one question about.
REQUIRED_REPORT_ITEMS: tuple[str, ...] = ("data_items", "individuals", "cause", "secondary_damage")


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ARTICLE = re.compile(r"^\d{1,3}(?:-\d{1,3}){0,2}$")


# --------------------------------------------------------------------------- field types


def _to_slug(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("slug_type", f"wrong type: expected a string, got {_kind(value)}")
    if not _SLUG.match(value):
        raise PydanticCustomError(
            "bad_slug", f"bad id {value!r}: use lowercase letters, digits and single hyphens (e.g. 'isolate-host')"
        )
    return value


def _to_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    try:
        return parse_duration(value)
    except InputError as exc:
        raise PydanticCustomError("bad_duration", str(exc)) from None


def _to_role(value: Any) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise PydanticCustomError("unknown_role", f"unknown role {value!r}: expected one of {roles}") from None


def _to_article(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ARTICLE.match(value):
        raise PydanticCustomError(
            "bad_article", f"bad article {value!r}: expected e.g. '18' or '27-2' (article-paragraph[-item])"
        )
    return value


Slug = Annotated[str, PlainValidator(_to_slug), WithJsonSchema({"type": "string", "pattern": _SLUG.pattern})]
DurationField = Annotated[
    Duration,
    PlainValidator(_to_duration),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["30m", "4h", "3d", "2bd"]}),
]
RoleField = Annotated[
    Role, PlainValidator(_to_role), WithJsonSchema({"type": "string", "enum": [r.value for r in Role]})
]
Article = Annotated[str, PlainValidator(_to_article), WithJsonSchema({"type": "string"})]


# --------------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = LocalText
"""A bilingual text of a playbook: Japanese required, English optional (falls back)."""


class Step(_Strict):
    """One response step with an owner and a deadline."""

    id: Slug
    phase: Phase
    title: Text
    owner: RoleField
    due: DurationField
    #: ``report``: deadline = report time + due; ``previous``: previous step's deadline + due.
    #: On the first step, ``previous`` counts from the report.
    due_from: DueFrom = "report"
    mandatory: StrictBool = True
    checklist: list[Text] = Field(default_factory=list)
    evidence: list[Text] = Field(default_factory=list)


class InvestigationQuestion(_Strict):
    """A question whose answer fills one item of the investigation and Commission reports."""

    id: Slug
    maps_to: ReportItem
    question: Text


class Playbook(_Strict):
    """The response playbook of one incident category."""

    category: Slug
    title: Text
    description: Text
    articles: list[Article] = Field(min_length=1)
    immediate_actions: list[Text] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    investigation_questions: list[InvestigationQuestion] = Field(min_length=1)
    recurrence_prevention: list[Text] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> Playbook:
        problems = _rule_problems(self.model_dump(mode="python"))
        if problems:
            loc, message = problems[0]
            raise PydanticCustomError("playbook_rules", f"{_format_loc(loc)}: {message}")
        return self

    def step(self, step_id: str) -> Step:
        """The step with id ``step_id``; :class:`NotFound` if there is none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        known = ", ".join(s.id for s in self.steps)
        raise NotFound(key="err.unknown.step", value=repr(step_id), playbook=repr(self.category), known=known)


def _rule_problems(data: Mapping[str, Any], stem: str | None = None) -> list[tuple[tuple, str]]:
    """Cross-field rules, checked on raw (possibly invalid) data so lint sees them all."""
    problems: list[tuple[tuple, str]] = []
    category = data.get("category")
    if stem is not None and isinstance(category, str) and category != stem:
        problems.append((("category",), f"category {category!r} does not match the file name (expected {stem!r})"))
    steps = data.get("steps")
    if isinstance(steps, list):
        problems += _duplicate_ids(steps, "steps", "step")
        has_containment = any(
            isinstance(s, Mapping) and s.get("phase") == "containment" and s.get("mandatory", True) is not False
            for s in steps
        )
        if steps and not has_containment:
            problems.append(
                (("steps",), "no mandatory containment step: Art. 27-2 requires measures to stop the damage spreading")
            )
    questions = data.get("investigation_questions")
    if isinstance(questions, list):
        problems += _duplicate_ids(questions, "investigation_questions", "question")
        covered = {q.get("maps_to") for q in questions if isinstance(q, Mapping)}
        missing = [item for item in REQUIRED_REPORT_ITEMS if item not in covered]
        if questions and missing:
            problems.append(
                (("investigation_questions",), f"no question maps to {', '.join(missing)} (needed for the report)")
            )
    return problems


def _duplicate_ids(items: list, where: str, noun: str) -> list[tuple[tuple, str]]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        item_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(item_id, str):
            continue
        if item_id in seen:
            problems.append(
                ((where, index, "id"), f"duplicate {noun} id {item_id!r} (first used by {where}[{seen[item_id]}])")
            )
        else:
            seen[item_id] = index
    return problems


# --------------------------------------------------------------------------- lint


@dataclass(frozen=True)
class LintError:
    """One problem in a playbook file, located by line and by path inside the document."""

    file: str
    line: int
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def default_playbook_dir() -> Path:
    """The directory of the playbooks shipped with hokoku."""
    return playbooks_dir()


def playbook_dirs(extra: str | None = None) -> list[Path]:
    """The shipped directory followed by ``extra`` (``os.pathsep``-separated, e.g. from the env)."""
    dirs = [default_playbook_dir()]
    if extra:
        dirs += [Path(part).expanduser() for part in extra.split(os.pathsep) if part.strip()]
    return dirs


def lint(dirs: Iterable[Path | str]) -> list[LintError]:
    """Every problem in every playbook file of ``dirs`` (a plain file may be given too)."""
    errors: list[LintError] = []
    for _, file_errors in _check_all(dirs):
        errors += file_errors
    return errors


def load_playbook(path: Path | str) -> Playbook:
    """Load one playbook file; :class:`ConfigError` with the first lint error if it is invalid."""
    playbook, errors = _check_file(Path(path))
    if errors or playbook is None:
        raise ConfigError(str(errors[0]))
    return playbook


def load_playbooks(dirs: Iterable[Path | str]) -> dict[str, Playbook]:
    """All playbooks of ``dirs`` by category; a later directory overrides an earlier one."""
    checked = _check_all(dirs)
    for _, errors in checked:
        if errors:
            raise ConfigError(str(errors[0]))
    playbooks: dict[str, Playbook] = {}
    for playbook, _ in checked:
        if playbook is not None:
            playbooks[playbook.category] = playbook
    return playbooks


def _check_all(dirs: Iterable[Path | str]) -> list[tuple[Playbook | None, list[LintError]]]:
    results: list[tuple[Playbook | None, list[LintError]]] = []
    for entry in dirs:
        entry = Path(entry)
        if entry.is_file():
            results.append(_check_file(entry))
            continue
        if not entry.is_dir():
            results.append((None, [LintError(_display(entry), 0, "no such playbook directory")]))
            continue
        files = sorted([*entry.glob("*.yaml"), *entry.glob("*.yml")])
        first_file: dict[str, Path] = {}
        for file in files:
            playbook, errors = _check_file(file)
            if file.stem in first_file:
                errors = [
                    LintError(
                        _display(file), 1, f"category {file.stem!r} is also defined by {first_file[file.stem].name}"
                    ),
                    *errors,
                ]
                playbook = None
            first_file.setdefault(file.stem, file)
            results.append((playbook, errors))
    return results


def _check_file(path: Path) -> tuple[Playbook | None, list[LintError]]:
    """Parse and validate one file: the playbook (if valid) and every problem found."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [LintError(shown, 0, f"cannot read: {exc}")]
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = ": ".join(p for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
        return None, [LintError(shown, line, f"YAML syntax error: {problem or exc}")]
    if root is None:
        return None, [LintError(shown, 1, "the file is empty")]
    if not isinstance(data, dict):
        return None, [LintError(shown, 1, "the file must hold a mapping (category, title, steps, ...)")]

    found: list[tuple[int, str, str]] = []  # (line, path, message)
    found += _duplicate_keys(root)
    playbook: Playbook | None = None
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            if error["type"] == "playbook_rules":
                continue  # reported below, each with its own location
            loc = tuple(error["loc"])
            found.append((_line_of(root, loc), _format_loc(loc), _message(error, loc)))
    for loc, message in _rule_problems(data, stem=path.stem):
        found.append((_line_of(root, loc), _format_loc(loc), message))
    if found:
        playbook = None
    unique = sorted(set(found), key=lambda item: (item[0], item[1], item[2]))
    return playbook, [LintError(shown, line, message, loc) for line, loc, message in unique]


def _duplicate_keys(node: yaml.Node, loc: tuple = ()) -> list[tuple[int, str, str]]:
    """Keys given twice in one mapping (YAML silently keeps the last one)."""
    found: list[tuple[int, str, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and name in seen:
                found.append((key.start_mark.line + 1, _format_loc((*loc, name)), f"duplicate key {name!r}"))
            if name is not None:
                seen.add(name)
            found += _duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*loc, index))
    return found


def _line_of(root: yaml.Node, loc: tuple) -> int:
    """1-based line of the deepest node of ``loc`` present in the tree (the key's line for mappings)."""
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in reversed(node.value):  # the last duplicate is the one in effect
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _format_loc(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _known_fields(loc: tuple) -> list[str]:
    """The field names allowed at the mapping that holds ``loc[-1]``."""
    model: type[BaseModel] = Playbook
    nested: dict[str, type[BaseModel]] = {"title": Text, "description": Text, "question": Text}
    lists: dict[str, type[BaseModel]] = {
        "steps": Step,
        "investigation_questions": InvestigationQuestion,
        "immediate_actions": Text,
        "recurrence_prevention": Text,
        "checklist": Text,
        "evidence": Text,
    }
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        model = nested.get(part) or lists.get(part) or model
    return list(model.model_fields)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "bool_type": "true or false",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
}


def _message(error: Mapping[str, Any], loc: tuple) -> str:
    """A short, fixable message for one pydantic error."""
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        if loc and loc[-1] == "ja":
            return "Japanese text (ja) is missing"
        return f"required field {loc[-1]!r} is missing" if loc else "required field is missing"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _known_fields(loc), n=1)
        return f"unknown field {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in _EXPECTED:
        if loc and loc[-1] == "ja" and value is None:
            return "Japanese text (ja) is empty"
        return f"wrong type: expected {_EXPECTED[kind]}, got {_kind(value)}"
    if kind == "literal_error":
        return f"bad value {value!r}: expected {error.get('ctx', {}).get('expected', '')}"
    if kind == "too_short":
        return "must not be empty"
    return str(error["msg"])


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (as linters print)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- deadlines


def step_deadlines(playbook: Playbook, reported_at: datetime) -> list[tuple[Step, datetime]]:
    """Each step with its deadline: from the report, or from the previous step's deadline."""
    if reported_at.tzinfo is None:
        raise ValueError("reported_at must be timezone-aware")
    result: list[tuple[Step, datetime]] = []
    previous = reported_at
    for step in playbook.steps:
        start = previous if step.due_from == "previous" else reported_at
        deadline = step.due.after(start)
        result.append((step, deadline))
        previous = deadline
    return result


# --------------------------------------------------------------------------- rendering


def article_label(article: str, lang: str = "ja") -> str:
    """``27-2`` as 第27条第2項 (ja) or Art. 27(2) (en)."""
    parts = article.split("-")
    return t(f"article.{len(parts)}", lang, **dict(zip("abc", parts, strict=False)))


def duration_label(duration: Duration, due_from: str, lang: str = "ja") -> str:
    """A deadline in words, e.g. 報告から1時間 / 1 hour after the report."""
    amount = plural(f"unit.{duration.unit}", duration.amount, lang)
    return t(
        "playbook.due_after.report" if due_from == "report" else "playbook.due_after.previous", lang, amount=amount
    )


def render_playbook_text(playbook: Playbook, lang: str = "ja") -> str:
    """The playbook as readable plain text (``hokoku playbook show CAT``)."""
    lang = resolve_lang(lang)
    label = section("playbook", lang)
    sep = t("list.sep", lang)
    lines = [
        f"{playbook.title.get(lang)} [{playbook.category}]",
        playbook.description.get(lang),
        f"{label.text('articles')}: {sep.join(article_label(a, lang) for a in playbook.articles)}",
        "",
        label.text("immediate"),
    ]
    lines += [f"  {n}. {action.get(lang)}" for n, action in enumerate(playbook.immediate_actions, 1)]
    lines += ["", label.text("steps")]
    for n, step in enumerate(playbook.steps, 1):
        phase = t(f"phase.{step.phase}", lang)
        facts = [
            f"{label.text('phase')}: {phase}",
            f"{label.text('owner')}: {role_label(step.owner, lang)}",
            f"{label.text('due')}: {duration_label(step.due, step.due_from, lang)}",
            label.text("mandatory") if step.mandatory else label.text("optional"),
        ]
        lines.append(f"  {n}. {step.title.get(lang)} ({step.id})")
        lines.append("     " + label.text("sep").join(facts))
        if step.checklist:
            lines.append(f"     {label.text('checklist')}:")
            lines += [f"       [ ] {item.get(lang)}" for item in step.checklist]
        if step.evidence:
            lines.append(f"     {label.text('evidence')}:")
            lines += [f"       - {item.get(lang)}" for item in step.evidence]
    lines += ["", label.text("questions")]
    for question in playbook.investigation_questions:
        item = t(f"doc.item_titles.{question.maps_to}", lang)
        lines.append(f"  - {question.question.get(lang)}  → {item}")
    lines += ["", label.text("prevention")]
    lines += [f"  - {measure.get(lang)}" for measure in playbook.recurrence_prevention]
    return "\n".join(lines) + "\n"


class PlaybookRow(NamedTuple):
    """One line of ``hokoku playbook list``."""

    category: str
    title: str
    steps: int
    articles: str


def playbook_list_rows(playbooks: Mapping[str, Playbook], lang: str = "ja") -> list[PlaybookRow]:
    """One row per playbook, sorted by category."""
    lang = resolve_lang(lang)
    sep = t("list.sep", lang)
    return [
        PlaybookRow(
            category=category,
            title=playbook.title.get(lang),
            steps=len(playbook.steps),
            articles=sep.join(article_label(a, lang) for a in playbook.articles),
        )
        for category, playbook in sorted(playbooks.items())
    ]
