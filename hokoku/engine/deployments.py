"""One deployment list: ``prefect.yaml`` is the source; ``hokoku serve`` builds its deployments from it.

:func:`deployment_specs` reads the ``deployments:`` entries of ``prefect.yaml`` (name, entrypoint,
schedules, concurrency limit, description, tags). Stage entries are matched to the policy in force
(``HOKOKU_POLICY_FILE`` or the shipped one): an entry whose stage the policy lacks is left out, and
a stage the policy adds gets a deployment of the generic stage flow, named ``hokoku-<code>``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hokoku.core.exceptions import HokokuError


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    description: str | None = None
    crons: tuple[tuple[str, str | None], ...] = ()
    concurrency_limit: int | None = None
    tags: tuple[str, ...] = ()
    stage: str | None = None  # a stage code, for the stage flows
    flow_name: str | None = field(default=None, compare=False)


def prefect_yaml_path() -> Path:
    """``$HOKOKU_PREFECT_YAML``, else the ``prefect.yaml`` shipped in the ``hokoku.flows`` package.

    In the checkout ``flows/prefect.yaml`` is a symbolic link to the top-level ``prefect.yaml`` (the file
    ``prefect deploy`` reads); a built wheel holds a copy, so an installed hokoku finds the same list.
    """
    given = os.environ.get("HOKOKU_PREFECT_YAML")
    if given:
        return Path(given)
    from importlib.resources import files

    return Path(str(files("hokoku.flows") / "prefect.yaml"))


def _stage_of(entrypoint: str) -> str | None:
    module, _, attr = entrypoint.partition(":")
    if not module.endswith("flows/stages.py") or not attr.endswith("_flow"):
        return None
    return attr.removesuffix("_flow").replace("_", "-")


def read_prefect_yaml(path: Path | None = None) -> list[DeploymentSpec]:
    """The ``deployments:`` of ``prefect.yaml`` as specs, in file order."""
    import yaml

    path = path or prefect_yaml_path()
    if not path.exists():
        raise HokokuError(f"no prefect.yaml at {path} (set HOKOKU_PREFECT_YAML)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    specs = []
    for entry in data.get("deployments") or []:
        crons = tuple((s["cron"], s.get("timezone")) for s in entry.get("schedules") or [] if "cron" in s)
        specs.append(
            DeploymentSpec(
                name=entry["name"],
                entrypoint=entry["entrypoint"],
                description=entry.get("description"),
                crons=crons,
                concurrency_limit=entry.get("concurrency_limit"),
                tags=tuple(entry.get("tags") or ()),
                stage=_stage_of(entry["entrypoint"]),
            )
        )
    return specs


def deployment_specs(policy, path: Path | None = None) -> list[DeploymentSpec]:
    """prefect.yaml's deployments fitted to ``policy``'s stages (see the module docstring)."""
    specs = read_prefect_yaml(path)
    codes = {sp.code: sp for sp in policy.stages if sp.completed_by != "intake"}
    tags = next((s.tags for s in specs if s.stage), ("hokoku",))
    out = [s for s in specs if s.stage is None or s.stage in codes]
    present = {s.stage for s in out if s.stage}
    for code, sp in codes.items():
        if code not in present:
            out.append(
                DeploymentSpec(
                    name=f"hokoku-{code}",
                    entrypoint=f"flows/stages.py:{code.replace('-', '_')}_flow",
                    description=sp.flow,
                    tags=tags,
                    stage=code,
                    flow_name=sp.flow,
                )
            )
    return out


def load_flow(spec: DeploymentSpec, policy):
    """The flow object a spec names; stage flows take their name from ``policy``."""
    if spec.stage is not None:
        from hokoku.flows.stages import stage_flow

        names = {sp.code: sp.flow for sp in policy.stages}
        return stage_flow(spec.stage, names.get(spec.stage))
    module, _, attr = spec.entrypoint.partition(":")
    return getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), attr)


def build_deployments(policy, path: Path | None = None) -> list:
    """Prefect ``RunnerDeployment``s for ``prefect.serve``, one per spec."""
    from prefect.schedules import Cron

    out = []
    for spec in deployment_specs(policy, path):
        kwargs: dict[str, Any] = {"name": spec.name, "description": spec.description, "tags": list(spec.tags)}
        if spec.crons:
            kwargs["schedules"] = [Cron(cron, timezone=tz) if tz else Cron(cron) for cron, tz in spec.crons]
        if spec.concurrency_limit is not None:
            kwargs["concurrency_limit"] = spec.concurrency_limit
        deployment = load_flow(spec, policy).to_deployment(**kwargs)
        deployment.entrypoint = spec.entrypoint  # the stage flows are made in a factory: name them as prefect.yaml does
        out.append(deployment)
    return out
