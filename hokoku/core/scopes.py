"""Who may see what (Art. 5, 11, 14: least privilege): pure functions over the organisation.

- staff (and anyone without a managing role) see only the incidents they reported;
- protection managers, their deputies and protection officers see their division's incidents;
- institute managers (and deputies) see their institute's incidents;
- the general manager, the director-general and the audit officer (and deputies) see everything;
- the audit officer is read-only: every action is refused.

A person with several roles gets the union of what each role may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from hokoku.core.roles import Role

#: Roles that see every incident of the organisation.
ORG_WIDE_ROLES = frozenset({Role.GENERAL_MANAGER, Role.DIRECTOR_GENERAL, Role.AUDIT_OFFICER})
#: Roles that see their division's incidents.
DIVISION_ROLES = frozenset({Role.PROTECTION_MANAGER, Role.PROTECTION_OFFICER})
#: Roles that may read the audit log page.
AUDIT_READERS = ORG_WIDE_ROLES
#: Roles that never change anything through the web app or the API.
READ_ONLY_ROLES = frozenset({Role.AUDIT_OFFICER})


@dataclass(frozen=True)
class Scope:
    """What one signed-in person may see and do."""

    email: str
    roles: tuple[tuple[str, str, bool], ...]  # (role, scope code or '*', is deputy)
    everything: bool = False
    institutes: frozenset[str] = frozenset()
    divisions: frozenset[str] = frozenset()

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r for r, _, _ in self.roles)

    @property
    def read_only(self) -> bool:
        """The audit officer (or deputy) changes nothing, whatever other role they hold."""
        return bool(self.role_names & READ_ONLY_ROLES)

    @property
    def manages(self) -> bool:
        """Sees more than their own reports (a dashboard of others' incidents)."""
        return self.everything or bool(self.institutes or self.divisions)

    @property
    def may_read_audit_log(self) -> bool:
        return bool(self.role_names & AUDIT_READERS)

    @property
    def home_division(self) -> str | None:
        """The division a report form proposes: the first division the person belongs to."""
        for role, code, _ in self.roles:
            if role in (Role.STAFF, *DIVISION_ROLES) and code != "*":
                return code
        return None

    def allows(self, *, reporter: str, division: str, institute: str) -> bool:
        """May this person see an incident with these fields?"""
        if self.everything:
            return True
        if reporter.strip().lower() == self.email:
            return True
        return division in self.divisions or institute in self.institutes

    def refusal(self, *, reporter: str, division: str, institute: str) -> str | None:
        """Why this person may not see the incident (None when allowed), for the audit log."""
        if self.allows(reporter=reporter, division=division, institute=institute):
            return None
        if not self.manages:
            return "staff see only their own reports"
        return (
            f"outside the viewer's scope (divisions: {sorted(self.divisions)}, institutes: {sorted(self.institutes)})"
        )


class Assignments(Protocol):
    """What :func:`scope_for` reads of an organisation (:class:`hokoku.config.org.Organisation`)."""

    def roles_of(self, email: str) -> Iterable[tuple[str, str, bool]]:
        """``(role, scope code, deputy)`` for every role ``email`` holds."""
        ...


def scope_for(org: Assignments, email: str) -> Scope:
    """The scope of ``email`` under the organisation ``org`` (:class:`hokoku.config.org.Organisation`).

    A person who is not in the organisation file gets a scope that sees nothing but their own
    reports (and the web layer refuses them sign-in anyway).
    """
    email = email.strip().lower()
    roles = tuple(org.roles_of(email))
    everything = any(role in ORG_WIDE_ROLES for role, _, _ in roles)
    institutes = frozenset(code for role, code, _ in roles if role == Role.INSTITUTE_MANAGER)
    divisions = frozenset(code for role, code, _ in roles if role in DIVISION_ROLES)
    return Scope(email=email, roles=roles, everything=everything, institutes=institutes, divisions=divisions)
