"""Benchmarks of the core: the tick loop, the PettingZoo adapter, SB3 training, local workers."""

from __future__ import annotations

import functools

import gymnasium as gym

from bench.harness import Figure, Stopwatch, alternate, median
from cogym import Orchestrator, TrialSpec


def trial_ticks(quick: bool) -> list[Figure]:
    """Ticks/s of CartPole trials with a random actor against a plain step loop."""
    ticks = 25_000 if quick else 200_000
    rounds = 3 if quick else 7
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.action_space.seed(0)
    step, sample, reset = env.step, env.action_space.sample, env.reset

    def plain() -> float:
        with Stopwatch() as watch:
            for _ in range(ticks):
                _, _, terminated, truncated, _ = step(sample())
                if terminated or truncated:
                    reset()
        return ticks / watch.seconds

    episode = [0]

    def plain_seeded() -> float:
        with Stopwatch() as watch:
            for _ in range(ticks):
                _, _, terminated, truncated, _ = step(sample())
                if terminated or truncated:
                    episode[0] += 1
                    reset(seed=episode[0])
        return ticks / watch.seconds

    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 0,
        }
    )
    orchestrator = Orchestrator()

    def trials() -> float:
        done = 0
        with Stopwatch() as watch:
            for result in orchestrator.iter_run(spec, trials=10**9):
                done += result.ticks
                if done >= ticks:
                    break
        return done / watch.seconds

    base, ours = alternate(plain, trials, rounds)
    seeded, ours_again = alternate(plain_seeded, trials, rounds)
    orchestrator.close()
    return [
        Figure(
            "trial ticks/s, CartPole, random actor, no datalog",
            "ticks/s",
            "plain env.step(env.action_space.sample()) loop",
            median(base),
            median(ours),
            True,
            target=0.8,
            samples={"baseline": base, "cogym": ours},
        ),
        Figure(
            "same, against a loop that seeds every episode as trials do",
            "ticks/s",
            "plain loop with reset(seed=episode)",
            median(seeded),
            median(ours_again),
            True,
            note="information: the share of the gap that per-episode seeding explains",
            samples={"baseline": seeded, "cogym": ours_again},
        ),
    ]


def _drive_parallel(env, steps: int, seed: int) -> float:  # noqa: ANN001
    """Steps/s of a PettingZoo parallel env under random actions, resetting when empty."""
    env.reset(seed=seed)
    spaces = {a: env.action_space(a) for a in env.possible_agents}
    for i, space in enumerate(spaces.values()):
        space.seed(seed + i)
    done = 0
    with Stopwatch() as watch:
        while done < steps:
            env.step({a: spaces[a].sample() for a in env.agents})
            done += 1
            if not env.agents:
                env.reset()
    return done / watch.seconds


def _all_external(implementation: str, agents: list[str], config: dict) -> TrialSpec:
    return TrialSpec.from_dict(
        {
            "environment": {"implementation": implementation, "config": config},
            "actors": [{"name": a, "implementation": "external"} for a in agents],
            "seed": 0,
        }
    )


def parallel_env_steps(quick: bool) -> list[Figure]:
    """Steps/s of TrialParallelEnv around PettingZoo parallel envs against the raw envs."""
    from cogym.envs.rendezvous_v0 import parallel_env
    from cogym.wrappers import TrialParallelEnv

    rounds = 3 if quick else 7
    figures = []
    try:
        from mpe2 import simple_spread_v3
    except ImportError:
        simple_spread_v3 = None
    if simple_spread_v3 is not None:
        steps = 1_000 if quick else 5_000
        config = {"max_cycles": 100}
        raw = simple_spread_v3.parallel_env(**config)
        wrapped = TrialParallelEnv(
            _all_external(
                "pettingzoo:mpe2.simple_spread_v3:parallel_env", raw.possible_agents, config
            )
        )
        base, ours = alternate(
            lambda: _drive_parallel(raw, steps, 0),
            lambda: _drive_parallel(wrapped, steps, 0),
            rounds,
        )
        wrapped.close()
        figures.append(
            Figure(
                "TrialParallelEnv steps/s around a PettingZoo parallel env "
                "(MPE simple_spread_v3, 3 agents)",
                "steps/s",
                "the raw parallel env",
                median(base),
                median(ours),
                True,
                target=0.9,
                samples={"baseline": base, "cogym": ours},
            )
        )
    steps = 10_000 if quick else 100_000
    config = {"walkers": 3, "size": 9, "max_cycles": 200}
    raw = parallel_env(**config)
    wrapped = TrialParallelEnv(
        _all_external(
            "pettingzoo:cogym.envs.rendezvous_v0:parallel_env", raw.possible_agents, config
        )
    )
    base, ours = alternate(
        lambda: _drive_parallel(raw, steps, 0), lambda: _drive_parallel(wrapped, steps, 0), rounds
    )
    wrapped.close()
    figures.append(
        Figure(
            "same around a very cheap env (cogym's rendezvous_v0, 3 agents)",
            "steps/s",
            "the raw parallel env",
            median(base),
            median(ours),
            True,
            note="information: the adapter's fixed cost per step, where the env costs little",
            samples={"baseline": base, "cogym": ours},
        )
    )
    return figures


