"""Benchmarks of the trial datastore.

Against baselines: recording overhead (trials with and without a datastore), write throughput
and training reads against Minari on the same CartPole episodes, bytes per step against the
uncompressed size. For the design: one file per trial against many trials per shard, and the
compression settings, each measured on CartPole and on 64x64x3 image observations. And how
soon ``follow()`` yields a trial that another process ended.

Minari's ``DataCollector`` needs ``pip install "minari[create]"`` (it uses jax); without it the
Minari figures are skipped with a note.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import Orchestrator, TrialSpec
from cogym.datastore import HDF5Datastore

PLANS: dict[int, list[int]] = {}
"""Recorded actions by episode seed, for :class:`Scripted` (one process, set before a run)."""


class Scripted:
    """Plays the actions planned for its trial's seed, so both writers record the same episodes."""

    def reset(self, context: Any) -> None:
        self.actions = iter(PLANS[context.spec.seed])

    def act(self, observation: Any) -> int:
        return next(self.actions)


class Shapes(gym.Env):
    """64x64x3 frames of a square moving over a gradient: image observations that look like a
    simple game's (random noise would not compress, and no env renders noise)."""

    observation_space = spaces.Box(0, 255, (64, 64, 3), np.uint8)
    action_space = spaces.Discrete(5)

    def __init__(self) -> None:
        ramp = np.linspace(0, 120, 64, dtype=np.float32)
        self.background = np.stack(
            [np.add.outer(ramp, ramp) / 2, np.tile(ramp, (64, 1)), np.full((64, 64), 60.0)], -1
        ).astype(np.uint8)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = self.np_random.integers(8, 56, 2)
        self.t = 0
        return self._frame(), {}

    def _frame(self) -> np.ndarray:
        frame = self.background.copy()
        y, x = self.position
        frame[y - 4 : y + 4, x - 4 : x + 4] = (250, 200, 40)
        return frame

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        moves = ((0, 0), (-2, 0), (2, 0), (0, -2), (0, 2))
        self.position = np.clip(self.position + moves[int(action)], 4, 60)
        self.t += 1
        return self._frame(), 0.0, False, self.t >= 100, {}


def shapes() -> Shapes:
    return Shapes()


CARTPOLE = {"environment": {"implementation": "gym:CartPole-v1"}, "actors": [{"name": "player"}]}


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="cogym-bench-"))


def _size(root: Path, suffix: str = "") -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.name.endswith(suffix))


# -- recording overhead ------------------------------------------------------------------------


def recording(quick: bool) -> list[Figure]:
    """Ticks/s of random CartPole trials recorded into a datastore against the same trials
    with no datalog (publishing the shard at the end included), with the default commit
    policy (each trial journaled as it ends) and with grouped commits (``commit_seconds=0.1``);
    then (not with ``quick``) the same for trials of the expert (500 ticks each).

    Measured per second of this process's CPU time (the target is held to this one: on a
    shared machine, wall-clock time mostly measures the other processes).
    """
    ticks = 20_000 if quick else 200_000
    rounds = 3 if quick else 7
    random_spec = TrialSpec.from_dict({**CARTPOLE, "seed": 0})
    expert_spec = random_spec.replace_actor(
        "player", implementation="python:cogym.bots:CartPoleExpert"
    )

    def run(spec: TrialSpec, datastore: HDF5Datastore | None) -> float:
        done = 0
        started = time.process_time()
        with Orchestrator(datastore=datastore) as orchestrator:
            for result in orchestrator.iter_run(spec, trials=10**9):
                done += result.ticks
                if done >= ticks:
                    break
        return done / (time.process_time() - started)

    def recorded(spec: TrialSpec, commit_seconds: float) -> float:
        root = _tmp()
        try:
            return run(spec, HDF5Datastore(root, commit_seconds=commit_seconds))
        finally:
            shutil.rmtree(root)

    cases = [("random CartPole trials (about 22 ticks each)", random_spec, 0.7)]
    if not quick:
        cases.append(("expert CartPole trials (500 ticks each)", expert_spec, None))
    figures = []
    for label, spec, target in cases:
        base, strict = alternate(
            lambda spec=spec: run(spec, None), lambda spec=spec: recorded(spec, 0.0), rounds
        )
        again, grouped = alternate(
            lambda spec=spec: run(spec, None), lambda spec=spec: recorded(spec, 0.1), rounds
        )
        figures += [
            Figure(
                f"recording overhead: ticks per CPU second of {label} into an HDF5Datastore "
                "(default: each trial journaled as it ends)",
                "ticks/s",
                "the same trials, no datalog",
                median(base),
                median(strict),
                True,
                target=target,
                samples={"baseline": base, "cogym": strict},
            ),
            Figure(
                f"same, {label}, commit_seconds=0.1 (short trials journaled in groups)",
                "ticks/s",
                "the same trials, no datalog",
                median(again),
                median(grouped),
                True,
                note="information: a killed process may lose the short trials of its last 0.1 s",
                samples={"baseline": again, "cogym": grouped},
            ),
        ]
    return figures


