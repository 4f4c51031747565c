"""The exceptions cogym raises.

Every error cogym raises on bad input derives from :class:`CogymError`; its message says what
was expected, what came, where (trial, tick, actor, field) and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CogymError(Exception):
    """Base class of every error raised by cogym."""


class InputError(CogymError):
    """The user's input is wrong (spec, name, file, argument); the command line exits with 2.

    ``field`` is the path of the spec field the error is about (``actors[1].implementation``)
    when the code that raised it knows; :meth:`cogym.Orchestrator.validate` reports it.
    """

    field: str | None = None


class SpecError(InputError, ValueError):
    """A trial spec is malformed; the message names every bad field.

    ``problems`` holds one ``(field path, message)`` pair per bad field.
    """

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"invalid trial spec{where}: {len(self.problems)} problem(s)"]
        lines += [f"  {path}: {message}" for path, message in self.problems]
        super().__init__("\n".join(lines))


class UnknownImplementationError(InputError, LookupError):
    """An implementation name that the directory does not know."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        message = f"unknown {kind} implementation {name!r}."
        message += suggest(name, self.known)
        shown = self.known[:25]
        listing = ", ".join(shown) if shown else "(none)"
        if len(self.known) > len(shown):
            listing += f", and {len(self.known) - len(shown)} more"
        message += f" Known: {listing}."
        if hint:
            message += f" {hint}"
        super().__init__(message)


class ArgumentError(InputError, ValueError):
    """An argument of a call is out of its range or not one of its choices; the message names it."""


class ImplementationError(InputError):
    """An implementation was found but could not be built (bad config, import failure...)."""


class ConfigError(ImplementationError):
    """An implementation's ``config`` does not fit it (unknown keyword, a value it refuses)."""


class InvalidArgumentError(InputError, ValueError):
    """An argument of a function (an option of a command) cannot work; ``argument`` names it.

    The command line shows it as the option of that name (``rounds`` is ``--rounds``).
    """

    def __init__(self, argument: str, message: str) -> None:
        self.argument = argument
        self.detail = message
        super().__init__(f"{argument}: {message}")


class MissingExtraError(CogymError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional dependency {module!r}, which is not installed. "
            f"Install it with: {install_command(extra)}"
        )


def install_command(extra: str) -> str:
    """How to install cogym's ``extra``: from the package index, or, for a cogym that runs
    from a clone (an editable install), from that clone, where ``cogym[extra]`` would fetch
    another cogym."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file():
        return (
            f'pip install -e "{root}[{extra}]" (this cogym runs from the clone in {root}; '
            f'pip install "cogym[{extra}]" is the form for an install from the package index)'
        )
    return f'pip install "cogym[{extra}]"'


class BindingError(SpecError):
    """The spec's actors do not fit the environment's agents."""


class SpaceMismatchError(InputError, ValueError):
    """Two spaces that must be equal are not (for instance a model's and an actor's)."""


class InvalidActionError(CogymError, ValueError):
    """An actor produced an action outside its action space."""

    def __init__(self, actor: str, tick: int, space: object, action: object, trial_id: str) -> None:
        self.actor = actor
        self.tick = tick
        self.space = space
        self.action = action
        self.trial_id = trial_id
        shown = repr(action)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(
            f"trial {trial_id}, tick {tick}: actor {actor!r} sent action {shown} "
            f"({type(action).__name__}), which is not in its action space {space}"
        )


class TrialError(CogymError, RuntimeError):
    """A trial cannot do what was asked (stepped after it ended, missing external action...)."""


class ActorFailure(CogymError, RuntimeError):
    """An actor raised while acting; the original exception is chained."""


class EnvironmentFailure(CogymError, RuntimeError):
    """The environment raised; the original exception is chained."""


class TrialTimeoutError(CogymError, TimeoutError):
    """A trial ran past its ``max_seconds`` inside an actor's or the environment's code, or an
    actor that is not ``optional`` did not answer within its ``response_timeout``; the trial
    ended ``failed`` with this message, which names the tick and the participant."""


class CogmentError(CogymError, RuntimeError):
    """A Cogment participant (a served implementation or an in-process one) died, broke the
    protocol or gave no answer in time; the message names the service and the tick."""


class CogmentUnreachableError(CogmentError, InputError):
    """A ``cogment:grpc://HOST:PORT/IMPL`` endpoint did not answer; the message names it."""


