"""Reading the escalation policy file (the models and their rules are :mod:`hokoku.core.policy`)."""

from __future__ import annotations

from pathlib import Path

from hokoku.config.yamlload import read_yaml
from hokoku.core.policy import Policy, policy_from_mapping
from hokoku.resources import data_file

#: The policy shipped with hokoku (``HOKOKU_POLICY_FILE`` names another).
DEFAULT_POLICY = data_file("policy.yaml")


def load_policy(path: Path | None = None) -> Policy:
    """The policy in ``path`` (the shipped one by default); a one-line ConfigError names the file and field."""
    path = path or DEFAULT_POLICY
    return policy_from_mapping(read_yaml(path), source=path.name)
