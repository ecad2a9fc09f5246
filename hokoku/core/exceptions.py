"""Errors hokoku raises on purpose.

Every error carries a one-line message meant for the user; the CLI prints it and exits 2.
"""

from __future__ import annotations

from hokoku.i18n import LazyText, t


class HokokuError(Exception):
    """Base class: a problem the user can fix, with a one-line message.

    Raise it with a catalogue key and the key's parameters —
    ``InputError(key="err.time.format", what="--now", value=text)`` — and ``str(exc)`` is the
    English text (logs, ``--json``, the API) while :meth:`localized` gives the text in the
    language of the run or request (the CLI's stderr line, a web page). A parameter that is
    itself a :class:`HokokuError` or a :class:`~hokoku.i18n.LazyText` is localized with it. A plain message is still accepted for
    texts not yet in the catalogue; it reads the same in every language.
    """

    def __init__(self, message: str | None = None, /, *, key: str | None = None, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(t(key, "en", **self._params_in("en")) if key is not None else message)

    def _params_in(self, lang: str) -> dict[str, object]:
        return {k: v.localized(lang) if isinstance(v, HokokuError | LazyText) else v for k, v in self.params.items()}

    def localized(self, lang: str) -> str:
        """The message in ``lang``."""
        if self.key is None:
            return str(self)
        return t(self.key, lang, **self._params_in(lang))


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
