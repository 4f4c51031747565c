"""How Cogment's protobuf messages become Gymnasium values and back: :class:`Codec`.

A Cogment app declares, in its generated ``cog_settings`` module, a protobuf type per actor
class for observations, actions and configs; cogym's actors, adapters and datastore work with
Gymnasium spaces and values. A codec maps one to the other for each actor.

:class:`CogmentLabCodec` covers the apps that follow cogment-lab's and cogment-verse's
convention (observation ``{value: nd_array.Array, active, alive}``, action
``{value: nd_array.Array}``, values flattened with ``gymnasium.spaces.flatten``, spaces carried
as ``spaces.Space`` messages in the actor config's ``agent_specs``); it is chosen by itself for
such apps. Other apps name their own codec, ``config: {codec: mymodule:MyCodec}``, a subclass of
:class:`Codec` (or any class with the same methods)::

    >>> from gymnasium import spaces
    >>> class CounterCodec(Codec):
    ...     def spaces(self, actor, actor_class):
    ...         return spaces.Discrete(10), spaces.Discrete(2)
    ...     def decode_observation(self, actor, actor_class, message):
    ...         return int(message.count)
    ...     def encode_observation(self, actor, actor_class, value, message):
    ...         message.count = int(value)
    ...     def decode_action(self, actor, actor_class, message):
    ...         return int(message.move)
    ...     def encode_action(self, actor, actor_class, value, message):
    ...         message.move = int(value)

``encode_*`` fill the empty protobuf message they are given (of the type the actor class
declares); ``decode_*`` return a value of the actor's space. A value that does not fit raises
:class:`~cogym.errors.CogmentDecodeError` naming the field.
"""

from __future__ import annotations

import abc
import base64
import io
import math
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from cogym.errors import CogmentDecodeError, ConfigError

__all__ = [
    "Codec",
    "CogmentLabCodec",
    "any_to_payload",
    "array_from_message",
    "array_to_message",
    "fill_config",
    "payload_to_any",
    "space_from_message",
    "space_to_message",
]


class Codec(abc.ABC):
    """Maps an actor's protobuf observations and actions to values of its Gymnasium spaces.

    ``spaces(actor, actor_class)`` gives ``(observation_space, action_space)`` of an actor of a
    Cogment environment; the other methods work on one message at a time. ``config_for_actor``
    may complete the config message a Cogment actor is started with (cogment-lab's carries the
    actor's spaces).
    """

    def spaces(self, actor: str, actor_class: str) -> tuple[spaces.Space, spaces.Space | None]:
        raise ConfigError(
            f"{type(self).__name__} does not say the spaces of actor {actor!r} (class "
            f"{actor_class!r}); give the codec a spaces(actor, actor_class) method"
        )

    @abc.abstractmethod
    def decode_observation(self, actor: str, actor_class: str, message: Any) -> Any: ...

    @abc.abstractmethod
    def encode_observation(
        self, actor: str, actor_class: str, value: Any, message: Any
    ) -> None: ...

    @abc.abstractmethod
    def decode_action(self, actor: str, actor_class: str, message: Any) -> Any: ...

    @abc.abstractmethod
    def encode_action(self, actor: str, actor_class: str, value: Any, message: Any) -> None: ...

    def config_for_actor(
        self,
        message: Any,
        observation_space: spaces.Space,
        action_space: spaces.Space | None,
        seed: int | None,
    ) -> None:
        """Complete ``message`` (the actor's config, already filled from the spec)."""

    def config_for_environment(self, message: Any, seed: int | None) -> None:
        """Complete ``message`` (the environment's config, already filled from the spec)."""


# -- nd_array.Array ------------------------------------------------------------------------

