"""Playbooks: the shipped set, the schema, the linter's locations, overrides and deadlines."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from hokoku.config.playbooks import (
    REQUIRED_REPORT_ITEMS,
    Playbook,
    default_playbook_dir,
    lint,
    load_playbook,
    load_playbooks,
    playbook_dirs,
    playbook_list_rows,
    render_playbook_text,
    step_deadlines,
)
from hokoku.core.exceptions import ConfigError, NotFound

JST = timezone(timedelta(hours=9))

EXPECTED_CATEGORIES = {
    "unauthorized-access",
    "malware",
    "lost-device",
    "misdirected",
    "insider-misuse",
    "improper-copy",
    "bulk-download",
    "contractor",
    "physical-intrusion",
    "improper-disposal",
}

# A small valid playbook. Line numbers matter: the tests below break specific lines.
SAMPLE = """\
category: sample
title: {ja: "サンプル", en: "Sample"}
description: {ja: "試験用のプレイブック", en: "A playbook for tests"}
articles: ["27-2"]
immediate_actions:
  - {ja: "LANケーブルを抜く", en: "Pull the LAN cable"}
steps:
  - id: isolate
    phase: containment
    title: {ja: "隔離", en: "Isolate"}
    owner: protection_manager
    due: 1h
    due_from: report
    mandatory: true
  - id: investigate
    phase: detection
    title: {ja: "調査", en: "Investigate"}
    owner: protection_officer
    due: 4h
    due_from: previous
    mandatory: true
  - id: review
    phase: post-incident
    title: {ja: "振り返り", en: "Review"}
    owner: protection_manager
    due: 3d
    due_from: report
    mandatory: false
investigation_questions:
  - {id: data-items, maps_to: data_items, question: {ja: "項目は何か"}}
  - {id: individuals, maps_to: individuals, question: {ja: "本人の数は"}}
  - {id: cause, maps_to: cause, question: {ja: "原因は"}}
  - {id: secondary-damage, maps_to: secondary_damage, question: {ja: "二次被害は"}}
recurrence_prevention:
  - {ja: "手順を見直す"}
"""


def _write(directory: Path, text: str, name: str = "sample") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _broken(old: str, new: str, text: str = SAMPLE) -> str:
    assert text.count(old) == 1, f"fixture line {old!r} must occur exactly once"
    return text.replace(old, new)


def _errors_for(tmp_path: Path, text: str, name: str = "sample") -> list[str]:
    path = _write(tmp_path / "pb", text, name)
    return [str(e) for e in lint([path.parent])]


@pytest.fixture(scope="module")
def shipped() -> dict[str, Playbook]:
    return load_playbooks([default_playbook_dir()])


# --------------------------------------------------------------------------- shipped set


def test_every_shipped_playbook_passes_lint():
    """The playbooks shipped in playbooks/ have no lint error."""
    assert [str(e) for e in lint([default_playbook_dir()])] == []


def test_shipped_playbooks_include_the_ten_categories(shipped):
    """All ten incident categories have a shipped playbook."""
    assert EXPECTED_CATEGORIES <= set(shipped)


def test_every_shipped_playbook_has_three_steps_and_a_mandatory_containment_step(shipped):
    """Each shipped playbook has at least three steps, one of them a mandatory containment step."""
    for category, playbook in shipped.items():
        assert len(playbook.steps) >= 3, category
        assert any(s.phase == "containment" and s.mandatory for s in playbook.steps), category


def test_every_shipped_playbook_asks_about_the_core_report_items(shipped):
    """Each shipped playbook has four or more questions covering data items, individuals, cause, damage."""
    for category, playbook in shipped.items():
        covered = {q.maps_to for q in playbook.investigation_questions}
        assert len(playbook.investigation_questions) >= 4, category
        assert set(REQUIRED_REPORT_ITEMS) <= covered, category


def test_every_shipped_text_has_an_english_version(shipped):
    """Shipped playbooks give English beside the Japanese for titles, actions and steps."""
    for category, playbook in shipped.items():
        texts = [playbook.title, playbook.description, *playbook.immediate_actions, *playbook.recurrence_prevention]
        for step in playbook.steps:
            texts += [step.title, *step.checklist, *step.evidence]
        texts += [q.question for q in playbook.investigation_questions]
        assert all(t.en for t in texts), category


@pytest.mark.parametrize("category", ["malware", "unauthorized-access"])
def test_network_incident_actions_say_pull_the_cable_keep_power_keep_files_note_time(shipped, category):
    """Malware/unauthorised access: pull the LAN cable, do not power off, delete nothing, note the time."""
    actions = shipped[category].immediate_actions
    ja = " ".join(a.ja for a in actions)
    en = " ".join(a.en or "" for a in actions)
    assert "LANケーブルを抜く" in ja and "Pull the LAN cable" in en
    assert "電源は切らない" in ja and "do not power off" in en
    assert "削除しない" in ja and "delete" in en
    assert "時刻" in ja and "time" in en


def test_bulk_download_rests_on_the_download_warning_article(shipped):
    """The bulk-download playbook cites Art. 13 (download-volume warning)."""
    assert "13" in shipped["bulk-download"].articles


def test_contractor_rests_on_the_counterparty_and_outsourcing_articles(shipped):
    """The contractor playbook cites Art. 25-2 and Art. 26."""
    articles = shipped["contractor"].articles
    assert "25-2" in articles
    assert any(a == "26" or a.startswith("26-") for a in articles)


# --------------------------------------------------------------------------- lint locations


def test_sample_fixture_is_valid(tmp_path):
    """The fixture the broken copies derive from lints clean (so each error below is the break)."""
    assert _errors_for(tmp_path, SAMPLE) == []


def test_bad_duration_is_reported_with_exact_file_and_line(tmp_path, monkeypatch):
    """A bad duration on line 19 is reported as playbooks/sample.yaml:19 with its path."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "playbooks", _broken("    due: 4h\n", "    due: 3x\n"))
    errors = [str(e) for e in lint([Path("playbooks")])]
    assert errors == [
        "playbooks/sample.yaml:19: steps[1].due: bad duration '3x': expected e.g. '15m', '4h', '3d' or '2bd'"
    ]