# -- writing and reading against Minari --------------------------------------------------------


def _episodes(steps: int, base_seed: int) -> int:
    """Plan random CartPole episodes until ``steps`` steps; return how many."""
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(0)
    PLANS.clear()
    total = 0
    while total < steps:
        seed = base_seed + len(PLANS)
        env.reset(seed=seed)
        actions: list[int] = []
        done = False
        while not done:
            action = int(rng.integers(2))
            actions.append(action)
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
        PLANS[seed] = actions
        total += len(actions)
    return len(PLANS)


def _minari_collector() -> Callable[[str], Any] | None:
    try:
        import jax  # noqa: F401  (DataCollector needs it)
        import minari
    except ImportError:
        return None

    def collect(dataset_id: str) -> Any:
        env = minari.DataCollector(gym.make("CartPole-v1"))
        for seed, actions in PLANS.items():
            env.reset(seed=seed)
            for action in actions:
                env.step(action)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = env.create_dataset(dataset_id)
        env.close()
        return dataset

    return collect


def minari_comparison(quick: bool) -> list[Figure]:
    """Writing the same CartPole episodes with cogym and with Minari, then reading them back
    as training arrays (observations the policy acted on, and its actions)."""
    steps = 15_000 if quick else 1_000_000
    base_seed = 10_000
    episodes = _episodes(steps, base_seed)
    steps = sum(len(a) for a in PLANS.values())
    label = f"{steps / 1e6:.2f}M" if steps >= 1e6 else f"{steps // 1000}k"
    root = _tmp()
    minari_root = root / "minari"
    os.environ["MINARI_DATASETS_PATH"] = str(minari_root)
    spec = TrialSpec.from_dict(
        {
            **CARTPOLE,
            "actors": [{"name": "player", "implementation": "python:bench.datastore:Scripted"}],
            "seed": base_seed,
        }
    )
    figures = []
    try:
        store = root / "cogym"
        with Stopwatch() as ours, Orchestrator(datastore=HDF5Datastore(store)) as orchestrator:
            results = list(orchestrator.iter_run(spec, trials=episodes))
        assert sum(r.ticks for r in results) == steps
        collect = _minari_collector()
        if collect is None:
            return [
                Figure(
                    f"write throughput, {label} CartPole steps",
                    "steps/s",
                    "Minari DataCollector (not installed: pip install 'minari[create]')",
                    float("nan"),
                    steps / ours.seconds,
                    True,
                    note="Minari figures skipped",
                )
            ]
        with Stopwatch() as theirs:
            collect("cartpole/bench-v0")
        figures.append(
            Figure(
                f"write throughput, {label} CartPole steps ({episodes} episodes), trials included",
                "steps/s",
                "Minari DataCollector + create_dataset, same episodes",
                steps / theirs.seconds,
                steps / ours.seconds,
                True,
                target=5.0,
            )
        )
        import minari

        def read_minari() -> float:
            with Stopwatch() as watch:
                dataset = minari.load_dataset("cartpole/bench-v0")
                observations, actions = [], []
                for episode in dataset.iterate_episodes():
                    observations.append(episode.observations[:-1])
                    actions.append(episode.actions)
                np.concatenate(observations), np.concatenate(actions)
            return steps / watch.seconds

        def read_cogym() -> float:
            with Stopwatch() as watch:
                data = HDF5Datastore(store).arrays("player", ("observations", "actions"))
            assert data.rows == steps
            return steps / watch.seconds

        base, ours_read = alternate(read_minari, read_cogym, 1 if not quick else 2, warmup=False)
        figures.append(
            Figure(
                f"ds.arrays(...) over {label} recorded steps (a fresh HDF5Datastore each time)",
                "steps/s",
                "Minari load_dataset + iterate_episodes + concatenate",
                median(base),
                median(ours_read),
                True,
                target=10.0,
                samples={"baseline": base, "cogym": ours_read},
            )
        )
        ours_bytes = _size(store, ".h5") / steps
        figures.append(
            Figure(
                "bytes per CartPole step on disk (cogym, compression auto) against Minari",
                "B/step",
                "Minari dataset",
                _size(minari_root) / steps,
                ours_bytes,
                False,
                note="information",
            )
        )
        figures += _bytes_figures("CartPole", store, steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        os.environ.pop("MINARI_DATASETS_PATH", None)
    return figures


# -- bytes per step and compression ------------------------------------------------------------


def _rewrite(store: Path, compression: str, target: Path) -> tuple[float, int]:
    """Write the trials of ``store`` again as one shard with ``compression``: (seconds, bytes)."""
    from cogym.datastore.format.shard import open_shard, write_shard
    from cogym.datastore.read.catalog import load
    from cogym.datastore.write.builder import ShardBuilder

    builder = ShardBuilder()
    for shard in sorted(store.glob("*.h5")):
        with open_shard(shard) as tree:
            builder.add_tree(load(tree))
    tree = builder.tree()
    target.mkdir(parents=True, exist_ok=True)
    (target / "cogym-datastore.json").write_text((store / "cogym-datastore.json").read_text())
    with Stopwatch() as watch:
        write_shard(tree, target / "all.h5", compression=compression)
    return watch.seconds, (target / "all.h5").stat().st_size


def _bytes_figures(what: str, store: Path, steps: int) -> list[Figure]:
    figures = []
    sizes: dict[str, tuple[float, int, float]] = {}
    for compression in ("none", "lzf", "auto", "gzip"):
        target = store.parent / f"rewrite-{compression}"
        seconds, size = _rewrite(store, compression, target)
        with Stopwatch() as watch:
            HDF5Datastore(target).arrays("player", ("observations", "actions", "rewards"))
        sizes[compression] = (seconds, size, watch.seconds)
        shutil.rmtree(target)
    raw = sizes["none"][1] / steps
    figures.append(
        Figure(
            f"bytes per {what} step on disk, compression auto (chosen per dtype)",
            "B/step",
            "uncompressed (compression none)",
            raw,
            sizes["auto"][1] / steps,
            False,
            note="reported; lower is better",
        )
    )
    for compression in ("lzf", "gzip"):
        size = sizes[compression][1]
        figures.append(
            Figure(
                f"{what}: compression {compression} against auto: bytes",
                "B/step",
                "auto",
                sizes["auto"][1] / steps,
                size / steps,
                False,
                note="information (the choice of auto)",
            )
        )
        for label, index in (("shard write time", 0), ("arrays() read time", 2)):
            figures.append(
                Figure(
                    f"{what}: compression {compression} against auto: {label}",
                    "ms",
                    "auto",
                    1000 * sizes["auto"][index],
                    1000 * sizes[compression][index],
                    False,
                    note="information (the choice of auto)",
                )
            )
    return figures


def image_observations(quick: bool) -> list[Figure]:
    """Bytes per step of 64x64x3 image observations, compressed against raw."""
    steps = 3_000 if quick else 50_000
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "python:bench.datastore:shapes"},
            "actors": [{"name": "player"}],
            "seed": 0,
        }
    )
    root = _tmp()
    try:
        store = root / "images"
        done = 0
        with Orchestrator(datastore=HDF5Datastore(store)) as orchestrator:
            for result in orchestrator.iter_run(spec, trials=10**9):
                done += result.ticks
                if done >= steps:
                    break
        return _bytes_figures("64x64x3 image", store, done)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- layout: one file per trial or many trials per shard ---------------------------------------


