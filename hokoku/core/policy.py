"""The escalation policy: stages, owners, deadlines, reminders and ladders (pure).

The models and :func:`policy_from_mapping`; reading the file is
:func:`hokoku.config.policyfile.load_policy`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hokoku.core.durations import Duration, parse_duration
from hokoku.core.exceptions import InputError, NotFound
from hokoku.core.roles import DEPUTY, Role
from hokoku.core.validation import validated
from hokoku.i18n import BilingualText


def _duration(v: object) -> str:
    try:
        parse_duration(v)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    return str(v)


def _role(v: str) -> str:
    if v != DEPUTY and v not in {r.value for r in Role}:
        raise ValueError(f"unknown role {v!r}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = BilingualText
"""Both languages required (the shared bilingual type of :mod:`hokoku.i18n`)."""


class LadderStep(_Strict):
    after: str
    to: list[str] = Field(min_length=1)
    _d = field_validator("after")(_duration)

    @field_validator("to")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        return [_role(r) for r in v]


class Timings(_Strict):
    deadline: str | None = None
    remind_every: str | None = None
    remind_before: list[str] | None = None
    ladder: list[LadderStep] | None = None
    _d = field_validator("deadline", "remind_every")(lambda v: None if v is None else _duration(v))

    @field_validator("remind_before")
    @classmethod
    def _before(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else [_duration(d) for d in v]


class StagePolicy(_Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    article: str
    flow: str
    title: Text
    owner: str
    when: Literal["always", "contractor", "statutory"] = "always"
    requires: list[str] = Field(default_factory=list)
    requires_done: list[str] = Field(default_factory=list)
    completed_by: Literal["advance", "ack", "intake", "assessment", "notice"] = "advance"
    deadline: str
    deadline_from: Literal["start", "awareness"] = "start"
    deadline_end_of_day: bool = False
    deadline_rule: Literal["ppc_preliminary", "ppc_final"] | None = None
    remind_every: str | None = None
    remind_before: list[str] = Field(default_factory=list)
    ladder: list[LadderStep] = Field(default_factory=list)
    on_done_notify: list[str] = Field(default_factory=list)
    skippable: bool = False
    allow_early: bool = False
    requires_step_phases: list[Literal["detection", "containment", "eradication", "recovery", "post-incident"]] = Field(
        default_factory=list
    )
    serious: Timings | None = None
    _d = field_validator("deadline", "remind_every")(lambda v: None if v is None else _duration(v))

    @field_validator("remind_before")
    @classmethod
    def _before(cls, v: list[str]) -> list[str]:
        return [_duration(d) for d in v]

    @property
    def statutory(self) -> bool:
        """A duty under the Act (runs while the incident may be reportable)."""
        return self.when == "statutory"

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str) -> str:
        return _role(v)

    @field_validator("on_done_notify")
    @classmethod
    def _notify(cls, v: list[str]) -> list[str]:
        return [_role(r) for r in v]

    def timings(self, serious: bool) -> EffectiveTimings:
        over = self.serious if serious and self.serious else Timings()
        return EffectiveTimings(
            deadline=parse_duration(over.deadline or self.deadline),
            remind_every=parse_duration(r) if (r := over.remind_every or self.remind_every) else None,
            remind_before=tuple(
                parse_duration(d)
                for d in (over.remind_before if over.remind_before is not None else self.remind_before)
            ),
            ladder=tuple(
                (parse_duration(s.after), tuple(s.to))
                for s in (over.ladder if over.ladder is not None else self.ladder)
            ),
        )


class EffectiveTimings(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    deadline: Duration
    remind_every: Duration | None
    ladder: tuple[tuple[Duration, tuple[str, ...]], ...]
    remind_before: tuple[Duration, ...] = ()


class StatutorySettings(_Strict):
    preliminary_days: int = Field(default=3, ge=1, le=5)


class Policy(_Strict):
    name: str
    version: int = 1
    serious_notice: list[str] = Field(default_factory=list)
    statutory: StatutorySettings = Field(default_factory=StatutorySettings)
    report_delay_tolerance: str = "1h"
    stages: list[StagePolicy] = Field(min_length=1)
    _t = field_validator("report_delay_tolerance")(_duration)

    @field_validator("serious_notice")
    @classmethod
    def _notice(cls, v: list[str]) -> list[str]:
        return [_role(r) for r in v]

    @model_validator(mode="after")
    def _graph(self) -> Policy:
        codes: list[str] = []
        for i, st in enumerate(self.stages):
            if st.code in codes:
                raise ValueError(f"stages[{i}].code: duplicate stage code {st.code!r}")
            for key in ("requires", "requires_done"):
                for req in getattr(st, key):
                    if req not in codes:
                        raise ValueError(f"stages[{i}].{key}: {req!r} is not an earlier stage")
            if st.deadline_rule and st.when != "statutory":
                raise ValueError(f"stages[{i}].deadline_rule: only a statutory stage (when: statutory) has one")
            codes.append(st.code)
        return self

    # -- look-ups -------------------------------------------------------------------------
    def stage(self, name: str) -> StagePolicy:
        """By code (``containment``) or article (``27-3``, when it names one stage)."""
        for st in self.stages:
            if st.code == name:
                return st
        by_article = [st for st in self.stages if st.article == name]
        if len(by_article) == 1:
            return by_article[0]
        known = ", ".join(st.code for st in self.stages)
        if len(by_article) > 1:
            raise InputError(key="err.stage.ambiguous", value=repr(name), codes=", ".join(s.code for s in by_article))
        raise NotFound(key="err.unknown.stage", value=repr(name), known=known)

    def applicable(self, *, entry: str, statutory: bool = True) -> list[StagePolicy]:
        """The stages an incident reported through ``entry`` has. Statutory duties are included
        by default: a new incident may be reportable until its facts say otherwise."""
        out = []
        for st in self.stages:
            if st.when == "contractor" and entry != "contractor":
                continue
            if st.when == "statutory" and not statutory:
                continue
            out.append(st)
        return out

    @property
    def report_delay(self) -> Duration:
        """How long after awareness a report still counts as made at once (27-1: 直ちに)."""
        return parse_duration(self.report_delay_tolerance)

    def snapshot(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.snapshot(), sort_keys=True).encode()).hexdigest()


def policy_from_mapping(data: Any, *, source: str = "policy") -> Policy:
    """A policy from its parsed document; a one-line :class:`ConfigError` names ``source`` and the bad field."""
    return validated(Policy, data, source=source)


def policy_from_snapshot(snapshot: dict[str, Any]) -> Policy:
    """The policy copied onto an incident when it was created."""
    return policy_from_mapping(snapshot, source="policy snapshot")
