"""Who may see what: pure scope rules over the demo organisation (no database, no web)."""

from __future__ import annotations

import pytest

from hokoku.config.org import DEMO_ORG, load_organisation
from hokoku.core.scopes import scope_for

ORG = load_organisation(DEMO_ORG)


def incident(reporter="yoshida@example.org", division="IDS-SURVEY", institute="IDS"):
    return {"reporter": reporter, "division": division, "institute": institute}


SURVEY = incident()
SURVEY_BY_OTHER = incident(reporter="yamamoto@example.org")
MED = incident(reporter="kimura@example.org", division="IDS-MED")
COHORT = incident(reporter="mori@example.org", division="IEH-COHORT", institute="IEH")


@pytest.mark.parametrize(
    "email, sees",
    [
        ("yoshida@example.org", [SURVEY]),  # staff: own report only
        ("yamamoto@example.org", [SURVEY_BY_OTHER]),
        ("nakamura.pm@example.org", [SURVEY, SURVEY_BY_OTHER]),  # protection manager: the division
        ("kobayashi.pm2@example.org", [SURVEY, SURVEY_BY_OTHER]),  # ... and the deputy
        ("kato.po@example.org", [SURVEY, SURVEY_BY_OTHER]),  # protection officer: the division
        ("matsumoto.pm@example.org", [MED]),
        ("ito.im@example.org", [SURVEY, SURVEY_BY_OTHER, MED]),  # institute manager: the institute
        ("watanabe.im2@example.org", [SURVEY, SURVEY_BY_OTHER, MED]),
        ("hayashi.im@example.org", [COHORT]),
        ("suzuki.gm@example.org", [SURVEY, SURVEY_BY_OTHER, MED, COHORT]),  # organisation-wide
        ("takahashi.gm2@example.org", [SURVEY, SURVEY_BY_OTHER, MED, COHORT]),
        ("yamada.dg@example.org", [SURVEY, SURVEY_BY_OTHER, MED, COHORT]),
        ("tanaka.audit@example.org", [SURVEY, SURVEY_BY_OTHER, MED, COHORT]),
    ],
)
def test_each_role_sees_exactly_its_scope(email, sees):
    """Staff see their own reports; PM/deputy/PO their division; IM their institute; GM, DG, audit all."""
    scope = scope_for(ORG, email)
    for inc in (SURVEY, SURVEY_BY_OTHER, MED, COHORT):
        assert scope.allows(**inc) is (inc in sees), (email, inc)


def test_only_the_audit_officer_is_read_only():
    """The audit officer changes nothing; every other role may act."""
    assert scope_for(ORG, "tanaka.audit@example.org").read_only
    for email in (
        "yoshida@example.org",
        "nakamura.pm@example.org",
        "ito.im@example.org",
        "suzuki.gm@example.org",
        "yamada.dg@example.org",
    ):
        assert not scope_for(ORG, email).read_only, email


def test_audit_log_readers_and_managing_flags():
    """GM, DG and the audit officer read the audit log; staff manage nothing."""
    assert scope_for(ORG, "suzuki.gm@example.org").may_read_audit_log
    assert scope_for(ORG, "yamada.dg@example.org").may_read_audit_log
    assert not scope_for(ORG, "nakamura.pm@example.org").may_read_audit_log
    assert not scope_for(ORG, "yoshida@example.org").manages
    assert scope_for(ORG, "nakamura.pm@example.org").manages


def test_refusal_reason_names_why():
    """A refusal says why (kept in the audit log); an allowed view has no reason."""
    staff = scope_for(ORG, "yamamoto@example.org")
    assert staff.refusal(**SURVEY) == "staff see only their own reports"
    assert staff.refusal(**SURVEY_BY_OTHER) is None
    pm = scope_for(ORG, "matsumoto.pm@example.org")
    assert "IDS-MED" in pm.refusal(**SURVEY)


def test_unknown_person_sees_only_their_own_reports_and_email_case_is_ignored():
    """Someone not in the organisation file has no role; emails compare case-insensitively."""
    ghost = scope_for(ORG, "ghost@example.org")
    assert not ghost.manages and not ghost.everything
    assert not ghost.allows(**SURVEY)
    assert scope_for(ORG, "Yoshida@Example.org").allows(**SURVEY)


def test_home_division_is_proposed_on_the_report_form():
    """Staff and division roles have a home division; organisation-wide roles do not."""
    assert scope_for(ORG, "yoshida@example.org").home_division == "IDS-SURVEY"
    assert scope_for(ORG, "kato.po@example.org").home_division == "IDS-SURVEY"
    assert scope_for(ORG, "suzuki.gm@example.org").home_division is None