def layout(quick: bool) -> list[Figure]:
    """The starting layout (a file per trial, a group per trial) against cogym's shards."""
    import h5py

    trials = 200 if quick else 3000
    root = _tmp()
    spec = TrialSpec.from_dict({**CARTPOLE, "seed": 0})
    try:
        store = root / "shards"
        with Orchestrator(datastore=HDF5Datastore(store)) as orchestrator:
            ids = [r.trial_id for r in orchestrator.run_many(spec, trials)]
        data = HDF5Datastore(store)
        stored = [data.trial(i) for i in ids]
        per_trial = root / "per-trial"
        per_trial.mkdir()
        with Stopwatch() as files_write:
            for trial in stored:
                arrays = trial.arrays("player")
                with h5py.File(per_trial / f"{trial.trial_id}.h5", "w") as f:
                    group = f.create_group(trial.trial_id)
                    group.create_dataset(
                        "observations",
                        data=arrays["observations"],
                        compression="gzip",
                        shuffle=True,
                    )
                    group.create_dataset(
                        "actions", data=arrays["actions"], compression="gzip", shuffle=True
                    )
                    group.attrs["state"] = trial.summary.state.value
                    group.attrs["returns"] = trial.summary.total_return
        rows = sum(t.summary.ticks for t in stored)
        with Stopwatch() as files_read:
            parts = []
            for path in sorted(per_trial.iterdir()):
                with h5py.File(path, "r") as f:
                    (group,) = f.values()
                    parts.append((group["observations"][()], group["actions"][()]))
            np.concatenate([p[0] for p in parts])
        seconds, _ = _rewrite(store, "auto", root / "rewritten")
        with Stopwatch() as shard_read:
            assert HDF5Datastore(root / "rewritten").arrays("player").rows == rows
        return [
            Figure(
                f"layout: write {trials} CartPole trials",
                "trials/s",
                "one HDF5 file per trial",
                trials / files_write.seconds,
                trials / seconds,
                True,
                note="information (the choice of shards)",
            ),
            Figure(
                f"layout: read {trials} trials as training arrays",
                "steps/s",
                "one HDF5 file per trial",
                rows / files_read.seconds,
                rows / shard_read.seconds,
                True,
                note="information (the choice of shards)",
            ),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- following: from a trial's end in another process to the follower ------------------------


def follow_writer(root: str, seed: str, trials: str, pause: str) -> None:
    """A writing process of :func:`follow_latency`: random CartPole trials, ``pause`` s apart."""
    spec = TrialSpec.from_dict({**CARTPOLE, "seed": int(seed)})
    with Orchestrator(datastore=HDF5Datastore(root)) as orchestrator:
        for _ in orchestrator.iter_run(spec, trials=int(trials)):
            time.sleep(float(pause))


def _latencies(root: Path, trials: int, writers: int, watch: Callable[..., Any]) -> list[float]:
    """Milliseconds from each trial's end (its writer's clock) until ``watch`` yields it, with
    ``writers`` processes recording ``trials`` trials each, 50 ms apart."""
    import subprocess
    import sys

    code = "import sys; from bench.datastore import follow_writer; follow_writer(*sys.argv[1:])"
    before = len(HDF5Datastore(root))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(root), str(1000 * (k + 1)), str(trials), "0.05"],
            cwd=Path(__file__).resolve().parents[1],
        )
        for k in range(writers)
    ]
    latencies = []
    try:
        for summary in watch(HDF5Datastore(root), timeout=120):
            latencies.append(1000 * (time.time() - summary.ended))
            if len(latencies) == before + trials * writers:
                break
    finally:
        for child in children:
            child.wait()
    return latencies[before:]