class CogmentDecodeError(CogmentError, ValueError):
    """A protobuf message from a Cogment participant does not fit the declared space (or a
    value does not fit the protobuf type); the message names the participant, tick and field."""


class CloseWarning(UserWarning):
    """An environment or actor raised while being closed after its trials; their results stand."""


class PickledCodeWarning(UserWarning):
    """Loading a Stable-Baselines3 file runs the pickled code it holds (said once per process)."""


class MessageError(InputError, ValueError):
    """A message or reward could not be sent (unknown receiver, payload not JSON...)."""


def suggest(name: str, known: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


class RegistryError(CogymError):
    """Something went wrong in a model registry (base of the registry's errors)."""


class ModelNameError(RegistryError, InputError, ValueError):
    """A model name, alias or reference is malformed (or would escape the registry's root)."""


class ModelNotFoundError(RegistryError, InputError, LookupError):
    """No model, version or alias by that name; the message suggests close names."""


class ProtectedVersionError(RegistryError, InputError):
    """A version cannot be deleted because an alias points at it."""


class ChecksumError(RegistryError):
    """A stored model file is missing, truncated or altered: it no longer matches its meta.json."""


class RegistryFormatError(RegistryError):
    """A registry file is malformed or was written by a newer cogym than this one."""


class RegistryPathError(RegistryError, InputError):
    """A registry entry leads outside its root or to another model's place.

    A symlink out of the root, or a ``meta.json`` naming another model or version: nothing
    outside the root is read or written.
    """


# -- the trial datastore --------------------------------------------------------------------


class DatastoreError(CogymError):
    """The datastore could not do what was asked (a write failed, a trial is being written)."""


class NotADatastoreError(DatastoreError, InputError):
    """A path given as a datastore is not one (missing, a file, or a directory of other things).

    Like the two below, it is bad input as well (the command line exits with 2)."""


class DatastoreFormatError(DatastoreError, InputError):
    """A datastore file has a format this cogym cannot read (a newer version, or another format)."""

    def __init__(self, path: object, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class CorruptFileError(DatastoreError, InputError):
    """A shard or journal of a datastore is damaged; the message names the file."""

    def __init__(self, path: object, detail: str) -> None:
        self.path = path
        super().__init__(
            f"{path}: the file is damaged and cannot be read ({detail}). The other files of the "
            "datastore are not affected; move this one out of the datastore directory to silence "
            "this error"
        )


class TrialNotFoundError(InputError, LookupError):
    """No trial with the given id is in the datastore."""


class UntrustedCodeError(InputError):
    """A spec that may come from elsewhere would import modules or unpickle model files, and
    the caller did not say it trusts it (``--trust``, ``trust=True``); ``loads`` lists them."""

    def __init__(self, message: str, loads: list[object]) -> None:
        self.loads = list(loads)
        super().__init__(message)


class UnrecordableSpaceError(InputError):
    """An actor's observation or action space has no fixed-shape array form to record."""


# -- the human actor's web page -------------------------------------------------------------


class WebError(CogymError):
    """The human actor's web server could not do what was asked (base of the web errors)."""


class RemoteBindError(WebError, InputError):
    """The web server was asked to listen beyond this machine without ``allow_remote``."""


class ServeAddressError(WebError, InputError):
    """The web server cannot listen on the host and port asked for (taken, or not here)."""


class PageMessageError(WebError, ValueError):
    """A message from a human actor's page is malformed; it is refused and shown on the page."""


class PageTimeoutError(WebError, TimeoutError):
    """Nobody opened (or came back to) a human actor's page in the time its config allows."""


# -- running trials in worker processes or on Ray ------------------------------------------


class MainModuleError(CogymError, RuntimeError):
    """Worker processes cannot start because of how the main program is written: a script that
    runs trials when imported (no ``if __name__ == "__main__":``), or one read from standard
    input, which the workers cannot re-import."""


class WorkerLostError(CogymError, RuntimeError):
    """A worker process failed outside any trial (a local worker that crashed, a Ray worker
    holding a sub-environment mid-episode that died); the trials it held cannot be finished."""
