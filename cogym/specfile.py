"""Reading a trial spec's YAML within bounds: size, nesting, alias expansion, numbers, encoding.

A spec file may come from anywhere (a colleague, a download, a generated file), so reading one
must end quickly with a named problem whatever it holds: a file of a few hundred bytes whose
aliases expand to billions of values, a binary file, nesting thousands of levels deep or an
integer of thousands of digits are refused with the line they are on, before anything is built.
The limits are far above what any trial spec needs.

    >>> document = read_yaml("seed: 3\\nactors: [{name: p}]\\n", source=None)
    >>> document.data["seed"], document.line_of(("actors", 0, "name"))
    (3, 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from cogym.errors import SpecError

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "MAX_VALUES",
    "YamlDocument",
    "read_text",
    "read_yaml",
    "shown",
]

MAX_BYTES = 1 << 20
"""The largest spec file read (1 MiB)."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and lists."""
MAX_VALUES = 100_000
"""The most values (scalars, mappings, lists) a spec may hold, aliases expanded."""
MAX_INT_DIGITS = 300
"""The longest integer literal read (longer ones cost quadratic time to convert)."""

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters (control characters escaped)."""
    text = repr(value)
    return (
        text
        if len(text) <= limit
        else text[: limit - 5] + "...'" + f" ({len(str(value)):,} characters)"
    )


@dataclass(frozen=True)
class YamlDocument:
    """A parsed spec file: its data and the line of every field path in it."""

    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict, repr=False)

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of ``loc`` (a field path), or of its closest enclosing field."""
        loc = tuple(p if isinstance(p, int) else str(p) for p in loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a spec file; a :class:`SpecError` says why it cannot be read."""
    source = str(path)
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError([("(file)", f"cannot read {source}: {reason}")], source) from None
    except ValueError as exc:  # a path with a NUL byte
        raise SpecError([("(file)", f"cannot read {shown(source)}: {exc}")], source) from None
    if len(raw) > MAX_BYTES:
        raise _refuse(
            "(file)",
            (
                f"the file is larger than {MAX_BYTES:,} bytes; a trial spec is a few "
                "hundred: is this the right file?"
            ),
            source,
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise _refuse(
            f"line {line}",
            (
                f"byte 0x{byte} at offset {exc.start} is not UTF-8 text; a spec is "
                "a UTF-8 YAML file (is this the right file? re-save it as UTF-8)"
            ),
            source,
        ) from None


def read_yaml(text: str, *, source: str | None) -> YamlDocument:
    """Parse ``text`` as one YAML document within the limits above."""
    if len(text) > MAX_BYTES:
        raise SpecError([("(file)", f"the text is longer than {MAX_BYTES:,} characters")], source)
    try:
        _check_events(text, source)
        node = yaml.compose(text, Loader=_Loader)
        if node is None:
            return YamlDocument(None)
        lines = _Walk(source).run(node)
        data = _BoundedConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_problem(exc, text)], source) from None
    return YamlDocument(data, lines)


def _check_events(text: str, source: str | None) -> None:
    """Refuse deep nesting and huge documents from the event stream, before any tree is built."""
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=_Loader), start=1):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _refuse(
                    _line(event),
                    (
                        f"mappings and lists nest more than {MAX_DEPTH} levels deep "
                        "here; a trial spec needs a few"
                    ),
                    source,
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if count > MAX_VALUES:
            raise _refuse(
                _line(event),
                f"the file holds more than {MAX_VALUES:,} values; a trial spec needs far fewer",
                source,
            )


def _refuse(where: str, message: str, source: str | None) -> SpecError:
    return SpecError([(where, message)], source)


def _line(node_or_event: Any) -> str:
    return f"line {node_or_event.start_mark.line + 1}"


class _Walk:
    """One pass over the node graph: alias expansion bounded, duplicate keys, field lines."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()
        self.lines: dict[tuple[Any, ...], int] = {}

    def run(self, node: yaml.Node) -> dict[tuple[Any, ...], int]:
        self.size(node)
        self.record(node, ())
        return self.lines

    def size(self, node: yaml.Node) -> int:
        """The number of values ``node`` stands for once every alias in it is expanded."""
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.open:
            raise _refuse(
                _line(node),
                (
                    "this value contains an alias to itself (&name ... *name), "
                    "which has no end when expanded"
                ),
                self.source,
            )
        self.open.add(key)
        total = 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            self.check_duplicates(node)
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        for child in children:
            total += self.size(child)
            if total > MAX_VALUES:
                raise _refuse(
                    _line(node),
                    (
                        f"the aliases (*name) in this value repeat others until it "
                        f"holds more than {MAX_VALUES:,} values, which no trial spec needs; write "
                        "the values out or use fewer aliases"
                    ),
                    self.source,
                )
        self.open.discard(key)
        self.sizes[key] = total
        return total

    def check_duplicates(self, node: yaml.MappingNode) -> None:
        seen: dict[Any, int] = {}
        for k, _ in node.value:
            if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
                continue
            line = k.start_mark.line + 1
            if (k.tag, k.value) in seen:
                raise _refuse(
                    f"line {line}",
                    (
                        f"the key {shown(k.value)} appears twice in one mapping "
                        f"(first on line {seen[(k.tag, k.value)]}); only one of them would count"
                    ),
                    self.source,
                )
            seen[(k.tag, k.value)] = line

    def record(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    sub = path + (k.value,)
                    self.lines.setdefault(sub, k.start_mark.line + 1)
                    self.record(v, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.record(item, path + (i,))


class _BoundedConstructor(yaml.SafeLoader):
    """PyYAML's safe constructor, with long integers refused and value errors located."""

    def __init__(self) -> None:
        super().__init__("")

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        digits = sum(c.isalnum() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {digits:,} digits; at most {MAX_INT_DIGITS} are read "
                "(quote it to make it a string)",
                node.start_mark,
            )
        return super().construct_yaml_int(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {shown(node.value)}: {exc}", node.start_mark
            ) from None


_BoundedConstructor.add_constructor("tag:yaml.org,2002:int", _BoundedConstructor.construct_yaml_int)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        problem = (
            f"YAML cannot hold the character {exc.character!r} (position {exc.position}); "
            "is this the right file?"
        )
        return f"line {line}", problem
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return where, problem
    return where, f"YAML syntax error: {problem}"