def _polling_trials(datastore: HDF5Datastore, timeout: float) -> Any:
    """The plain way to watch: ``trials()`` every 0.1 s, new ids told apart by a set."""
    seen: set[str] = set()
    quiet = time.monotonic()
    while time.monotonic() - quiet < timeout:
        for summary in datastore.trials():
            if summary.trial_id not in seen:
                seen.add(summary.trial_id)
                quiet = time.monotonic()
                yield summary
        time.sleep(0.1)


def follow_latency(quick: bool) -> list[Figure]:
    """``follow()`` latency, from a trial's end (the writer's end time in the trial) until the
    follower yields it, with 2 processes recording random CartPole trials (20 trials/s
    each), against ``trials()`` polled at the same interval (0.1 s)."""
    trials = 40 if quick else 200
    root = _tmp()
    try:
        with Orchestrator(datastore=HDF5Datastore(root)) as orchestrator:
            orchestrator.run(TrialSpec.from_dict({**CARTPOLE, "seed": 0}))
        followed = _latencies(root, trials, 2, HDF5Datastore.follow)
        polled = _latencies(root, trials, 2, _polling_trials)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    p50, p95 = (float(np.percentile(followed, q)) for q in (50, 95))
    base50, base95 = (float(np.percentile(polled, q)) for q in (50, 95))
    return [
        Figure(
            f"follow() latency p50, trial end in another process to yield, 2 writers, "
            f"{len(followed)} trials",
            "ms",
            "trials() polled every 0.1 s",
            base50,
            p50,
            False,
            note="information",
            samples={"baseline": polled, "cogym": followed},
        ),
        Figure(
            f"follow() latency p95, same trials (trials() polled: p95 {base95:.0f} ms)",
            "ms",
            "the bound, 1 s",
            1000.0,
            p95,
            False,
            target=1.0,
        ),
    ]


