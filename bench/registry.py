"""Benchmarks of the model registry: loading, resolving ``@latest``, concurrent saving."""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Figure, Stopwatch, alternate, median
from cogym.registry import ModelRegistry


def _tiny_ppo(seed: int = 0) -> Any:
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    return PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, seed=seed, device="cpu")


def registry_load(quick: bool) -> list[Figure]:
    """Milliseconds to load the latest version of a small PPO model, against ``PPO.load(path)``."""
    import warnings

    from stable_baselines3 import PPO

    warnings.filterwarnings("ignore", message="Stable-Baselines3 model files hold pickled")
    loads = 20 if quick else 100
    rounds = 3 if quick else 7
    root = Path(tempfile.mkdtemp(prefix="cogym-bench-registry-"))
    try:
        model = _tiny_ppo()
        registry = ModelRegistry(root / "models")
        for _ in range(10):
            info = registry.save("cartpole-ppo", model)
        plain = root / "cartpole-ppo.zip"
        model.save(plain)

        def baseline() -> float:
            with Stopwatch() as watch:
                for _ in range(loads):
                    PPO.load(plain, device="cpu")
            return watch.seconds / loads * 1000

        def cogym() -> float:
            with Stopwatch() as watch:
                for _ in range(loads):
                    registry.load("cartpole-ppo")
            return watch.seconds / loads * 1000

        base, ours = alternate(baseline, cogym, rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        Figure(
            f"registry.load('cartpole-ppo') (latest of 10), PPO CartPole, {info.size:,} bytes",
            "ms",
            "PPO.load(path) of the same file",
            median(base),
            median(ours),
            False,
            target=1.25,
            note="cogym adds: listing, meta.json, sha256 of the bytes, space check",
            samples={"baseline": base, "cogym": ours},
        )
    ]


class _CountingStorage:
    """Wraps a registry's storage and counts the calls that touch files."""

    def __init__(self, storage: Any) -> None:
        self.inner = storage
        self.counts = {"read": 0, "exists": 0, "list": 0}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in self.counts:
            return method

        def counted(*args: Any) -> Any:
            self.counts[name] += 1
            return method(*args)

        return counted


def registry_latest(quick: bool) -> list[Figure]:
    """Resolving ``@latest`` among 1,000 versions (300 with ``quick``), against reading every
    meta.json."""
    versions = 300 if quick else 1000
    rounds = 3 if quick else 7
    repeats = 50 if quick else 200
    root = Path(tempfile.mkdtemp(prefix="cogym-bench-registry-"))
    try:
        model = _tiny_ppo()
        registry = ModelRegistry(root / "models")
        with Stopwatch() as filling:
            for _ in range(versions):
                registry.save("cartpole-ppo", model)
        model_dir = root / "models" / "cartpole-ppo"

        def read_every_meta() -> float:
            with Stopwatch() as watch:
                best = max(
                    json.loads((p / "meta.json").read_text())["version"]
                    for p in model_dir.iterdir()
                    if p.name.isdigit()
                )
            assert best == versions
            return watch.seconds * 1000

        def resolve() -> float:
            with Stopwatch() as watch:
                for _ in range(repeats):
                    exact = registry.resolve("cartpole-ppo@latest")
            assert exact.version == versions
            return watch.seconds / repeats * 1000

        base, ours = alternate(read_every_meta, resolve, rounds)
        counting = _CountingStorage(registry._storage)
        registry._storage = counting
        registry.resolve("cartpole-ppo@latest")
        resolved = dict(counting.counts)
        registry.info("cartpole-ppo@latest")
        info_reads = counting.counts["read"] - resolved["read"]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        Figure(
            f"resolve('cartpole-ppo@latest') among {versions:,} versions: "
            f"{resolved['read']} files read, {resolved['list']} listing, "
            f"{resolved['exists']} existence check",
            "ms",
            f"reading all {versions:,} meta.json files",
            median(base),
            median(ours),
            False,
            target=0.05,
            note=(
                f"per resolve: {resolved['read']} files read, {resolved['list']} listing, "
                f"{resolved['exists']} existence check(s); info() reads {info_reads} file; "
                f"saving the {versions:,} versions took {filling.seconds:.1f} s"
            ),
            samples={"baseline": base, "cogym": ours},
        )
    ]


def _save_many(root: str, writer: int, count: int, barrier: Any, times: Any) -> None:
    model = _tiny_ppo(seed=writer)
    registry = ModelRegistry(root)
    barrier.wait()
    started = time.time()
    for i in range(count):
        registry.save("shared", model, properties={"writer": writer, "sequence": i})
    times.put((writer, started, time.time()))


def registry_concurrent_save(quick: bool) -> list[Figure]:
    """Versions/s saving 100 versions from 4 processes at once, against 1 process; none lost."""
    total, writers = 100, 4
    root = Path(tempfile.mkdtemp(prefix="cogym-bench-registry-"))
    try:
        model = _tiny_ppo()
        single = ModelRegistry(root / "single")
        with Stopwatch() as watch:
            for i in range(total):
                single.save("shared", model, properties={"writer": 0, "sequence": i})
        baseline = total / watch.seconds

        methods = mp.get_all_start_methods()
        context = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if context.get_start_method() == "forkserver":
            context.set_forkserver_preload(["stable_baselines3", "bench.registry"])
        barrier, times = context.Barrier(writers), context.Queue()
        shared = str(root / "shared")
        processes = [
            context.Process(target=_save_many, args=(shared, w, total // writers, barrier, times))
            for w in range(writers)
        ]
        for process in processes:
            process.start()
        spans = [times.get(timeout=300) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        if any(p.exitcode != 0 for p in processes):
            raise RuntimeError(f"a writer failed: exit codes {[p.exitcode for p in processes]}")
        ours = total / (max(end for _, _, end in spans) - min(start for _, start, _ in spans))

        registry = ModelRegistry(shared)
        versions = registry.versions("shared")
        labels = set()
        for number in versions:
            info = registry.info("shared", number)
            registry.read_model(info)  # size and sha256 as recorded
            labels.add((info.properties["writer"], info.properties["sequence"]))
        expected = {(w, i) for w in range(writers) for i in range(total // writers)}
        lost = len(expected - labels)
        if lost or versions != list(range(1, total + 1)):
            raise RuntimeError(
                f"versions were lost or mis-numbered: {lost} lost, numbers {versions[:5]}..."
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        Figure(
            f"saving {total} versions of one model from {writers} processes at once: "
            f"{len(versions)} published, {lost} lost",
            "versions/s",
            f"one process saving {total} versions",
            baseline,
            ours,
            True,
            note=f"numbered 1-{total}, every checksum as recorded",
        )
    ]


BENCHMARKS = {
    "registry_load": registry_load,
    "registry_latest": registry_latest,
    "registry_save": registry_concurrent_save,
}
