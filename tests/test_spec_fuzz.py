"""Malformed specs thrown at ``TrialSpec.from_yaml`` and ``cogym run``.

Every case must end with a :class:`SpecError` (exit 2 on the command line) that names the bad
field or the problem's line, with no traceback, in under 2 seconds. Run with ``-s`` to see how
many cases were tried.
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cogym import TrialSpec
from cogym.cli import main
from cogym.errors import SpecError

VALID: dict[str, Any] = {
    "environment": {"implementation": "gym:CartPole-v1", "config": {}},
    "actors": [
        {"name": "left", "implementation": "random", "config": {}},
        {"name": "right", "implementation": "random", "actor_class": "player", "config": {}},
    ],
    "max_ticks": 10,
    "max_seconds": 5.0,
    "seed": 0,
    "tags": {"experiment": "fuzz"},
    "datastore": "trials",
    "record_frames": False,
}
FIELDS = set(VALID)

TRIED = {"from_yaml": 0, "cogym run": 0}


@pytest.fixture(scope="module", autouse=True)
def _count():
    yield
    print(
        f"\nspec fuzz: {TRIED['from_yaml']} files through TrialSpec.from_yaml, "
        f"{TRIED['cogym run']} through cogym run; every one refused as required"
    )


def _located(path: str, message: str) -> bool:
    """A problem names a field of the spec, an unknown field, a line, the file or the top level."""
    if message.startswith("unknown field"):
        return True
    return (
        path.startswith(("line ", "(file)", "(top level)", "["))
        or path.split(".")[0].split("[")[0].split(" ")[0] in FIELDS
    )


def check_refused(content: bytes | None, *, field: str | None = None, directory: bool = False):
    """``content`` written as a spec file (or a directory, or nothing) is refused as required."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.yaml"
        if directory:
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
        started = time.perf_counter()
        with pytest.raises(SpecError) as info:
            TrialSpec.from_yaml(path)
        assert time.perf_counter() - started < 2
        TRIED["from_yaml"] += 1
        problems = info.value.problems
        assert problems and all(_located(p, m) for p, m in problems), problems
        if field is not None:  # the field, or the line it is on
            assert any(p.startswith((field, "line ")) for p, _ in problems), (field, problems)
        assert len(str(info.value)) < 5000

        started = time.perf_counter()
        result = CliRunner().invoke(main, ["run", str(path), "-q"])
        assert time.perf_counter() - started < 2
        TRIED["cogym run"] += 1
        assert result.exit_code == 2, (result.output, result.exception)
        assert isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        assert "error" in result.output.lower()


# -- values of the wrong kind for each field --------------------------------------------------

huge = st.integers(5_000, 200_000).map(lambda n: "x" * n)
odd_unicode = st.sampled_from(
    ["\u202eevil", "名前", "p\u200b", "p\n", "\ttab", "a b", "🎲", "-p", ".p"]
)
not_mappings = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.just(True),
)
not_strings = st.one_of(
    st.integers(),
    st.floats(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(True),
)
bad_implementations = st.one_of(
    not_strings,
    st.just(""),
    huge,
    odd_unicode.filter(lambda s: s.strip() != s or " " in s),
    st.sampled_from(["python:onlymodule", "pettingzoo:a", "gym:", "with space", "sb3:x\n"]),
)
bad_names = st.one_of(
    not_strings,
    st.just(""),
    st.text(min_size=65, max_size=200),
    odd_unicode,
    st.sampled_from(["a/b", "../x", "a:b", "a b", "p\r", "x" * 65]),
)
bad_counts = st.one_of(
    st.integers(max_value=0),
    st.text("abc xyz", min_size=1, max_size=5),
    st.lists(st.integers(), max_size=2),
    st.just(True),
    st.just(1.5),
)
BAD: dict[str, st.SearchStrategy[Any]] = {
    "environment": st.one_of(not_mappings, st.just({}), st.just({"config": {}})),
    "environment.implementation": bad_implementations,
    "environment.config": not_mappings,
    "actors": st.one_of(st.just([]), st.integers(), st.just({"name": "p"}), st.just(None)),
    "actors[0]": not_mappings,
    "actors[0].name": bad_names,
    "actors[1].implementation": bad_implementations,
    "actors[1].actor_class": st.one_of(not_strings, st.just(""), st.just("a\nb"), huge),
    "actors[0].config": not_mappings,
    "max_ticks": bad_counts,
    "max_seconds": st.one_of(
        st.floats(max_value=0), st.just(float("nan")), st.just("soon"), st.just(True)
    ),
    "seed": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**63),
        st.just("zero"),
        st.just(0.5),
        st.just(False),
    ),
    "tags": st.one_of(
        not_mappings.filter(lambda v: v != []),
        st.just({"t": [1]}),
        st.just({"t": None}),
        st.just({"t": {"nested": 1}}),
    ),
    "datastore": st.one_of(not_strings, st.just(""), st.just("a\x00b"), st.just("x" * 5000)),
    "record_frames": st.one_of(
        st.just("maybe"), st.just(2), st.lists(st.booleans(), max_size=2), st.just({})
    ),
}


def _set(data: dict[str, Any], field: str, value: Any) -> None:
    parts = field.replace("[", ".").replace("]", "").split(".")
    target: Any = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    target[int(last) if last.isdigit() else last] = value


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, width=10**6).encode("utf-8")


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@settings(FUZZ, max_examples=400)
@given(st.sampled_from(sorted(BAD)).flatmap(lambda f: st.tuples(st.just(f), BAD[f])))
def test_a_wrong_value_in_any_field_is_named(case):
    field, value = case
    data = copy.deepcopy(VALID)
    _set(data, field, value)
    check_refused(_dump(data), field=field.split("[")[0] if field == "actors" else field)


@FUZZ
@given(st.text(min_size=1, max_size=30), st.sampled_from(["", "environment", "actors[0]"]))
def test_unknown_keys_are_named(key, where):
    data = copy.deepcopy(VALID)
    target = {"": data, "environment": data["environment"], "actors[0]": data["actors"][1]}[where]
    known = {
        "": FIELDS,
        "environment": {"implementation", "config"},
        "actors[0]": {"name", "implementation", "actor_class", "config"},
    }[where]
    if key in known:
        return
    target[key] = 1
    check_refused(_dump(data), field=where.replace("[0]", "[1]") or None)


@FUZZ
@given(st.sampled_from(["left", "right"]), st.integers(1, 3))
def test_duplicate_actor_names_are_named(name, copies):
    data = copy.deepcopy(VALID)
    data["actors"] += [{"name": name}] * copies
    check_refused(_dump(data), field="(top level)")


@FUZZ
@given(st.text(max_size=300))
def test_random_text_is_refused(text):
    check_refused(text.encode("utf-8"))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_are_refused(content):
    check_refused(content)


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@FUZZ
@given(yaml_values)
def test_random_yaml_documents_are_refused(value):
    check_refused(_dump(value))


@pytest.mark.parametrize(
    ("content", "directory"),
    [
        (b"", False),
        (b"   \n\n", False),
        (b"# only a comment\n", False),
        (b"---\n...\n", False),
        (b"~\n", False),
        (None, False),
        (None, True),
    ],
    ids=["empty", "blank", "comment", "empty document", "null", "missing", "directory"],
)
def test_empty_files_directories_and_missing_files_are_refused(content, directory):
    check_refused(content, directory=directory)