def test_unknown_role_is_reported_at_its_line(tmp_path):
    """An owner that is not a Role is reported at the owner line."""
    errors = _errors_for(tmp_path, _broken("    owner: protection_officer\n", "    owner: boss\n"))
    assert len(errors) == 1
    assert errors[0].endswith(
        ":18: steps[1].owner: unknown role 'boss': expected one of "
        + ", ".join(
            [
                "director_general",
                "general_manager",
                "audit_officer",
                "institute_manager",
                "protection_manager",
                "protection_officer",
                "staff",
                "reporter",
            ]
        )
    )


def test_duplicate_step_id_is_reported_at_the_second_occurrence(tmp_path):
    """A step id used twice is reported at the later step's id line."""
    errors = _errors_for(tmp_path, _broken("  - id: review\n", "  - id: isolate\n"))
    assert len(errors) == 1
    assert errors[0].endswith(":22: steps[2].id: duplicate step id 'isolate' (first used by steps[0])")


def test_missing_japanese_text_is_reported_at_its_line(tmp_path):
    """A text without ja is reported at the line of that text."""
    text = _broken('    title: {ja: "調査", en: "Investigate"}\n', '    title: {en: "Investigate"}\n')
    errors = _errors_for(tmp_path, text)
    assert len(errors) == 1 and errors[0].endswith(":17: steps[1].title.ja: Japanese text (ja) is missing")


def test_blank_japanese_text_is_reported(tmp_path):
    """A ja that is only spaces counts as missing Japanese text."""
    errors = _errors_for(tmp_path, _broken('{ja: "手順を見直す"}', '{ja: "  ", en: "Review"}'))
    assert len(errors) == 1 and errors[0].endswith(":35: recurrence_prevention[0].ja: Japanese text (ja) is empty")


def test_yaml_syntax_error_is_reported_at_the_line_of_the_mark(tmp_path):
    """Broken indentation is reported as a YAML syntax error on the offending line."""
    errors = _errors_for(tmp_path, _broken("    phase: detection\n", "   phase: detection\n"))
    assert len(errors) == 1
    assert ":16: YAML syntax error:" in errors[0]


def test_unknown_field_is_reported_with_a_suggestion(tmp_path):
    """A misspelt field is an unknown field, located, with the likely intended name."""
    errors = _errors_for(tmp_path, _broken("    mandatory: false\n", "    mandatory: false\n    chcklist: []\n"))
    assert len(errors) == 1
    assert errors[0].endswith(":29: steps[2].chcklist: unknown field 'chcklist' (did you mean 'checklist'?)")


def test_wrong_type_is_reported(tmp_path):
    """A string where a mapping is expected is a wrong-type error at its line."""
    errors = _errors_for(
        tmp_path, _broken('  - {ja: "LANケーブルを抜く", en: "Pull the LAN cable"}\n', '  - "LANケーブルを抜く"\n')
    )
    assert len(errors) == 1
    assert errors[0].endswith(":6: immediate_actions[0]: wrong type: expected a mapping, got a string")


