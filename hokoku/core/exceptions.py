"""Errors hokoku raises on purpose.

Every error carries a one-line message meant for the user; the CLI prints it and exits 2.
"""

from __future__ import annotations


class HokokuError(Exception):
    """Base class: a problem the user can fix, with a one-line message."""


class InputError(HokokuError):
    """Bad input from the user (unknown division, malformed time, wrong stage name...)."""


class NotFound(InputError):
    """A named thing (incident, person, stage, category) does not exist."""


class ConfigError(HokokuError):
    """A configuration file (organisation, policy, playbook) is invalid.

    The message names the file, the path inside it and the problem, e.g.
    ``org.yaml: institutes[1].divisions[0].protection_manager: email is missing``.
    """


class TransitionRefused(HokokuError):
    """The chain refused a transition (out of order, not entitled, skip without reason)."""


class NotInitialised(HokokuError):
    """The data directory has no database yet: run ``hokoku init``."""