_DTYPES = {
    "DTYPE_FLOAT32": np.dtype("float32"),
    "DTYPE_FLOAT64": np.dtype("float64"),
    "DTYPE_INT8": np.dtype("int8"),
    "DTYPE_INT32": np.dtype("int32"),
    "DTYPE_INT64": np.dtype("int64"),
    "DTYPE_UINT8": np.dtype("uint8"),
}
_CODES = {dtype: code for code, dtype in _DTYPES.items()}
_WIDER = {  # dtypes the Array message has no code for travel as the closest wider one
    np.dtype("bool"): np.dtype("uint8"),
    np.dtype("int16"): np.dtype("int32"),
    np.dtype("uint16"): np.dtype("int32"),
    np.dtype("uint32"): np.dtype("int64"),
    np.dtype("float16"): np.dtype("float32"),
}


_ENUMS: dict[Any, tuple[dict[np.dtype, int], dict[int, np.dtype]]] = {}
"""By ``nd_array.Array`` descriptor: its dtype enum's numbers by dtype, and dtypes by number."""


def _dtype_numbers(message: Any) -> tuple[dict[np.dtype, int], dict[int, np.dtype]]:
    descriptor = message.DESCRIPTOR
    found = _ENUMS.get(descriptor)
    if found is None:
        enum = descriptor.fields_by_name["dtype"].enum_type
        numbers = {
            dtype: enum.values_by_name[code].number
            for code, dtype in _DTYPES.items()
            if code in enum.values_by_name
        }
        found = _ENUMS[descriptor] = (numbers, {n: d for d, n in numbers.items()})
    return found


def array_to_message(array: np.ndarray, message: Any) -> None:
    """Fill an ``nd_array.Array`` message with ``array`` (raw C-order bytes)."""
    array = np.asarray(array)
    dtype = _WIDER.get(array.dtype, array.dtype)
    number = _dtype_numbers(message)[0].get(dtype)
    if number is None:
        raise CogmentDecodeError(
            f"an nd_array.Array cannot carry dtype {array.dtype} (it carries "
            f"{', '.join(str(d) for d in _CODES)})"
        )
    message.dtype = number
    message.shape[:] = array.shape
    message.raw_data = np.ascontiguousarray(array, dtype=dtype).tobytes()


def array_from_message(message: Any, field: str) -> np.ndarray:
    """The array an ``nd_array.Array`` message holds; ``field`` names it in errors."""
    dtype = _dtype_numbers(message)[1].get(message.dtype)
    shape = tuple(message.shape)
    if message.raw_data:
        if dtype is None:
            raise CogmentDecodeError(f"field {field!r}: unknown dtype code {message.dtype}")
        count = math.prod(shape)
        if len(message.raw_data) != count * dtype.itemsize:
            raise CogmentDecodeError(
                f"field {field!r}: {len(message.raw_data)} bytes of {dtype} cannot have shape "
                f"{shape}"
            )
        return np.frombuffer(message.raw_data, dtype=dtype).reshape(shape)
    if message.npy_data:
        return np.load(io.BytesIO(message.npy_data), allow_pickle=False)
    for name in ("double_data", "int32_data", "int64_data", "uint32_data"):
        data = getattr(message, name)
        if len(data):
            return np.array(data, dtype=dtype).reshape(shape)
    return np.zeros(shape, dtype=dtype or np.float32)


# -- spaces.Space --------------------------------------------------------------------------


def space_to_message(space: spaces.Space, message: Any) -> None:
    """Fill a ``spaces.Space`` message (cogment-lab's ``spaces.proto``) with ``space``."""
    if isinstance(space, spaces.Discrete):
        message.discrete.n = int(space.n)
        message.discrete.start = int(space.start)
    elif isinstance(space, spaces.Box):
        array_to_message(space.low, message.box.low)
        array_to_message(space.high, message.box.high)
    elif isinstance(space, spaces.MultiBinary):
        array_to_message(np.atleast_1d(np.asarray(space.n, dtype=np.int32)), message.multi_binary.n)
    elif isinstance(space, spaces.MultiDiscrete):
        array_to_message(np.asarray(space.nvec), message.multi_discrete.nvec)
    elif isinstance(space, spaces.Dict):
        message.dict.SetInParent()
        for key, sub in space.spaces.items():
            entry = message.dict.spaces.add()
            entry.key = str(key)
            space_to_message(sub, entry.space)
    else:
        raise ConfigError(
            f"cogment-lab's spaces.proto cannot carry a {type(space).__name__} space ({space}); "
            "it carries Discrete, Box, MultiBinary, MultiDiscrete and Dict"
        )


