"""The organisation file: institutes → divisions, people and the regulation's roles.

Pure: parsing and look-ups over plain data. ``hokoku.store.orgstore`` writes it to the DB.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hokoku.config.yamlload import read_yaml, validate
from hokoku.core.exceptions import ConfigError, NotFound
from hokoku.core.roles import DEPUTY, Role
from hokoku.i18n import BilingualText
from hokoku.resources import data_file

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEMO_ORG = data_file("demo-org.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LocalText = BilingualText
"""Both languages required (the shared bilingual type of :mod:`hokoku.i18n`)."""


class PersonSpec(_Strict):
    name: str = Field(min_length=1)
    email: str
    slack_id: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v.lower()


class RoleHolder(PersonSpec):
    deputy: PersonSpec | None = None


def _code(v: str) -> str:
    if not _CODE.match(v):
        raise ValueError(f"{v!r} is not a valid code (letters, digits, '-', '_', '.')")
    return v


class DivisionSpec(_Strict):
    code: str
    name: LocalText
    protection_manager: RoleHolder
    protection_officers: list[RoleHolder] = Field(default_factory=list)
    staff: list[RoleHolder] = Field(default_factory=list)
    _v = field_validator("code")(_code)


class InstituteSpec(_Strict):
    code: str
    name: LocalText
    institute_manager: RoleHolder
    divisions: list[DivisionSpec] = Field(min_length=1)
    _v = field_validator("code")(_code)


class ContactPoint(_Strict):
    """The contact point printed on the notices and publication, and the reporter's contact on
    the Commission drafts: an office, a phone number, an email address."""

    office: LocalText
    phone: str = Field(min_length=1, max_length=64)
    email: str
    hours: LocalText | None = None
    person: str | None = Field(default=None, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError(f"{v!r} is not an email address")
        return v.lower()


class OrganisationInfo(_Strict):
    name: LocalText
    regime: Literal["administrative_body", "business_like"]
    contact: ContactPoint | None = None


class Organisation(_Strict):
    """The validated organisation file, with role look-ups."""

    organisation: OrganisationInfo
    director_general: RoleHolder
    general_manager: RoleHolder
    audit_officer: RoleHolder
    institutes: list[InstituteSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes_and_people(self) -> Organisation:
        seen: dict[str, str] = {}
        for i, inst in enumerate(self.institutes):
            for code, where in [(inst.code, f"institutes[{i}].code")] + [
                (d.code, f"institutes[{i}].divisions[{j}].code") for j, d in enumerate(inst.divisions)
            ]:
                if code in seen:
                    raise ValueError(f"{where}: code {code!r} is already used at {seen[code]}")
                seen[code] = where
        names: dict[str, str] = {}
        for person, where in self._all_people():
            if names.setdefault(person.email, person.name) != person.name:
                raise ValueError(
                    f"{where}: {person.email} is named {person.name!r} here but {names[person.email]!r} elsewhere"
                )
        return self

    # -- traversal ------------------------------------------------------------------------
    def _all_people(self):
        def holder(h: RoleHolder, where: str):
            yield h, where
            if h.deputy:
                yield h.deputy, where + ".deputy"

        for role in ("director_general", "general_manager", "audit_officer"):
            yield from holder(getattr(self, role), role)
        for i, inst in enumerate(self.institutes):
            yield from holder(inst.institute_manager, f"institutes[{i}].institute_manager")
            for j, div in enumerate(inst.divisions):
                base = f"institutes[{i}].divisions[{j}]"
                yield from holder(div.protection_manager, f"{base}.protection_manager")
                for k, p in enumerate(div.protection_officers):
                    yield from holder(p, f"{base}.protection_officers[{k}]")
                for k, p in enumerate(div.staff):
                    yield from holder(p, f"{base}.staff[{k}]")

    def assignments(self):
        """Yield (person, role, scope, is_deputy) for every role held; scope '*' is organisation-wide."""

        def holder(h: RoleHolder, role: Role, scope: str):
            yield h, role, scope, False
            if h.deputy:
                yield h.deputy, role, scope, True

        for role in (Role.DIRECTOR_GENERAL, Role.GENERAL_MANAGER, Role.AUDIT_OFFICER):
            yield from holder(getattr(self, role.value), role, "*")
        for inst in self.institutes:
            yield from holder(inst.institute_manager, Role.INSTITUTE_MANAGER, inst.code)
            for div in inst.divisions:
                yield from holder(div.protection_manager, Role.PROTECTION_MANAGER, div.code)
                for p in div.protection_officers:
                    yield from holder(p, Role.PROTECTION_OFFICER, div.code)
                for p in div.staff:
                    yield from holder(p, Role.STAFF, div.code)

    def people(self) -> dict[str, PersonSpec]:
        out: dict[str, PersonSpec] = {}
        for person, _ in self._all_people():
            existing = out.get(person.email)
            if existing is None or (person.slack_id and not existing.slack_id):
                out[person.email] = PersonSpec(name=person.name, email=person.email, slack_id=person.slack_id)
        return out

    # -- look-ups -------------------------------------------------------------------------
    def division(self, code: str) -> DivisionSpec:
        for inst in self.institutes:
            for div in inst.divisions:
                if div.code == code:
                    return div
        known = ", ".join(d.code for i in self.institutes for d in i.divisions)
        raise NotFound(key="err.unknown.division_known", value=repr(code), known=known)

    def institute_of(self, division_code: str) -> InstituteSpec:
        for inst in self.institutes:
            if any(d.code == division_code for d in inst.divisions):
                return inst
        raise NotFound(key="err.unknown.division", value=repr(division_code))

    def person(self, email: str) -> PersonSpec:
        found = self.people().get(email.lower())
        if found is None:
            raise NotFound(key="err.unknown.person", value=repr(email))
        return found

    def holders(self, role: str, division_code: str) -> list[RoleHolder]:
        """The principal holders of ``role`` for an incident in ``division_code``."""
        div = self.division(division_code)
        inst = self.institute_of(division_code)
        match role:
            case Role.PROTECTION_MANAGER:
                return [div.protection_manager]
            case Role.PROTECTION_OFFICER:
                return list(div.protection_officers)
            case Role.INSTITUTE_MANAGER:
                return [inst.institute_manager]
            case Role.GENERAL_MANAGER | Role.DIRECTOR_GENERAL | Role.AUDIT_OFFICER:
                return [getattr(self, role)]
            case Role.STAFF:
                return list(div.staff)
        raise NotFound(f"role {role!r} has no holders in the organisation")

    def resolve(self, role: str, division_code: str, *, owner_role: str) -> list[PersonSpec]:
        """People for a ladder entry: a role, or ``deputy`` (the owner's deputies)."""
        if role == DEPUTY:
            return [h.deputy for h in self.holders(owner_role, division_code) if h.deputy]
        return [PersonSpec(name=h.name, email=h.email, slack_id=h.slack_id) for h in self.holders(role, division_code)]

    def roles_of(self, email: str) -> list[tuple[str, str, bool]]:
        email = email.lower()
        return [(role.value, scope, dep) for p, role, scope, dep in self.assignments() if p.email == email]


def load_organisation(path: Path) -> Organisation:
    """Read and validate an organisation file; errors name the file, the path and the problem."""
    data = read_yaml(path)
    return validate(Organisation, data, source=path)


def organisation_from_document(document: dict) -> Organisation:
    try:
        return Organisation.model_validate(document)
    except Exception as exc:  # stored documents were validated on load; this is corruption
        raise ConfigError(f"stored organisation is invalid: {exc}") from None