def ppo_training(quick: bool) -> list[Figure]:
    """Wall time of SB3 PPO on CartPole through TrialGymEnv against the raw env."""
    import torch
    from stable_baselines3 import PPO

    from cogym.wrappers import TrialGymEnv

    torch.set_num_threads(1)
    steps = 2_048 if quick else 20_480
    rounds = 1 if quick else 3
    spec = TrialSpec.from_dict(
        {
            "environment": {"implementation": "gym:CartPole-v1"},
            "actors": [{"name": "player", "implementation": "external"}],
            "seed": 0,
        }
    )

    def train(env) -> float:  # noqa: ANN001
        model = PPO("MlpPolicy", env, seed=0, n_steps=1024, batch_size=64, verbose=0, device="cpu")
        with Stopwatch() as watch:
            model.learn(steps)
        return watch.seconds

    base, ours = alternate(
        lambda: train(gym.make("CartPole-v1")),
        lambda: train(TrialGymEnv(spec)),
        rounds,
        warmup=False,
    )
    return [
        Figure(
            f"SB3 PPO, {steps} steps of CartPole through TrialGymEnv",
            "s",
            "PPO on the raw env",
            median(base),
            median(ours),
            False,
            target=1.1,
            samples={"baseline": base, "cogym": ours},
        )
    ]


def local_workers(quick: bool) -> list[Figure]:
    """Trials/s with two local worker processes against one, on an env whose step costs 1 ms."""
    trials = 100 if quick else 240
    spec = TrialSpec.from_dict(
        {
            "environment": {
                "implementation": "gym:cogym/Probe-v0",
                "config": {"episode_length": 50, "step_seconds": 0.001},
            },
            "actors": [{"name": "player", "implementation": "random"}],
            "seed": 0,
        }
    )

    def run(workers: int) -> float:
        with Orchestrator() as orchestrator, Stopwatch() as watch:
            results = orchestrator.run_many(spec, trials, workers=workers)
        assert len(results) == trials
        return trials / watch.seconds

    base, ours = alternate(lambda: run(1), lambda: run(2), 1 if quick else 3, warmup=False)
    return [
        Figure(
            "cogym run --workers 2, trials/s, env step about 1 ms (pool start-up included)",
            "trials/s",
            "--workers 1",
            median(base),
            median(ours),
            True,
            target=1.8,
            samples={"baseline": base, "cogym": ours},
        )
    ]


def _trials_per_second(orchestrator: Orchestrator, spec: TrialSpec, trials: int) -> float:
    with Stopwatch() as watch:
        orchestrator.run_many(spec, trials)
    return trials / watch.seconds


def rebuild_per_trial(quick: bool) -> list[Figure]:
    """Trials/s with ``environment: {rebuild: per_trial}`` against the default (one env, reset)."""
    trials = 20 if quick else 100
    rounds = 3 if quick else 5
    figures = []
    for env_id in ("CartPole-v1", "LunarLander-v3"):
        never, per_trial = (
            TrialSpec.from_dict(
                {
                    "environment": {"implementation": f"gym:{env_id}", "rebuild": rebuild},
                    "actors": [{"name": "player", "implementation": "random"}],
                    "seed": 0,
                    "max_ticks": 200,
                }
            )
            for rebuild in ("never", "per_trial")
        )
        with Orchestrator() as orchestrator:
            base, ours = alternate(
                functools.partial(_trials_per_second, orchestrator, never, trials),
                functools.partial(_trials_per_second, orchestrator, per_trial, trials),
                rounds,
            )
        figures.append(
            Figure(
                f"trials/s with rebuild: per_trial, {env_id}, random actor, 200 ticks at most",
                "trials/s",
                "rebuild: never (one env, reset for every trial)",
                median(base),
                median(ours),
                True,
                note="information: the price of a fresh environment for every trial",
                samples={"baseline": base, "cogym": ours},
            )
        )
    return figures


def deadlines(quick: bool) -> list[Figure]:
    """Ticks/s of CartPole trials whose deadlines are guarded against the same without."""
    ticks = 25_000 if quick else 200_000
    rounds = 3 if quick else 7
    plain = {
        "environment": {"implementation": "gym:CartPole-v1"},
        "actors": [{"name": "player", "implementation": "random"}],
        "seed": 0,
    }
    cases = [
        ("max_seconds: 3600", {**plain, "max_seconds": 3600}),
        (
            "response_timeout: 60 (optional, default_action 0)",
            {**plain, "actors": [{**plain["actors"][0], "response_timeout": 60,
                                  "optional": True, "default_action": 0}]},
        ),
    ]  # fmt: skip
    figures = []
    with Orchestrator() as orchestrator:

        def run(spec: TrialSpec) -> float:
            done = 0
            with Stopwatch() as watch:
                for result in orchestrator.iter_run(spec, trials=10**9):
                    done += result.ticks
                    if done >= ticks:
                        break
            return done / watch.seconds

        unguarded = TrialSpec.from_dict(plain)
        for label, data in cases:
            base, ours = alternate(
                functools.partial(run, unguarded),
                functools.partial(run, TrialSpec.from_dict(data)),
                rounds,
            )
            figures.append(
                Figure(
                    f"trial ticks/s, CartPole, random actor, with {label}",
                    "ticks/s",
                    "the same trials without deadlines",
                    median(base),
                    median(ours),
                    True,
                    note="information: the price of deadlines that hold while user code blocks",
                    samples={"baseline": base, "cogym": ours},
                )
            )
    return figures


BENCHMARKS = {
    "trial_ticks": trial_ticks,
    "deadlines": deadlines,
    "rebuild": rebuild_per_trial,
    "parallel_env": parallel_env_steps,
    "ppo": ppo_training,
    "workers": local_workers,
}
