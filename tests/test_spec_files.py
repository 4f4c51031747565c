"""Hostile spec files: each is refused with the problem and its line named, in bounded time."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from cogym import TrialSpec
from cogym.cli import main
from cogym.errors import SpecError
from cogym.specfile import read_yaml

VALID = "environment: {implementation: gym:CartPole-v1}\nactors: [{name: p}]\n"

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)

HOSTILE = {
    # name: (file content, words the message holds)
    "alias bomb": (ALIAS_BOMB.encode(), ["line 6", "aliases", "100,000 values"]),
    "alias bomb in config": (
        (
            "environment:\n  implementation: gym:CartPole-v1\n  config:\n"
            + "".join("    " + line + "\n" for line in ALIAS_BOMB.splitlines())
            + "actors: [{name: p}]\n"
        ).encode(),
        ["aliases", "100,000 values"],
    ),
    "alias to itself": (b"environment: &e {implementation: x, config: {me: *e}}\n", ["itself"]),
    "not UTF-8": (b"environment:\n  implementation: gym:Cart\xffPole\n", ["line 2", "not UTF-8"]),
    "binary": (bytes(range(256)) * 4, ["not UTF-8"]),
    "NUL byte": (b"environment: {implementation: x}\x00\n", ["line 1", "character"]),
    "deep nesting": (b"config: " + b"[" * 600 + b"]" * 600 + b"\n", ["nest", "64 levels"]),
    "deep block nesting": (
        "".join("  " * i + f"k{i}:\n" for i in range(200)).encode(),
        ["nest", "64 levels"],
    ),
    "5,000-digit integer": (
        VALID.encode() + b"seed: " + b"9" * 5000 + b"\n",
        ["line 3", "5,000 digits"],
    ),
    "sexagesimal integer": (
        VALID.encode() + b"seed: " + b"1:" * 3000 + b"1\n",
        ["line 3", "digits"],
    ),
    "trailing newline in a name": (
        b'environment: {implementation: gym:CartPole-v1}\nactors: [{name: "p\\n"}]\n',
        ["actors[0].name (line 2)", "'p\\n'"],
    ),
    "trailing newline in an implementation": (
        b'environment: {implementation: "gym:CartPole-v1\\n"}\nactors: [{name: p}]\n',
        ["environment.implementation (line 1)", "without spaces"],
    ),
    "duplicate key": (
        VALID.encode() + b"seed: 1\nseed: 2\n",
        ["line 4", "'seed' appears twice", "line 3"],
    ),
    "two documents": (VALID.encode() + b"---\n" + VALID.encode(), ["line 3", "single document"]),
    "too large": (VALID.encode() + b"tags: {t: '" + b"x" * (1 << 20) + b"'}\n", ["larger than"]),
    "huge unknown key": (
        VALID.encode() + b"? " + b"k" * 100_000 + b"\n: 1\n",
        ["unknown field", "characters"],
    ),
    "a key that is not a string": (b"?\n", ["(top level)", "key None is not a field name"]),
    "escape sequence in a key": (
        VALID.encode() + b'"\\e]0;owned\\a": 1\n',
        ["[", "\\x1b]0;owned\\x07"],
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_spec_files_are_refused_quickly_with_the_problem_named(tmp_path, name):
    content, words = HOSTILE[name]
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    started = time.perf_counter()
    with pytest.raises(SpecError) as info:
        TrialSpec.from_yaml(path)
    assert time.perf_counter() - started < 2
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    assert len(message) < 2000  # a huge value is never echoed whole
    assert "\x1b" not in message and "\x07" not in message


@pytest.mark.parametrize("name", ["alias bomb", "binary", "deep nesting", "5,000-digit integer"])
def test_cogym_run_exits_2_on_hostile_files_without_a_traceback(tmp_path, name):
    content, words = HOSTILE[name]
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", str(path), "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr and words[-1] in completed.stderr
    assert elapsed < 20  # the interpreter's start-up included


def test_directories_and_missing_files_are_named(tmp_path):
    with pytest.raises(SpecError, match="cannot read .*: Is a directory"):
        TrialSpec.from_yaml(tmp_path)
    with pytest.raises(SpecError, match="No such file"):
        TrialSpec.from_yaml(tmp_path / "missing.yaml")
    result = CliRunner().invoke(main, ["run", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output


def test_aliases_within_bounds_still_work_and_lines_point_at_the_field():
    text = (
        "environment: {implementation: gym:CartPole-v1, config: &shared {a: 1}}\n"
        "actors:\n"
        "  - {name: p, config: *shared}\n"
        "  - name: q\n"
        "    implementation: random\n"
        "    config:\n"
        "      <<: *shared\n"
        "      b: 2\n"
    )
    spec = TrialSpec.from_yaml_text(text)
    assert spec.actor("p").config == {"a": 1} and spec.actor("q").config == {"a": 1, "b": 2}
    document = read_yaml(text, source=None)
    assert document.line_of(("actors", 1, "config", "b")) == 8
    with pytest.raises(SpecError, match=r"max_tick \(line 9\)"):
        TrialSpec.from_yaml_text(text + "max_tick: 3\n")


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    assert TrialSpec.from_yaml(path).actors[0].name == "p"


SHAPES = {
    "environment given as a string": (
        "environment: gym:CartPole-v1\nactors: [{name: p}]\n",
        "environment (line 1): should be a mapping, got str 'gym:CartPole-v1'; "
        "write it as environment: {implementation: gym:CartPole-v1}",
    ),
    "actors given as one mapping": (
        "environment: {implementation: gym:CartPole-v1}\nactors: {name: p}\n",
        "actors (line 2): should be a list, got a mapping; "
        "write it as actors: [{name: player, implementation: random}]",
    ),
    "actors given as names": (
        "environment: {implementation: gym:CartPole-v1}\nactors: [p1]\n",
        "actors[0] (line 2): should be a mapping, got str 'p1'; "
        "write it as actors: [{name: p1, implementation: random}]",
    ),
    "tags given as a list": (
        VALID + "tags: [demo]\n",
        "tags (line 3): should be a mapping, got a list; write it as {key: value, ...}",
    ),
    "config given as a number": (
        "environment: {implementation: gym:CartPole-v1}\nactors: [{name: p, config: 3}]\n",
        "actors[0].config (line 2): should be a mapping, got int 3; write it as {key: value, ...}",
    ),
    "a tag holding a list": (
        VALID + "tags: {seeds: [1, 2], ok: 3}\n",
        "tags.seeds (line 3): a tag's value is one string, number or boolean, got [1, 2]; "
        "write seeds: <value>",
    ),
    "a tag named by a number": (
        VALID + "tags: {5: x}\n",
        "tags[5] (line 3): a tag's name is a string, got 5; quote it: '5': <value>",
    ),
}


@pytest.mark.parametrize("case", SHAPES)
def test_a_list_or_mapping_written_as_something_else_names_the_yaml_that_fits(
    case: str, tmp_path
) -> None:
    text, message = SHAPES[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = CliRunner().invoke(main, ["run", str(spec), "-q"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "1 problem(s)" in result.stderr
    assert "instance of" not in result.stderr and "valid tuple" not in result.stderr
