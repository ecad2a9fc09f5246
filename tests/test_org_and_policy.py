"""Organisation and policy files: validation errors name the file, the path and the problem."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hokoku.config.org import DEMO_ORG, load_organisation
from hokoku.config.policyfile import DEFAULT_POLICY, load_policy
from hokoku.core.exceptions import ConfigError, InputError, NotFound

DEMO = yaml.safe_load(DEMO_ORG.read_text(encoding="utf-8"))
POLICY_DOC = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))


def write(tmp_path: Path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def org_error(tmp_path: Path, mutate) -> str:
    doc = copy.deepcopy(DEMO)
    mutate(doc)
    with pytest.raises(ConfigError) as err:
        load_organisation(write(tmp_path, "org.yaml", doc))
    return str(err.value)


def policy_error(tmp_path: Path, mutate) -> str:
    doc = copy.deepcopy(POLICY_DOC)
    mutate(doc)
    with pytest.raises(ConfigError) as err:
        load_policy(write(tmp_path, "policy.yaml", doc))
    return str(err.value)


# -- organisation --------------------------------------------------------------------------
def test_demo_org_is_valid():
    """The bundled demo organisation loads, with IDS-SURVEY under IDS."""
    org = load_organisation(DEMO_ORG)
    assert org.institute_of("IDS-SURVEY").code == "IDS"
    assert org.division("IDS-SURVEY").protection_manager.email == "nakamura.pm@example.org"


def test_missing_email_names_file_path_and_problem(tmp_path):
    """A protection manager without an email: `org.yaml: institutes[1].divisions[0].protection_manager: email is missing`."""
    msg = org_error(tmp_path, lambda d: d["institutes"][1]["divisions"][0]["protection_manager"].pop("email"))
    assert msg == "org.yaml: institutes[1].divisions[0].protection_manager: email is missing"


def test_bad_email_names_the_value(tmp_path):
    """An address without a domain is named with its path."""
    msg = org_error(
        tmp_path, lambda d: d["institutes"][0]["divisions"][0]["protection_officers"][0].__setitem__("email", "kato.po")
    )
    assert msg == "org.yaml: institutes[0].divisions[0].protection_officers[0].email: 'kato.po' is not an email address"


def test_duplicate_division_code_names_both_places(tmp_path):
    """A division code used twice names the second place and the first."""
    msg = org_error(tmp_path, lambda d: d["institutes"][1]["divisions"][0].__setitem__("code", "IDS-MED"))
    assert msg == (
        "org.yaml: institutes[1].divisions[0].code: code 'IDS-MED' is already used at institutes[0].divisions[1].code"
    )


def test_unknown_regime_lists_the_allowed_ones(tmp_path):
    """An unknown legal regime is refused, naming both accepted values."""
    msg = org_error(tmp_path, lambda d: d["organisation"].__setitem__("regime", "private_company"))
    assert msg.startswith("org.yaml: organisation.regime: ")
    assert "'administrative_body'" in msg and "'business_like'" in msg


def test_unknown_field_is_named(tmp_path):
    """A misspelt key is refused rather than ignored."""
    msg = org_error(tmp_path, lambda d: d["institutes"][0]["divisions"][0].__setitem__("protection_manger", {}))
    assert msg == "org.yaml: institutes[0].divisions[0]: unknown field 'protection_manger'"


def test_same_email_with_two_names_is_refused(tmp_path):
    """One address cannot belong to two differently named people."""
    msg = org_error(
        tmp_path, lambda d: d["institutes"][1]["divisions"][0]["staff"][0].__setitem__("email", "yoshida@example.org")
    )
    assert msg.startswith("org.yaml: institutes[1].divisions[0].staff[0]: yoshida@example.org is named")


def test_yaml_syntax_error_names_the_line(tmp_path):
    """A YAML syntax error names the file and the line it is on."""
    lines = DEMO_ORG.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("general_manager:"))
    lines[n + 1] = "  name: [鈴木 一郎"  # unclosed flow sequence; the parser trips on the next line
    path = tmp_path / "org.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_organisation(path)
    assert str(err.value).startswith(f"{path}:{n + 3}: YAML syntax error: ")


def test_empty_org_file_is_refused(tmp_path):
    """An empty organisation file says so."""
    path = tmp_path / "org.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^org\.yaml: the file is empty$"):
        load_organisation(path)


def test_missing_org_file_is_named(tmp_path):
    """A path that does not exist is named."""
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_organisation(tmp_path / "nope.yaml")


# -- policy --------------------------------------------------------------------------------
def test_policy_unknown_owner_role(tmp_path):
    """A stage owned by a role the regulation does not have is refused."""
    msg = policy_error(tmp_path, lambda d: d["stages"][1].__setitem__("owner", "janitor"))
    assert msg == "policy.yaml: stages[1].owner: unknown role 'janitor'"


def test_policy_unknown_ladder_role(tmp_path):
    """An unknown role in a ladder step is named with its path."""
    msg = policy_error(tmp_path, lambda d: d["stages"][1]["ladder"][2].__setitem__("to", ["ceo"]))
    assert msg == "policy.yaml: stages[1].ladder[2].to: unknown role 'ceo'"


def test_policy_bad_duration(tmp_path):
    """A deadline that is not a duration names the text and an example."""
    msg = policy_error(tmp_path, lambda d: d["stages"][4].__setitem__("deadline", "2 fortnights"))
    assert (
        msg == "policy.yaml: stages[4].deadline: bad duration '2 fortnights': expected e.g. '15m', '4h', '3d' or '2bd'"
    )


def test_policy_bad_serious_duration(tmp_path):
    """A bad duration inside the serious override is found too."""
    msg = policy_error(tmp_path, lambda d: d["stages"][1]["serious"].__setitem__("remind_every", "often"))
    assert msg.startswith("policy.yaml: stages[1].serious.remind_every: bad duration 'often'")


def test_policy_duplicate_stage_code(tmp_path):
    """Two stages with one code are refused, naming the second."""
    msg = policy_error(tmp_path, lambda d: d["stages"][5].__setitem__("code", "immediate-measures"))
    assert msg == "policy.yaml: stages[5].code: duplicate stage code 'immediate-measures'"


def test_policy_requires_a_later_stage(tmp_path):
    """`requires` may only name earlier stages (no cycles, no forward references)."""
    msg = policy_error(tmp_path, lambda d: d["stages"][3].__setitem__("requires", ["containment"]))
    assert msg == "policy.yaml: stages[3].requires: 'containment' is not an earlier stage"


def test_stage_lookup_by_code_and_by_article():
    """A stage is found by its code or by an article that names only it."""
    policy = load_policy()
    assert policy.stage("containment").article == "27-2"
    assert policy.stage("27-3").code == "investigation-report"
    assert policy.stage("28-2").code == "commission-information"


@pytest.mark.parametrize(
    ("article", "codes"),
    [
        ("27-1", "report, acknowledge"),
        ("27-2", "immediate-measures, containment"),
    ],
)
def test_ambiguous_article_lists_the_codes(article, codes):
    """An article shared by several stages is an error listing their codes."""
    with pytest.raises(InputError) as err:
        load_policy().stage(article)
    assert str(err.value) == f"stage '{article}' is ambiguous: {codes}; use the code"


def test_unknown_stage_lists_the_known_codes():
    """An unknown stage name is NotFound and lists the codes there are."""
    with pytest.raises(NotFound) as err:
        load_policy().stage("containmnet")
    assert str(err.value).startswith("unknown stage 'containmnet' (stages: report, acknowledge, ")
