"""One language per run or request: no inline language branches, a CLI run and a web page in
one language throughout."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from hokoku.i18n import CATALOGUE
from tests.helpers import DEFAULT_SUMMARY, DIVISION, GM, REPORTER, T0, iso
from tests.web_support import fast_hashes, site

ROOT = Path(__file__).resolve().parents[1]
#: Where hokoku's code lives (the acceptance grep of issue 13).
CODE = ("hokoku", "flows", "models", "notifiers")
#: ``lang == "en"``, ``lang == 'ja'``, ``lang != "en"``, ``"x" if ja else "y"``: choosing a text by language inline.
BRANCH = r"""lang *[!=]= *['"](ja|en)['"]|if ja else"""
KANA_KANJI = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def test_no_inline_language_branch_remains_in_the_code():
    """`grep -rnE` over hokoku, flows, models and notifiers finds no branch on the language."""
    found = subprocess.run(["grep", "-rnE", "--include=*.py", BRANCH, *CODE], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1, f"inline language branches:\n{found.stdout}"


def test_the_acceptance_grep_finds_nothing():
    """The issue's own acceptance command, verbatim."""
    found = subprocess.run(["grep", "-rn", 'lang == "en"', *CODE], cwd=ROOT, capture_output=True, text=True)
    assert (found.returncode, found.stdout) == (1, "")


def test_no_template_branches_on_the_language():
    found = subprocess.run(["grep", "-rnE", BRANCH, "templates"], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1, f"inline language branches in templates:\n{found.stdout}"


@pytest.fixture
def reported(hokoku_home, cli) -> str:
    """`init --demo`, then one report at T0; its incident id."""
    assert cli("init", "--demo", "--now", iso(T0))[0] == 0
    code, out, err = cli(
        "report",
        "--division",
        DIVISION,
        "--category",
        "malware",
        "--summary",
        DEFAULT_SUMMARY,
        "--reporter",
        REPORTER,
        "--now",
        iso(T0),
        "--json",
    )
    assert (code, err) == (0, "")
    return json.loads(out)["incident"]


def _catalogue_japanese_in(html: str) -> set[str]:
    """The catalogue's Japanese texts (whole, without placeholders, kana or kanji in them) shown
    in ``html`` (its text, not its attributes: an input may accept 不明 on an English page)."""
    text = re.sub(r"<[^>]*>", " ", html)
    return {
        ja for ja, _en in CATALOGUE.values() if "{" not in ja and len(ja) >= 2 and KANA_KANJI.search(ja) and ja in text
    }


@pytest.mark.parametrize("verb", [("show", "{incident}"), ("list",), ("org",), ("step", "list", "{incident}")])
def test_an_english_cli_run_prints_no_japanese_heading(cli, reported, verb):
    """With --lang en no Japanese heading or label appears (the demo organisation's names are
    Japanese data and stay so; ``outbox`` is left out: it shows the messages as sent, in the
    organisation's language)."""
    args = [a.format(incident=reported) for a in verb]
    code, out, err = cli(*args, "--lang", "en")
    assert (code, err) == (0, "")
    for heading in (
        "事案番号",
        "通知先",
        "把握",
        "報告者",
        "概要",
        "経過",
        "段階",
        "期限",
        "配信失敗",
        "報告義務",
        "人数基準",
    ):
        assert heading not in out, f"{heading!r} in an English run:\n{out}"


def test_a_japanese_cli_run_prints_no_english_heading(cli, reported):
    code, out, err = cli("show", reported, "--lang", "ja")
    assert (code, err) == (0, "")
    for heading in ("first known", "reporter:", "summary:", "timeline:", "report to the Commission", "policy:"):
        assert heading not in out, f"{heading!r} in a Japanese run:\n{out}"
    assert "把握:" in out and "経過:" in out


def test_the_cli_language_comes_from_hokoku_lang_when_no_option_is_given(cli, reported, monkeypatch):
    monkeypatch.setenv("HOKOKU_LANG", "en")
    code, out, _err = cli("show", reported)
    assert code == 0 and "first known:" in out and "把握:" not in out


def test_an_unknown_cli_language_is_refused_in_one_line(cli):
    code, out, err = cli("list", "--lang", "fr")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "unknown language 'fr' (use ja or en)" in err


@pytest.mark.parametrize("path", ["/dashboard", "/incidents/{incident}", "/report", "/leadership", "/audit"])
def test_a_web_page_speaks_the_requests_one_language(site, path):
    """The catalogue's Japanese texts shown on a Japanese page are all absent from the same page in English."""
    incident = site.report()
    client = site.as_(GM)
    url = path.format(incident=incident)
    ja = client.get(url + "?lang=ja")
    en = client.get(url + "?lang=en")
    assert (ja.status_code, en.status_code) == (200, 200)
    shown_in_japanese = _catalogue_japanese_in(ja.text)
    assert shown_in_japanese, "the Japanese page shows no catalogue text at all"
    assert not _catalogue_japanese_in(en.text), f"Japanese on the English page {url}"


def test_an_error_line_is_in_the_runs_language(cli, reported):
    """The same bad --now: Japanese by default, English with --lang en; one line each."""
    code, _out, ja = cli("show", reported, "--now", "yesterday")
    assert code == 2
    assert ja == "hokoku: --now: 'yesterday' は ISO 8601 形式の日時ではありません（例: 2026-12-01T10:00:00+09:00）\n"
    code, _out, en = cli("show", reported, "--now", "yesterday", "--lang", "en")
    assert en == "hokoku: --now: 'yesterday' is not an ISO 8601 time (e.g. 2026-12-01T10:00:00+09:00)\n"


def test_an_unknown_incident_is_named_in_the_runs_language(cli, reported):
    code, _out, err = cli("show", "INC-1999-0001")
    assert (code, err) == (2, "hokoku: 事案 'INC-1999-0001' はありません\n")


def test_a_japanese_page_shows_its_error_detail_in_japanese(site):
    """A form error reaches a Japanese page in Japanese and an English page in English;
    the API keeps the English text (stable for scripts)."""
    incident = site.report()
    client = site.as_(GM)
    form = {"csrf_token": client.csrf, "aware_at": "2027-02-01T09:00", "reason": " "}
    ja = client.post(f"/incidents/{incident}/amend?lang=ja", data=form)
    en = client.post(f"/incidents/{incident}/amend?lang=en", data=form)
    assert (ja.status_code, en.status_code) == (422, 422)
    assert "reason: 把握日時を訂正する理由を書いてください" in ja.text
    assert "say why the awareness time is corrected" not in ja.text
    assert "reason: say why the awareness time is corrected" in en.text


def test_a_refused_transition_is_explained_in_the_runs_language(cli, reported):
    """The chain's refusal carries its key: Japanese words (and the status) by default, the
    English text with --lang en."""
    from datetime import timedelta

    from tests.helpers import STAFF_NOT_ON_LADDER

    now = iso(T0 + timedelta(minutes=5))
    code, _out, ja = cli("ack", reported, "--as", STAFF_NOT_ON_LADDER, "--now", now)
    assert code == 2 and "を受領確認できません。できるのは担当者（" in ja and "may not" not in ja
    code, _out, en = cli("ack", reported, "--as", STAFF_NOT_ON_LADDER, "--now", now, "--lang", "en")
    assert code == 2 and f"{STAFF_NOT_ON_LADDER} may not acknowledge stage " in en
