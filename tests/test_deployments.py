"""One deployment list (issue 14): ``hokoku serve`` builds its deployments from ``prefect.yaml``,
fitted to the policy in force (``HOKOKU_POLICY_FILE``); stage runs are named for the incident
and the article of the incident's own policy snapshot."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _yaml_deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]


def test_serve_builds_exactly_prefect_yamls_deployments_with_their_schedules_and_limits():
    """Same names, entrypoints, cron schedules and concurrency limits as prefect.yaml, in its order."""
    from hokoku.config.policyfile import load_policy
    from hokoku.engine.deployments import build_deployments

    built = build_deployments(load_policy())
    wanted = _yaml_deployments()
    assert [d.name for d in built] == [d["name"] for d in wanted]
    assert [d.entrypoint for d in built] == [d["entrypoint"] for d in wanted]
    for d, w in zip(built, wanted, strict=True):
        assert [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] == [
            (s["cron"], s.get("timezone")) for s in w.get("schedules", [])
        ], d.name
        assert d.concurrency_limit == w.get("concurrency_limit"), d.name
        assert set(d.tags) == set(w["tags"])


def test_every_stage_of_the_shipped_policy_has_a_prefect_yaml_deployment_and_entrypoint():
    """prefect.yaml's stage entrypoints exist in flows/stages.py and cover the policy's stages."""
    import hokoku.flows.stages as stages
    from hokoku.config.policyfile import load_policy

    entry = {
        d["entrypoint"].split(":")[1] for d in _yaml_deployments() if d["entrypoint"].startswith("flows/stages.py")
    }
    codes = {sp.code for sp in load_policy().stages if sp.completed_by != "intake"}
    assert {c.replace("-", "_") + "_flow" for c in codes} == entry
    for attr in entry:
        assert getattr(stages, attr).name in {sp.flow for sp in load_policy().stages}


def test_a_custom_policy_file_renames_and_adds_stage_deployments(tmp_path, monkeypatch):
    """HOKOKU_POLICY_FILE: a renamed article names its stage flow; an added stage gets a deployment
    and an entrypoint that resolves; the shipped stages' deployments keep prefect.yaml's names."""
    from hokoku.config.policyfile import load_policy
    from hokoku.engine.deployments import build_deployments, deployment_specs

    data = yaml.safe_load((ROOT / "hokoku" / "data" / "policy.yaml").read_text(encoding="utf-8"))
    stages = data["stages"]
    containment = next(s for s in stages if s["code"] == "containment")
    containment["flow"] = "27-2 containment (local rules)"
    extra = dict(containment, code="forensics", flow="27-2 forensic copy", requires=["containment"])
    stages.insert(stages.index(containment) + 1, extra)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HOKOKU_POLICY_FILE", str(path))
    policy = load_policy(path)

    specs = deployment_specs(policy)
    assert [s.name for s in specs][: len(_yaml_deployments())] == [d["name"] for d in _yaml_deployments()]
    assert specs[-1].name == "hokoku-forensics" and specs[-1].entrypoint == "flows/stages.py:forensics_flow"
    built = {d.name: d for d in build_deployments(policy)}
    assert built["hokoku-containment"].flow_name == "27-2 containment (local rules)"
    assert built["hokoku-forensics"].flow_name == "27-2 forensic copy"

    import hokoku.flows.stages

    assert hokoku.flows.stages.forensics_flow.name == "27-2 forensic copy"  # the entrypoint a worker loads