def test_category_must_match_the_file_name(tmp_path):
    """A playbook whose category differs from its file name is reported at the category line."""
    errors = _errors_for(tmp_path, SAMPLE, name="other")
    assert len(errors) == 1
    expected = "other.yaml:1: category: category 'sample' does not match the file name (expected 'other')"
    assert errors[0].endswith(expected)


def test_bad_due_from_is_reported(tmp_path):
    """due_from other than report/previous is reported at its line."""
    errors = _errors_for(tmp_path, _broken("    due_from: previous\n", "    due_from: later\n"))
    assert len(errors) == 1
    assert errors[0].endswith(":20: steps[1].due_from: bad value 'later': expected 'report' or 'previous'")


def test_empty_steps_is_reported(tmp_path):
    """A playbook with no steps is reported at the steps line."""
    head, _, tail = SAMPLE.partition("steps:\n")
    text = head + "steps: []\n" + tail[tail.index("investigation_questions:") :]
    errors = _errors_for(tmp_path, text)
    assert len(errors) == 1 and errors[0].endswith(":7: steps: must not be empty")


def test_playbook_without_mandatory_containment_step_is_rejected(tmp_path):
    """Lint and the model both refuse a playbook whose containment step is optional."""
    text = _broken("    due_from: report\n    mandatory: true\n", "    due_from: report\n    mandatory: false\n")
    errors = _errors_for(tmp_path, text)
    assert len(errors) == 1 and ":7: steps: no mandatory containment step" in errors[0]
    with pytest.raises(ValidationError, match="no mandatory containment step"):
        Playbook.model_validate(yaml.safe_load(text))


def test_duplicate_yaml_key_is_reported(tmp_path):
    """A key given twice in one mapping (which YAML silently collapses) is reported at the second one."""
    errors = _errors_for(tmp_path, _broken("    due: 3d\n", "    due: 3d\n    due: 5d\n"))
    assert len(errors) == 1 and errors[0].endswith(":27: steps[2].due: duplicate key 'due'")


def test_lint_reports_every_error_each_with_its_line(tmp_path):
    """Several problems in one file are all reported, in line order, each at its own line."""
    text = _broken("    owner: protection_manager\n    due: 1h\n", "    owner: boss\n    due: 1h\n")
    text = _broken("    due: 4h\n", "    due: 3x\n", text)
    text = _broken("  - id: review\n", "  - id: isolate\n", text)
    text = _broken('{ja: "原因は"}', '{en: "Cause?"}', text)
    path = _write(tmp_path / "pb", text)
    assert [(e.line, e.path) for e in lint([path.parent])] == [
        (11, "steps[0].owner"),
        (19, "steps[1].due"),
        (22, "steps[2].id"),
        (32, "investigation_questions[2].question.ja"),
    ]


def test_errors_in_several_files_are_all_reported(tmp_path):
    """Lint goes on after a bad file and reports the other files' problems too."""
    directory = tmp_path / "pb"
    _write(directory, "category: malware\ntitle: [unclosed\n", name="aaa")
    _write(directory, _broken("    due: 4h\n", "    due: 3x\n"))
    errors = [str(e) for e in lint([directory])]
    assert len(errors) == 2
    assert "aaa.yaml:3: YAML syntax error" in errors[0]  # the unclosed flow sequence runs into end of file
    assert "sample.yaml:19: steps[1].due" in errors[1]


def test_loading_an_invalid_playbook_raises_config_error_with_the_first_lint_error(tmp_path):
    """load_playbook and load_playbooks raise ConfigError carrying file:line: path: problem."""
    path = _write(tmp_path / "pb", _broken("    due: 4h\n", "    due: 3x\n"))
    with pytest.raises(ConfigError) as caught:
        load_playbook(path)
    assert str(caught.value) == str(lint([path])[0])
    expected = "sample.yaml:19: steps[1].due: bad duration '3x': expected e.g. '15m', '4h', '3d' or '2bd'"
    assert str(caught.value).endswith(expected)
    with pytest.raises(ConfigError, match=r"sample\.yaml:19: steps\[1\]\.due"):
        load_playbooks([path.parent])


def test_missing_override_directory_is_a_config_error(tmp_path):
    """Pointing at a directory that does not exist fails loudly instead of loading nothing."""
    with pytest.raises(ConfigError, match="no such playbook directory"):
        load_playbooks([tmp_path / "nowhere"])


# --------------------------------------------------------------------------- overrides