# -- checksums ---------------------------------------------------------------------------------


def checksums(quick: bool) -> list[Figure]:
    """What the Fletcher-32 checksum on every chunk of a shard costs: CartPole trials recorded
    per CPU second into a datastore, and ``arrays()`` rows per second read back, with
    :data:`cogym.datastore.format.shard.CHECKSUMS` off (the baseline) and on (cogym's default); both
    on CartPole and on 64x64x3 image observations for the read."""
    from cogym.datastore.format import shard

    trials = 300 if quick else 3000
    rounds = 3 if quick else 7
    spec = TrialSpec.from_dict({**CARTPOLE, "seed": 0})

    def record(on: bool) -> float:
        root = _tmp()
        shard.CHECKSUMS = on
        try:
            started = time.process_time()
            with Orchestrator(datastore=HDF5Datastore(root)) as orchestrator:
                orchestrator.run_many(spec, trials)
            return trials / (time.process_time() - started)
        finally:
            shard.CHECKSUMS = True
            shutil.rmtree(root)

    off, on = alternate(lambda: record(False), lambda: record(True), rounds)
    figures = [
        Figure(
            f"checksums: {trials} random CartPole trials recorded into a datastore",
            "trials/s",
            "shards without checksums",
            median(off),
            median(on),
            True,
            note="information (recording against no datalog is held to 0.7 above)",
            samples={"baseline": off, "cogym": on},
        )
    ]
    images = TrialSpec.from_dict(
        {
            "environment": {"implementation": "python:bench.datastore:shapes"},
            "actors": [{"name": "player", "implementation": "random"}],
            "max_ticks": 50,
            "seed": 0,
        }
    )
    for label, source_spec, count in (
        ("CartPole", spec, trials),
        ("64x64x3 images", images, 20 if quick else 100),
    ):
        root = _tmp()
        try:
            store = root / "store"
            with Orchestrator(datastore=HDF5Datastore(store)) as orchestrator:
                orchestrator.run_many(source_spec, count)
            for name, flag in (("off", False), ("on", True)):
                shard.CHECKSUMS = flag
                try:
                    _rewrite(store, "auto", root / name)
                finally:
                    shard.CHECKSUMS = True
            rows = HDF5Datastore(root / "on").arrays("player").rows

            def read(where: Path, rows: int) -> float:
                with Stopwatch() as watch:
                    HDF5Datastore(where).arrays("player")
                return rows / watch.seconds

            plain, checked = alternate(
                lambda where=root / "off", rows=rows: read(where, rows),
                lambda where=root / "on", rows=rows: read(where, rows),
                rounds,
            )
            figures.append(
                Figure(
                    f"checksums: arrays() of {count} trials of {label} ({rows} rows)",
                    "rows/s",
                    "shards without checksums",
                    median(plain),
                    median(checked),
                    True,
                    note="information",
                    samples={"baseline": plain, "cogym": checked},
                )
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return figures


BENCHMARKS = {
    "datastore_recording": recording,
    "datastore_checksums": checksums,
    "datastore_minari": minari_comparison,
    "datastore_images": image_observations,
    "datastore_layout": layout,
    "follow_latency": follow_latency,
}
