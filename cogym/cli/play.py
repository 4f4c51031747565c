"""``cogym play``: a person plays, watches or teaches in the browser; every trial is recorded."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from cogym.cli import FAILURE, console, errors, main, page_options, with_options
from cogym.errors import InputError

DEFAULT_DATASTORE = "trials"


@main.command()
@click.argument("env", metavar="ENV_ID")
@click.option(
    "--watch",
    "watch",
    metavar="IMPL",
    help="An agent plays (e.g. sb3:cartpole@latest); you watch and reward it.",
)
@click.option(
    "--teach",
    "teach",
    metavar="IMPL",
    help="An agent plays; you take over while holding a key (teacher mode).",
)
@click.option(
    "--rate",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Ticks per second.",
)
@click.option(
    "--on-timeout",
    default="repeat",
    show_default=True,
    type=click.Choice(["repeat", "noop", "wait"]),
    help="When you have not acted by a tick's deadline: repeat your last action, no-op, or wait.",
)
@click.option(
    "--keys",
    metavar="JSON",
    help='Key map, e.g. \'{"a": 0, "d": 1}\' (default: arrows and digits).',
)
@click.option(
    "--trials",
    "-n",
    type=click.IntRange(min=1),
    help="Stop after this many trials (default: until Ctrl-C).",
)
@click.option("--max-ticks", type=click.IntRange(min=1), help="Tick limit per trial.")
@click.option(
    "--seed", type=click.IntRange(min=0), help="Seed of the first trial (the next ones follow it)."
)
@click.option(
    "--datastore",
    metavar="DIR",
    default=DEFAULT_DATASTORE,
    show_default=True,
    envvar="COGYM_DATASTORE",
    help="Record every trial into this datastore directory (HDF5), for `cogym bc` afterwards.",
)
@click.option("--no-record", is_flag=True, help="Do not record the trials.")
@click.option(
    "--registry",
    metavar="DIR",
    envvar="COGYM_REGISTRY",
    help="Model registry for sb3:<model>@<ref> agents.",
)
@page_options
@click.option(
    "--start-delay",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds before a trial's first tick.",
)
@click.option(
    "--start-on-key/--no-start-on-key",
    default=True,
    show_default=True,
    help="Start each trial when you first press a key (not in --watch or --teach mode).",
)
def play(
    env: str,
    watch: str | None,
    teach: str | None,
    rate: float,
    on_timeout: str,
    keys: str | None,
    trials: int | None,
    max_ticks: int | None,
    seed: int | None,
    datastore: str,
    no_record: bool,
    registry: str | None,
    host: str,
    port: int,
    allow_remote: bool,
    start_delay: float,
    start_on_key: bool,
) -> None:
    """Play ENV_ID in your browser: a Gymnasium id (CartPole-v1), gym:<id>, or a SPEC.yaml
    whose actors include `implementation: human`.

    Prints the page's URL (it holds a secret token), then runs trial after trial until Ctrl-C
    or --trials, recording each into --datastore. --rate, --on-timeout, --keys, --host, --port
    --start-delay and --start-on-key configure the human actor of an ENV_ID; a SPEC.yaml's
    actors carry their own config. The buttons name the actions where the environment says
    what they mean (Atari games, Gymnasium's classic environments).
    """
    from cogym.orchestrator import Orchestrator

    human: dict[str, Any] = {
        "rate": rate,
        "host": host,
        "port": port,
        "allow_remote": allow_remote,
        "start_delay": start_delay,
    }
    if watch and teach:
        raise InputError("--watch and --teach exclude each other: choose one")
    from cogym.web.server import is_loopback

    if not allow_remote and not is_loopback(host):
        raise InputError(
            f"--host {host}: serving the page beyond this machine lets anyone who learns its URL "
            "act in your trials; add --allow-remote to mean it"
        )
    if keys is not None:
        if watch:
            raise InputError("--keys: in --watch mode you do not act, so there are no keys to map")
        try:
            human["keys"] = json.loads(keys)
        except json.JSONDecodeError as exc:
            raise InputError(
                f'--keys: not valid JSON ({exc}); e.g. --keys \'{{"a": 0, "d": 1}}\''
            ) from None
    spec = with_options(
        _spec(env, watch, teach, on_timeout, registry, human, start_on_key),
        seed=seed,
        max_ticks=max_ticks,
    )
    recorder = None
    if not no_record:
        from cogym.datastore import HDF5Datastore

        recorder = HDF5Datastore(datastore)
    orchestrator = Orchestrator(datastore=recorder, registry=registry)
    orchestrator.check(spec)
    stop = threading.Event()

    def on_interrupt(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        errors.print(
            "stopping: the trial in progress ends now and is recorded "
            "(Ctrl-C again to quit at once)",
            highlight=False,
        )
        for trial in orchestrator.running():
            trial.terminate("stopped from the keyboard (Ctrl-C)")
        from cogym.web import channels

        for channel in channels():
            channel.close()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    played = 0
    failed_to_start = False
    try:
        with orchestrator:
            while not stop.is_set() and (trials is None or played < trials):
                # start() raises on a spec or config that cannot be built (exit code 2)
                trial = orchestrator.start(spec, index=played)
                result = trial.result if trial.done else trial.run()
                played += 1
                returns = ", ".join(f"{k} {v:g}" for k, v in result.returns.items())
                line = (
                    f"trial {result.trial_id}: {result.state.value} after {result.ticks} ticks "
                    f"({returns})"
                )
                if result.error:
                    line += f": {result.error.splitlines()[0]}"
                console.print(escape(line), highlight=False, soft_wrap=True)
                if result.state.value == "failed" and result.ticks == 0:
                    failed_to_start = True
                    break
    finally:
        signal.signal(signal.SIGINT, previous)
    if recorder is not None:
        console.print(
            f"{played} trial(s) recorded in {escape(str(Path(datastore)))}; see them with "
            f"`cogym trials ls --datastore {escape(datastore)}`",
            highlight=False,
            soft_wrap=True,
        )
    if failed_to_start:
        errors.print(
            "[red]error:[/red] the trial failed before its first tick; stopping", highlight=False
        )
        sys.exit(FAILURE)


def _spec(
    env: str,
    watch: str | None,
    teach: str | None,
    on_timeout: str,
    registry: str | None,
    human: dict[str, Any],
    start_on_key: bool,
) -> Any:
    from cogym.spec import TrialSpec
    from cogym.web.meanings import action_meanings

    if env.endswith((".yaml", ".yml")):
        if watch or teach:
            raise InputError(
                "--watch and --teach apply to an ENV_ID, not to a spec file: edit its actors"
            )
        if not Path(env).is_file():
            raise InputError(f"ENV_ID {env!r} looks like a spec file, and there is no such file")
        spec = TrialSpec.from_yaml(env)
        if not any(a.implementation == "human" for a in spec.actors):
            raise InputError(
                f"{env}: no actor has 'implementation: human'; make one human to play, or use "
                "`cogym run` for trials without people"
            )
        return spec
    implementation = env if ":" in env else f"gym:{env}"
    environment = {"implementation": implementation, "config": {"render_mode": "rgb_array"}}
    if watch:
        actors = [
            {"name": "player", "implementation": watch},
            {
                "name": "watcher",
                "implementation": "human",
                "actor_class": "observer",
                "config": human,
            },
        ]
    else:
        config = dict(human, on_timeout=on_timeout) if not teach else dict(human, agent=teach)
        if teach and registry is not None:
            config["registry"] = registry
        if not teach and start_on_key:
            config["start_on_key"] = True
        labels = action_meanings(implementation)
        if labels is not None:
            config["action_labels"] = labels
        actors = [{"name": "player", "implementation": "human", "config": config}]
    return TrialSpec.from_dict({"environment": environment, "actors": actors})
