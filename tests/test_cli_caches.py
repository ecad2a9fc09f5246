"""What the CLI keeps between calls and within a transaction, and that it changes nothing it
returns: the organisation parsed once per snapshot, compiled templates on disk (issue 14, CLI
speed)."""

from __future__ import annotations

import copy

from hokoku.config.org import DEMO_ORG, load_organisation, organisation_from_document
from hokoku.messages import Renderer
from hokoku.store import orgstore
from hokoku.store.db import transaction
from tests.helpers import T0


def test_the_organisation_is_parsed_once_per_snapshot(demo_app, monkeypatch):
    """Within a transaction the newest snapshot is looked up once and parsed once; a snapshot
    stored in the same transaction is seen at once; a new transaction sees a newer one."""
    parsed = []
    real = orgstore.current_organisation
    monkeypatch.setattr(orgstore, "current_organisation", lambda s: parsed.append(1) or real(s))
    with transaction(demo_app.engine) as session:
        first = demo_app.organisation(session)
        assert all(demo_app.organisation(session) is first for _ in range(30))
        assert len(parsed) == 1
        doc = copy.deepcopy(load_organisation(DEMO_ORG).model_dump(mode="json"))
        doc["director_general"]["name"] = "Renamed Person"
        renamed = organisation_from_document(doc)
        orgstore.store_organisation(session, renamed, source="test", now=T0)
        assert demo_app.organisation(session).people() == renamed.people()
        assert len(parsed) == 2
    with transaction(demo_app.engine) as session:
        assert demo_app.organisation(session).people() == renamed.people()
        assert len(parsed) == 2  # same snapshot: not parsed again


def test_compiled_templates_are_kept_and_follow_their_source(tmp_path):
    """A later renderer loads the compiled template from the cache directory and renders what
    an uncached one renders; a changed template source is compiled again, not served stale."""
    source = tmp_path / "t" / "messages" / "ja"
    source.mkdir(parents=True)
    template = source / "receipt.txt.j2"
    template.write_text("{% block subject %}件名 {{ n }}{% endblock %}{% block body %}本文 {{ n * 2 }}{% endblock %}")
    cache = tmp_path / "cache"
    expected = Renderer(tmp_path / "t").message("receipt", "ja", n=21)
    assert expected == ("件名 21", "本文 42\n")
    assert Renderer(tmp_path / "t", bytecode_dir=cache).message("receipt", "ja", n=21) == expected
    assert len(list(cache.iterdir())) == 1
    assert Renderer(tmp_path / "t", bytecode_dir=cache).message("receipt", "ja", n=21) == expected
    template.write_text("{% block subject %}新 {{ n }}{% endblock %}{% block body %}{{ n }}{% endblock %}")
    assert Renderer(tmp_path / "t", bytecode_dir=cache).message("receipt", "ja", n=1) == ("新 1", "1\n")


def test_the_app_renderer_uses_the_home_cache(demo_app):
    """The App's renderer keeps compiled templates under $HOKOKU_HOME/cache/templates."""
    demo_app.renderer.env.get_template("messages/ja/receipt.txt.j2")
    assert any((demo_app.settings.home / "cache" / "templates").iterdir())
