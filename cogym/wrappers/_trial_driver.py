"""What the two trial adapters share: reading a spec, seeding episodes, owning the orchestrator."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogym.actors import EXTERNAL
from cogym.environment import ActorClass
from cogym.errors import SpecError
from cogym.orchestrator import Orchestrator
from cogym.spec import TrialSpec
from cogym.trial import Trial
from cogym.trial.playing import check_renders_frames

_SEED_LIMIT = 1 << 63


def coerce_spec(spec: TrialSpec | Mapping[str, Any] | str | Path) -> TrialSpec:
    """Accept a spec, a dict, or the path of a YAML file."""
    if isinstance(spec, TrialSpec):
        return spec
    if isinstance(spec, (str, Path)):
        return TrialSpec.from_yaml(spec)
    return TrialSpec.from_dict(spec)


class TrialDriver:
    """Starts one trial per episode of an adapter and hands out the external actors' view."""

    def __init__(
        self,
        spec: TrialSpec | Mapping[str, Any] | str | Path,
        orchestrator: Orchestrator | None,
        datastore: Any,
        registry: Any,
        adapter: str,
    ) -> None:
        self.spec = coerce_spec(spec)
        self.externals = [a.name for a in self.spec.actors if a.implementation == EXTERNAL]
        if not self.externals:
            raise SpecError(
                [
                    (
                        "actors",
                        f"{adapter} needs at least one actor with 'implementation: external' "
                        "(the agents that the training library drives)",
                    )
                ]
            )
        self.owns_orchestrator = orchestrator is None
        self.orchestrator = orchestrator or Orchestrator(datastore=datastore, registry=registry)
        self.orchestrator.check(self.spec)
        self.environment_metadata: dict[str, Any] = {}
        self.classes: dict[str, ActorClass] = self._actor_classes()
        self.trial: Trial | None = None
        self.episodes = 0
        base = self.spec.seed if self.spec.seed is not None else secrets.randbits(31)
        self._next_seed = base

    def _actor_classes(self) -> dict[str, ActorClass]:
        environment = self.orchestrator.directory.make_environment(
            self.spec.environment.implementation, self.spec.environment.config
        )
        try:
            self.environment_metadata = dict(getattr(environment, "metadata", None) or {})
            classes = environment.bind(self.spec.actors)
            recorded = self.orchestrator.datastore is not None or self.spec.datastore is not None
            check_renders_frames(self.spec, environment, recorded)
            return classes
        finally:
            environment.close()

    def start(self, seed: int | None, options: dict[str, Any] | None = None) -> Trial:
        """End the running trial (as terminated) and start the next one (``options`` go to
        the environment's reset)."""
        self.stop("reset before the trial ended")
        if seed is None:
            seed = self._next_seed
        self._next_seed = (int(seed) + 1) % _SEED_LIMIT
        self.trial = self.orchestrator.start(
            self.spec, seed=int(seed), index=self.episodes, options=options
        )
        self.episodes += 1
        return self.trial

    def stop(self, reason: str) -> None:
        if self.trial is not None and not self.trial.done:
            self.trial.terminate(reason)
        self.trial = None

    def __getstate__(self) -> dict[str, Any]:
        """Copies (SuperSuit and SB3 copy envs into worker processes) start without a trial."""
        state = dict(self.__dict__)
        state["trial"] = None
        return state

    def render(self) -> Any:
        if self.trial is None:
            return None
        return self.trial.environment.render()

    def close(self) -> None:
        self.stop("adapter closed")
        if self.owns_orchestrator:
            self.orchestrator.close()