def space_from_message(message: Any) -> spaces.Space:
    """The Gymnasium space a ``spaces.Space`` message describes."""
    kind = message.WhichOneof("kind")
    if kind == "discrete":
        return spaces.Discrete(message.discrete.n, start=message.discrete.start)
    if kind == "box":
        low = array_from_message(message.box.low, "box.low")
        high = array_from_message(message.box.high, "box.high")
        return spaces.Box(low=low, high=high, shape=low.shape, dtype=low.dtype)
    if kind == "multi_binary":
        n = array_from_message(message.multi_binary.n, "multi_binary.n")
        return spaces.MultiBinary(int(n[0]) if n.size == 1 else n)
    if kind == "multi_discrete":
        return spaces.MultiDiscrete(array_from_message(message.multi_discrete.nvec, "nvec"))
    if kind == "dict":
        return spaces.Dict({e.key: space_from_message(e.space) for e in message.dict.spaces})
    raise CogmentDecodeError(f"spaces.Space message of unsupported kind {kind!r}")


# -- the cogment-lab / cogment-verse convention ---------------------------------------------


def _is_array_field(message_type: Any, name: str) -> bool:
    field = message_type.DESCRIPTOR.fields_by_name.get(name)
    return (
        field is not None
        and field.message_type is not None
        and field.message_type.name == "Array"
        and "dtype" in field.message_type.fields_by_name
    )


class CogmentLabCodec(Codec):
    """The codec of apps that follow cogment-lab's convention (see the module docstring).

    ``known`` gives the spaces of a Cogment environment's actors, by actor name (from the spec,
    or from a cogment-lab environment object run in-process).
    """

    def __init__(
        self, known: Mapping[str, tuple[spaces.Space, spaces.Space | None]] | None = None
    ) -> None:
        self.known = dict(known or {})

    @staticmethod
    def fits(cog_settings: Any) -> bool:
        """Whether every actor class of ``cog_settings`` follows the convention."""
        classes = list(cog_settings.actor_classes)
        return bool(classes) and all(
            _is_array_field(c.observation_space, "value")
            and _is_array_field(c.action_space, "value")
            for c in classes
        )

    def spaces(self, actor: str, actor_class: str) -> tuple[spaces.Space, spaces.Space | None]:
        found = self.known.get(actor) or self.known.get("*")
        if found is None:
            raise ConfigError(
                f"the spaces of actor {actor!r} (Cogment class {actor_class!r}) are not known: "
                "give the environment's config 'spaces_from: <Gymnasium env id>' or "
                "'observation_space' and 'action_space' (cogym's JSON form of a space), or run a "
                "cogment-lab environment object in-process (cogment:<module>:<env>.impl)"
            )
        return found

    def decode_observation(self, actor: str, actor_class: str, message: Any) -> Any:
        return _unflat(self.spaces(actor, actor_class)[0], message, "observation")

    def encode_observation(self, actor: str, actor_class: str, value: Any, message: Any) -> None:
        space = self.spaces(actor, actor_class)[0]
        array_to_message(spaces.flatten(space, value), message.value)
        for flag in ("active", "alive"):
            if flag in message.DESCRIPTOR.fields_by_name:
                setattr(message, flag, True)

    def decode_action(self, actor: str, actor_class: str, message: Any) -> Any:
        space = self.spaces(actor, actor_class)[1]
        if space is None or not message.HasField("value"):
            return None
        return _unflat(space, message, "action")

    def encode_action(self, actor: str, actor_class: str, value: Any, message: Any) -> None:
        space = self.spaces(actor, actor_class)[1]
        if value is not None and space is not None:
            array_to_message(spaces.flatten(space, value), message.value)

    def config_for_actor(
        self,
        message: Any,
        observation_space: spaces.Space,
        action_space: spaces.Space | None,
        seed: int | None,
    ) -> None:
        fields = message.DESCRIPTOR.fields_by_name
        if "agent_specs" in fields:
            space_to_message(observation_space, message.agent_specs.observation_space)
            if action_space is not None:
                space_to_message(action_space, message.agent_specs.action_space)
        if "seed" in fields and seed is not None and not message.seed:
            message.seed = int(seed) % 2**32

    def config_for_environment(self, message: Any, seed: int | None) -> None:
        if "seed" in message.DESCRIPTOR.fields_by_name and not message.seed:
            # cogment-lab resets its env with this seed: an unseeded trial gets a fresh one
            message.seed = int(seed) % 2**32 if seed is not None else secrets.randbits(32)


