"""`cogym run` on bad input: caught once before the first trial, exit 2, the field named.

And at run time: exit 0 only when every trial ended (or was terminated on request).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cogym.cli import main

SPEC = """\
environment:
  implementation: gym:CartPole-v1
  config: {}
actors:
  - name: player
    implementation: python:cogym.bots:CartPoleExpert
max_ticks: 20
seed: 0
"""


def _spec(tmp_path: Path, text: str = SPEC) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def mountain_car_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SB3 model file for MountainCar (2 observations, 3 actions): it does not fit CartPole."""
    from stable_baselines3 import PPO

    path = tmp_path_factory.mktemp("models") / "mountain.zip"
    PPO("MlpPolicy", "MountainCar-v0", n_steps=64, batch_size=64, device="cpu").save(path)
    return path


@pytest.fixture(scope="module")
def symlinked_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry whose model `evil` is a symlink to a model outside its root."""
    from stable_baselines3 import PPO

    from cogym.registry import ModelRegistry

    base = tmp_path_factory.mktemp("registries")
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, device="cpu")
    ModelRegistry(base / "outside").save("evil", model)
    root = base / "models"
    ModelRegistry(root).save("good", model)
    os.symlink(base / "outside" / "evil", root / "evil")
    return root


def _player(implementation: str) -> str:
    return SPEC.replace("python:cogym.bots:CartPoleExpert", implementation)


def _config(config: str) -> str:
    return SPEC.replace("config: {}", f"config: {config}")


CASES = {
    "unknown gym id": (
        SPEC.replace("gym:CartPole-v1", "gym:CartPol-v1"),
        [],
        "environment.implementation",
        "Did you mean 'gym:CartPole-v1'",
    ),
    "misspelled python name": (
        _player("python:cogym.bots:CartPoleExpet"),
        [],
        "actors[0].implementation",
        "Did you mean 'CartPoleExpert'",
    ),
    "python module that does not exist": (
        _player("python:cogym.botz:CartPoleExpert"),
        [],
        "actors[0].implementation",
        "cannot import module 'cogym.botz'",
    ),
    "sb3 reference without a registry": (
        _player("sb3:cartpole@latest"),
        [],
        "actors[0].implementation",
        "--registry DIR",
    ),
    "sb3 file that does not exist": (
        _player("sb3:models/missing.zip"),
        [],
        "actors[0].implementation",
        "does not exist",
    ),
    "sb3 model whose spaces do not fit": (
        _player("sb3:{mountain_car_model}"),
        [],
        "actors[0].implementation",
        "but actor class 'player' observes Box(",
    ),
    "sb3 model symlinked out of the registry": (
        _player("sb3:evil@1"),
        ["--registry", "{symlinked_registry}"],
        "actors[0].implementation",
        "outside the registry",
    ),
    "two actors for a one-player env": (
        SPEC.replace("max_ticks", "  - name: other\n    implementation: random\nmax_ticks"),
        [],
        "actors[1]",
        "actor 'other': a Gymnasium env has one player",
    ),
    "env kwargs the env does not take": (
        _config("{foo: 1}"),
        [],
        "environment.config",
        "unexpected keyword argument 'foo'",
    ),
    "a render mode that is not a string": (
        _config("{render_mode: [1]}"),
        [],
        "environment.config",
        "render_mode",
    ),
    "record_frames without a render mode": (
        SPEC + "record_frames: true\n",
        ["--datastore", "{tmp_path}/trials"],
        "record_frames",
        "render_mode: rgb_array",
    ),
    "a datastore that is a file": (
        SPEC,
        ["--datastore", "{tmp_path}/spec.yaml"],
        "--datastore",
        "is a file, not a datastore directory",
    ),
    "a datastore that is a directory of other things": (
        SPEC,
        ["--datastore", "{tmp_path}/other"],
        "--datastore",
        "is not a cogym datastore",
    ),
}


def _fill(text: str, values: dict[str, object]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


# the models are checked in the parent like everything else: one worker count is enough there
RUNS = [(case, "1") for case in CASES] + [
    (case, "2") for case in CASES if not case.startswith("sb3 model")
]


@pytest.mark.parametrize(("case", "workers"), RUNS)
def test_bad_input_exits_2_naming_the_field_before_any_trial(case, workers, tmp_path, request):
    text, extra, field, detail = CASES[case]
    values: dict[str, object] = {"tmp_path": tmp_path}
    for name in ("mountain_car_model", "symlinked_registry"):
        if "{" + name + "}" in text + " ".join(extra):
            values[name] = request.getfixturevalue(name)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("not trials")
    spec = _spec(tmp_path, _fill(text, values))
    args = ["run", spec, "-q", "-n", "2", "-w", workers, *(_fill(a, values) for a in extra)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{field}:" in result.stderr and detail in result.stderr
    assert "trials (" not in result.output  # no trial ran, so no summary
    assert not (tmp_path / "trials").exists() or not any((tmp_path / "trials").glob("*.h5"))


def test_bad_input_with_workers_is_one_message_and_no_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", _spec(tmp_path, _config("{foo: 1}"))]
        + ["-n", "4", "-w", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("environment.config:") == 1
    assert f"invalid trial spec in {tmp_path / 'spec.yaml'}" in completed.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_run_whose_trials_failed_exits_1_with_the_summary(tmp_path, workers):
    spec = _player("python:tests.helpers:CrashOnSeed\n    config: {seed: 1}")
    arguments = ["run", _spec(tmp_path, spec), "-n", "3", "-q", "-w", workers]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 1, result.output
    assert "3 trials (2 ended, 1 failed)" in result.output and "crash on seed 1" in result.stderr


def test_a_run_whose_trials_all_ended_exits_0(tmp_path):
    result = CliRunner().invoke(main, ["run", _spec(tmp_path), "-n", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert "2 trials (2 ended)" in result.output


def test_a_run_into_an_empty_directory_records_there(tmp_path):
    (tmp_path / "trials").mkdir()
    result = CliRunner().invoke(
        main, ["run", _spec(tmp_path), "-n", "2", "-q", "--datastore", str(tmp_path / "trials")]
    )
    assert result.exit_code == 0, result.output
    assert any((tmp_path / "trials").glob("*.h5"))


def test_more_workers_than_trials_start_one_worker_per_trial_and_say_so(tmp_path):
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["run", _spec(tmp_path), "-n", "2", "-w", "1000", "-q"])
    assert result.exit_code == 0, result.output
    assert "--workers 1000: 2 trial(s) need no more than 2 worker(s); running 2" in result.stderr
    assert "2 trials (2 ended)" in result.output
    assert time.perf_counter() - started < 60


def test_an_env_whose_close_raises_is_a_warning_and_the_run_stands(tmp_path):
    spec = SPEC.replace("gym:CartPole-v1", "python:tests.helpers:cartpole_that_fails_to_close")
    completed = subprocess.run(
        [sys.executable, "-m", "cogym", "run", _spec(tmp_path, spec), "-n", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert completed.returncode == 0, completed.stderr
    assert "2 trials (2 ended)" in completed.stdout
    assert "Traceback" not in completed.stderr
    assert "CloseWarning: closing GymEnvironment(<FailsToClose" in completed.stderr
    assert "raised RuntimeError: the display is gone; the results of its trials stand" in (
        completed.stderr
    )


def test_a_string_reward_fails_the_trial_naming_env_tick_value_and_type(tmp_path):
    env = "python:tests.helpers:cartpole_with_string_rewards"
    spec = SPEC.replace("gym:CartPole-v1", env)
    result = CliRunner().invoke(main, ["run", _spec(tmp_path, spec), "-q"])
    assert result.exit_code == 1, result.output
    assert "1 trials (1 failed)" in result.output
    assert (
        f"tick 2: environment {env} gave actor 'player' the reward '1.0' (str); "
        "a reward must be a number"
    ) in result.stderr


def test_an_external_actor_in_a_pettingzoo_game_exits_2_naming_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, (
        "environment:\n  implementation: pettingzoo:pettingzoo.classic.connect_four_v3:env\n"
        "actors:\n  - name: player_0\n  - name: player_1\n    implementation: external\n"
        "seed: 0\n"
    ))  # fmt: skip
    for extra in ([], ["--batch", "2"], ["--workers", "2"]):
        result = CliRunner().invoke(main, ["run", spec, "--trials", "2", *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert "actors[1].implementation: actor 'player_1' is external" in result.output


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("raise RuntimeError('no licence server')\n", "RuntimeError: no licence server"),
        ("def make(:\n    pass\n", "SyntaxError: invalid syntax"),
    ],
    ids=["raises", "does-not-compile"],
)
@pytest.mark.parametrize("field", ["environment", "actors[0]"])
def test_a_python_module_that_fails_to_import_exits_2_naming_field_module_and_line(
    source: str, detail: str, field: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"broken_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    implementation = f"python:{module}:make"
    if field == "environment":
        text = SPEC.replace("gym:CartPole-v1", implementation)
    else:
        text = _player(implementation)
    result = CliRunner().invoke(main, ["run", _spec(tmp_path, text), "-q"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{field}.implementation:" in result.stderr
    assert f"importing module {module!r} raised {detail}" in result.stderr
    assert f"{tmp_path / module}.py, line 1" in result.stderr
