"""Trial specs: what a trial runs, as validated value types read from YAML or dicts.

A spec names the environment and the actors by implementation string; it says nothing of how
they are built, so swapping an actor is a one-line change::

    >>> spec = TrialSpec.from_dict({
    ...     "environment": {"implementation": "gym:CartPole-v1"},
    ...     "actors": [{"name": "player", "implementation": "random"}],
    ...     "max_ticks": 200, "seed": 0})
    >>> spec.actors[0]
    ActorSpec(name='player', implementation='random')
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cogym.errors import SpecError, suggest
from cogym.spec_problems import SHAPES, TAGS, shape_problem
from cogym.specfile import read_text, read_yaml, shown

__all__ = ["ActorSpec", "EnvironmentSpec", "TrialSpec"]

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_IMPLEMENTATION = re.compile(r"[A-Za-z0-9_][^\s]*")
_SB3_FILE = re.compile(r"sb3:\S[ \S]*\S")
"""``sb3:`` and the path of a model file, which may hold spaces (not at its ends)."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    def __str__(self) -> str:
        return repr(self)

    def __setattr__(self, name: str, value: Any) -> None:
        how = self._changed_copy(name)
        raise SpecError(
            [(name, f"{type(self).__name__} is frozen: make a changed copy with {how} instead")]
        )

    def _changed_copy(self, name: str) -> str:
        return f"spec.replace({name}=...)"

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)

    def __repr_args__(self):  # type: ignore[override]
        defaults = type(self).model_fields
        for name, value in super().__repr_args__():
            field = defaults.get(name) if name else None
            if (
                field is not None
                and not field.is_required()
                and value == field.get_default(call_default_factory=True)
            ):
                continue
            yield name, value


def _check_implementation(value: str) -> str:
    if not (_IMPLEMENTATION.fullmatch(value) or _SB3_FILE.fullmatch(value)):
        raise ValueError(
            f"implementation {shown(value)} must be a name without spaces, such as 'random'"
        )
    if value.startswith("python:") and value.count(":") != 2:
        raise ValueError(
            f"implementation {shown(value)} must have the form 'python:<module>:<factory>', "
            "for instance 'python:mybots:make_bot'"
        )
    if value.startswith("pettingzoo:") and value.count(":") != 2:
        raise ValueError(
            f"implementation {shown(value)} must have the form "
            "'pettingzoo:<module>:<env function>', "
            "for instance 'pettingzoo:pettingzoo.classic.rps_v2:parallel_env'"
        )
    if value.endswith(":"):
        raise ValueError(
            f"implementation {shown(value)} ends with ':'; what comes after it is missing"
        )
    return value