_FLATDIMS: dict[int, tuple[spaces.Space, int]] = {}
"""``spaces.flatdim`` of the spaces decoded, by ``id`` (the space kept, so the id stays its)."""


def _flatdim(space: spaces.Space) -> int:
    found = _FLATDIMS.get(id(space))
    if found is None or found[0] is not space:
        found = _FLATDIMS[id(space)] = (space, spaces.flatdim(space))
    return found[1]


def _unflat(space: spaces.Space, message: Any, what: str) -> Any:
    flat = array_from_message(message.value, f"{type(message).__name__}.value")
    expected = _flatdim(space)
    if flat.size != expected:
        raise CogmentDecodeError(
            f"field {type(message).__name__}.value of the {what}: got an array of shape "
            f"{flat.shape} ({flat.size} numbers), but the {what} space {space} flattens to "
            f"{expected}"
        )
    value = spaces.unflatten(space, flat.reshape(-1))
    if isinstance(space, spaces.Discrete):
        value = np.int64(value)
    if not space.contains(value):
        raise CogmentDecodeError(
            f"field {type(message).__name__}.value of the {what}: {value!r} is not in the "
            f"{what} space {space}"
        )
    return value


# -- configs and message payloads ----------------------------------------------------------


def fill_config(message_type: Any, values: Mapping[str, Any] | None, what: str) -> Any:
    """A config message of ``message_type`` filled from a spec's dict (protobuf JSON form)."""
    from google.protobuf import json_format

    message = message_type()
    if values:
        try:
            json_format.ParseDict(dict(values), message)
        except json_format.ParseError as exc:
            raise ConfigError(
                f"{what}: the config {dict(values)} does not fit {message_type.__name__} "
                f"({exc}); its fields are {list(message_type.DESCRIPTOR.fields_by_name)}"
            ) from None
    return message


_JSON_TYPE = "type.googleapis.com/google.protobuf.Value"


def any_to_payload(payload: Any) -> Any:
    """A message's ``google.protobuf.Any`` payload as JSON: the value itself for a
    ``google.protobuf.Value`` (what cogym sends), else ``{"@type", "base64"}`` plus its fields
    when the type is known here."""
    from google.protobuf import json_format, struct_pb2, symbol_database

    if not payload.type_url:
        return None
    if payload.type_url == _JSON_TYPE:
        value = struct_pb2.Value()
        payload.Unpack(value)
        return json_format.MessageToDict(value)
    shown: dict[str, Any] = {
        "@type": payload.type_url,
        "base64": base64.b64encode(payload.value).decode("ascii"),
    }
    name = payload.type_url.rsplit("/", 1)[-1]
    try:
        message = symbol_database.Default().GetSymbol(name)()
    except KeyError:
        return shown
    payload.Unpack(message)
    shown["fields"] = json_format.MessageToDict(message)
    return shown


def payload_to_any(payload: Any, target: Any) -> None:
    """Fill the ``google.protobuf.Any`` ``target`` with a JSON ``payload`` (the inverse of
    :func:`any_to_payload`)."""
    from google.protobuf import json_format, struct_pb2

    if payload is None:
        return
    if isinstance(payload, dict) and "@type" in payload and "base64" in payload:
        target.type_url = payload["@type"]
        target.value = base64.b64decode(payload["base64"])
        return
    value = struct_pb2.Value()
    json_format.ParseDict(payload, value)
    target.Pack(value)