def test_override_directory_replaces_a_shipped_playbook_and_adds_a_category(tmp_path):
    """A directory from HOKOKU_PLAYBOOK_DIR overrides malware and adds phishing; the rest stay shipped."""
    override = tmp_path / "org-playbooks"
    own_malware = _broken(
        'title: {ja: "サンプル", en: "Sample"}',
        'title: {ja: "当機構のマルウェア手順"}',
        _broken("category: sample", "category: malware"),
    )
    _write(override, own_malware, name="malware")
    _write(override, _broken("category: sample", "category: phishing"), name="phishing")
    playbooks = load_playbooks(playbook_dirs(str(override)))
    assert playbooks["malware"].title.ja == "当機構のマルウェア手順"
    assert "phishing" in playbooks
    assert EXPECTED_CATEGORIES <= set(playbooks)
    assert playbooks["unauthorized-access"].title.en == "Unauthorised access"


def test_later_override_directory_wins_over_earlier_one(tmp_path):
    """With several os.pathsep-separated directories, the last one wins for a category."""
    first, second = tmp_path / "a", tmp_path / "b"
    _write(first, _broken('title: {ja: "サンプル", en: "Sample"}', 'title: {ja: "一番目"}'))
    _write(second, _broken('title: {ja: "サンプル", en: "Sample"}', 'title: {ja: "二番目"}'))
    dirs = playbook_dirs(f"{first}{os.pathsep}{second}")
    assert dirs == [default_playbook_dir(), first, second]
    assert load_playbooks(dirs)["sample"].title.ja == "二番目"


def test_playbook_dirs_without_extra_is_the_shipped_directory():
    """No env value (or an empty one) means only the shipped playbooks."""
    assert playbook_dirs(None) == [default_playbook_dir()]
    assert playbook_dirs("") == [default_playbook_dir()]
    assert (default_playbook_dir() / "malware.yaml").is_file()


# --------------------------------------------------------------------------- steps and deadlines


def test_step_deadlines_count_from_the_report_or_the_previous_deadline(tmp_path):
    """report → reported_at + due; previous → previous step's deadline + due."""
    playbook = load_playbook(_write(tmp_path, SAMPLE))
    reported_at = datetime(2027, 4, 1, 10, 0, tzinfo=JST)
    deadlines = [(step.id, deadline) for step, deadline in step_deadlines(playbook, reported_at)]
    assert deadlines == [
        ("isolate", datetime(2027, 4, 1, 11, 0, tzinfo=JST)),  # report + 1h
        ("investigate", datetime(2027, 4, 1, 15, 0, tzinfo=JST)),  # isolate's deadline + 4h
        ("review", datetime(2027, 4, 4, 10, 0, tzinfo=JST)),  # report + 3d
    ]


def test_step_deadlines_refuse_a_naive_report_time(shipped):
    """A report time without timezone is refused rather than guessed."""
    with pytest.raises(ValueError, match="timezone-aware"):
        step_deadlines(shipped["malware"], datetime(2027, 4, 1, 10, 0))


def test_step_is_found_by_id_and_an_unknown_id_is_not_found(shipped):
    """Playbook.step returns the step with that id and raises NotFound otherwise."""
    playbook = shipped["malware"]
    assert playbook.step("isolate-host").phase == "containment"
    with pytest.raises(NotFound, match="no-such-step"):
        playbook.step("no-such-step")


# --------------------------------------------------------------------------- rendering


def test_render_playbook_text_shows_actions_steps_and_deadlines_in_japanese(shipped):
    """The Japanese rendering has the title, the immediate actions, owners and deadlines in words."""
    text = render_playbook_text(shipped["malware"], lang="ja")
    assert text.startswith("マルウェア・ランサムウェア感染 [malware]\n")
    assert "LANケーブルを抜く" in text
    assert "担当: 保護管理者" in text and "期限: 報告から30分" in text
    assert "前の手順の期限から2日" in text
    assert "第27条第2項" in text


def test_render_playbook_text_in_english_falls_back_to_japanese_where_english_is_missing(tmp_path):
    """The English rendering uses en, and ja where no en is given."""
    text = render_playbook_text(load_playbook(_write(tmp_path, SAMPLE)), lang="en")
    assert text.startswith("Sample [sample]\n")
    assert "Owner: Protection Manager" in text and "Due: 4 hours after the previous step's deadline" in text
    assert "手順を見直す" in text  # recurrence measure has no en
    assert "Art. 27(2)" in text


def test_playbook_list_rows_are_sorted_by_category_with_titles_in_the_language(shipped):
    """List rows come sorted by category, titled in the requested language, with step counts."""
    rows = playbook_list_rows(shipped, "en")
    assert [row.category for row in rows] == sorted(shipped)
    malware = next(row for row in rows if row.category == "malware")
    assert malware.title == "Malware or ransomware infection"
    assert malware.steps == len(shipped["malware"].steps)
    assert playbook_list_rows(shipped, "ja")[0].title == shipped[rows[0].category].title.ja