Implementation = Annotated[
    str, Field(min_length=1, max_length=4096), AfterValidator(_check_implementation)
]
"""An implementation string: a name, or ``<scheme>:<rest>``."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(
            f"{shown(value)} holds a control character (newline, tab, NUL...); remove it"
        )
    return value


Printable = Annotated[str, AfterValidator(_printable)]
"""A string without control characters (a path, a role name)."""


class EnvironmentSpec(_Value):
    """The environment of a trial: an implementation string and constructor keyword arguments.

    Implementations: ``gym:<env id>``, ``pettingzoo:<module>:<env function>``,
    ``python:<module>:<factory>``, or a name registered in the directory.

    ``rebuild`` says when a new environment is built: ``never`` (the default) builds it once
    and resets it for every trial; ``per_trial`` builds a fresh one for every trial, for
    environments whose ``reset`` leaves state behind (trial k would depend on the trials before
    it, and replay would differ).
    """

    implementation: Implementation
    config: dict[str, Any] = Field(default_factory=dict)
    rebuild: Literal["never", "per_trial"] = "never"

    @functools.cached_property
    def key(self) -> str:
        """A canonical string that is equal for equal environment specs."""
        return json.dumps([self.implementation, self.config], sort_keys=True, default=repr)

    def _changed_copy(self, name: str) -> str:
        return "spec.replace(environment={...})"


class ActorSpec(_Value):
    """One participant of a trial.

    ``implementation`` is ``random``, ``external``, ``sb3:<model file or registry ref>``,
    ``human``, ``python:<module>:<factory>`` or a name registered in the directory;
    ``config`` goes to the implementation's factory as keyword arguments. ``actor_class`` binds
    the actor to an environment role when its name does not (``observer`` makes it watch).

    ``response_timeout`` (seconds) is how long each ``act`` may take. An actor that does not
    answer in time becomes unavailable for the rest of the trial (as in Cogment): if it is
    ``optional`` it is skipped, its ``default_action`` (a value of its action space, in JSON
    form) used instead, or no action at all without one; otherwise the trial fails, naming it.
    An ``optional`` actor whose ``act`` raises (a Cogment service that died, for instance)
    becomes unavailable the same way. See :mod:`cogym.trial.deadlines`.
    """

    name: str = Field(min_length=1, max_length=64)
    implementation: Implementation = "random"
    actor_class: Annotated[Printable, Field(min_length=1, max_length=64)] | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    response_timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    optional: bool = False
    default_action: Any = None

    @field_validator("response_timeout", mode="before")
    @classmethod
    def _seconds_not_boolean(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"expected a number of seconds, got the boolean {value}")  # noqa: TRY004
        return value

    @field_validator("default_action")
    @classmethod
    def _default_needs_optional(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not info.data.get("optional", False):
            raise ValueError(
                "default_action is used only for an optional actor that does not answer in "
                "time; add optional: true (and a response_timeout), or drop default_action"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name_syntax(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"actor name {shown(value)} may hold only letters, digits, '_', '-' and '.', "
                "and may not start with '-' or '.'"
            )
        return value

    @functools.cached_property
    def key(self) -> str:
        """A canonical string that is equal for equal actor specs."""
        return json.dumps(
            [self.name, self.implementation, self.actor_class, self.config],
            sort_keys=True,
            default=repr,
        )

    def _changed_copy(self, name: str) -> str:
        return f"spec.replace_actor({self.name!r}, {name}=...)"


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def datastore_url_problem(text: str) -> str | None:
    """Why ``text`` cannot name a datastore, when it is a URL that names no place.

    A datastore is a directory (a path or a ``file://`` URL) or any fsspec URL
    (``s3://bucket/trials``, ``gs://...``, ``memory://...``); a URL with nothing after the
    scheme, or a ``file://`` URL with no path, cannot be one.
    """
    match = _URL.match(text)
    if match is None or text[match.end() :].strip("/"):
        return None
    scheme = match.group(1).lower()
    return (
        f"{text!r} is a {scheme}:// URL with nothing after the scheme; a datastore is a directory "
        f"or a URL that names a place, e.g. s3://bucket/trials or memory://trials"
    )


class TrialSpec(_Value):
    """Everything needed to run a trial; see the module docstring for an example."""

    environment: EnvironmentSpec
    actors: tuple[ActorSpec, ...] = Field(min_length=1)
    max_ticks: int | None = Field(default=None, ge=1)
    max_seconds: float | None = Field(default=None, gt=0)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    tags: dict[str, str | int | float | bool] = Field(default_factory=dict)
    datastore: Annotated[Printable, Field(min_length=1, max_length=4096)] | None = None
    """Where trials of this spec are recorded, whoever runs them (a datastore directory or an
    fsspec URL)."""
    record_frames: bool = False
    """Record the environment's rendered frame on every tick, so that replays can be watched."""

    @field_validator("datastore")
    @classmethod
    def _a_directory(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = datastore_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if value.lower().startswith("file://"):
            return unquote(urlsplit(value).path)
        return value

    @field_validator("max_ticks", "max_seconds", "seed", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: Any) -> Any:
        # YAML reads yes/no/true/false as booleans, which would otherwise count as 1 and 0
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got the boolean {value}")  # noqa: TRY004
        return value

    @model_validator(mode="after")
    def _unique_actor_names(self) -> TrialSpec:
        seen: set[str] = set()
        for actor in self.actors:
            if actor.name in seen:
                raise ValueError(f"actor name {actor.name!r} appears more than once")
            seen.add(actor.name)
        return self

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> TrialSpec:
        """Validate a dict; a :class:`~cogym.errors.SpecError` names every bad field."""
        if not isinstance(data, Mapping):
            raise SpecError(
                [("(top level)", f"expected a mapping of fields, got {type(data).__name__}")],
                source,
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise SpecError(_problems(exc, data), source) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrialSpec:
        """Read and validate a YAML file; errors name the field and its line.

        A file that is too large (over 1 MiB), not UTF-8, nested too deep, whose aliases
        expand too far or that holds a huge integer is refused with the line, in bounded time.
        """
        return cls.from_yaml_text(read_text(path), source=str(path))

    @classmethod
    def from_yaml_text(cls, text: str, *, source: str | None = None) -> TrialSpec:
        """Validate YAML given as a string."""
        document = read_yaml(text, source=source)
        data = document.data
        if data is None:
            raise SpecError([("(top level)", "the file is empty")], source)
        if not isinstance(data, Mapping):
            raise SpecError(
                [("(top level)", f"expected a mapping of fields, got {type(data).__name__}")],
                source,
            )
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = _problems(exc, data)
            located = []
            for (path, message), loc in zip(problems, _locs(exc), strict=True):
                line = document.line_of(loc)
                located.append((f"{path} (line {line})" if line else path, message))
            raise SpecError(located, source) from None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :meth:`from_dict` accepts again (defaults included)."""
        data = self.model_dump(mode="json")
        data["actors"] = list(data["actors"])
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @functools.cached_property
    def cast_key(self) -> str:
        """Equal for specs whose environment and actors are built the same way."""
        return "\n".join([self.environment.key, *(a.key for a in self.actors)])

    @functools.cached_property
    def has_deadlines(self) -> bool:
        """Whether a trial of this spec has a limit that a blocking call could outlast
        (``max_seconds`` or an actor's ``response_timeout``), or an ``optional`` actor that may
        become unavailable (see :mod:`cogym.trial.deadlines`)."""
        return self.max_seconds is not None or any(
            a.response_timeout is not None or a.optional for a in self.actors
        )

    def with_seed(self, seed: int) -> TrialSpec:
        """A copy with another seed (cheap: nothing else is validated again)."""
        if not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise SpecError([("seed", f"must be an integer in [0, 2**63), got {seed!r}")])
        self.cast_key, self.has_deadlines  # noqa: B018  (computed once, carried by every copy)
        # a shallow copy with one field changed, as model_copy(update=...) makes, built
        # directly: this runs once per trial
        copy = object.__new__(TrialSpec)
        values = self.__dict__.copy()
        values["seed"] = seed
        object.__setattr__(copy, "__dict__", values)
        object.__setattr__(copy, "__pydantic_fields_set__", self.__pydantic_fields_set__ | {"seed"})
        object.__setattr__(copy, "__pydantic_extra__", None)
        object.__setattr__(copy, "__pydantic_private__", None)
        return copy

    def replace(self, **changes: Any) -> TrialSpec:
        """A validated copy with some top-level fields changed (used by pre-trial hooks)."""
        data = self.to_dict()
        data.update(
            {
                k: (v.model_dump(mode="json") if isinstance(v, BaseModel) else v)
                for k, v in changes.items()
            }
        )
        if "actors" in changes:
            data["actors"] = [
                a.model_dump(mode="json") if isinstance(a, BaseModel) else a
                for a in changes["actors"]
            ]
        return TrialSpec.from_dict(data)

    def actor(self, name: str) -> ActorSpec:
        """The actor named ``name``; a ``KeyError`` suggests close names."""
        for actor in self.actors:
            if actor.name == name:
                return actor
        names = [a.name for a in self.actors]
        raise KeyError(
            f"no actor named {name!r} in the spec.{suggest(name, names)} Actors: {names}"
        )

    def replace_actor(self, name: str, **changes: Any) -> TrialSpec:
        """A copy whose actor ``name`` has some fields changed."""
        self.actor(name)
        actors = [
            {**a.model_dump(mode="json"), **changes}
            if a.name == name
            else a.model_dump(mode="json")
            for a in self.actors
        ]
        return self.replace(actors=actors)


# -- error formatting --------------------------------------------------------------------------


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, without the echo a bad item causes on its list ("too short")."""
    errors, tags = [], set()
    for err in exc.errors():  # a tag's value fails once per type a tag may have: one error
        loc = tuple(err["loc"])
        if loc[:1] != ("tags",) or len(loc) != 3:
            errors.append(err)
        elif loc[:2] not in tags:
            tags.add(loc[:2])
            kind = "tag_key" if loc[2] == "[key]" else "tag_value"
            errors.append({**err, "loc": loc[:2], "type": kind})
    locs = [tuple(err["loc"]) for err in errors]
    return [
        err
        for err, loc in zip(errors, locs, strict=True)
        if not (
            err["type"] == "too_short"
            and any(other[: len(loc)] == loc and len(other) > len(loc) for other in locs)
        )
    ]


def _locs(exc: ValidationError) -> list[tuple[Any, ...]]:
    return [tuple(err["loc"]) for err in _errors(exc)]


def _format_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _NAME.fullmatch(part) and len(part) <= 64:
            out += f".{part}" if out else part
        else:  # a key a user may not have meant (control characters, huge): shown quoted
            out += f"[{shown(part, 40)}]"
    return out or "(top level)"


def _problems(exc: ValidationError, data: Any) -> list[tuple[str, str]]:
    problems = []
    for err in _errors(exc):
        loc = tuple(err["loc"])
        message = err["msg"]
        message = message.removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parent = _parent_fields(loc)
            message = f"unknown field {shown(loc[-1])}.{suggest(str(loc[-1])[:100], parent)}"
            if parent:
                message += f" Allowed: {', '.join(parent)}."
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] in SHAPES:
            message = shape_problem(loc, err["type"], err.get("input"))
        elif err["type"] in TAGS:
            message = TAGS[err["type"]].format(shown(err["input"], 40), loc[1])
        elif err["type"] == "invalid_key":
            message = f"key {shown(err.get('input'))} is not a field name: keys must be strings"
            loc = loc[:-1]
        elif "input" in err and err["type"] not in ("value_error",):
            got = repr(err["input"])
            if len(got) < 60:
                message += f" (got {got})"
        problems.append((_format_path(loc), message))
    return problems


def _parent_fields(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = TrialSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        inner = getattr(annotation, "__args__", None)
        candidate = inner[0] if inner else annotation
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            model = candidate
        else:
            return []
    return list(model.model_fields)
