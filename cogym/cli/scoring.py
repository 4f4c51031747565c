"""``cogym trials ls --score reward:<model>@<ref>``: each trial's return under a learnt reward."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from cogym.cli import errors

__all__ = ["learnt_scores"]


def learnt_scores(
    datastore: Any, shown: list[Any], score: str, actor: str | None, registry_root: str | None
) -> dict[str, float]:
    """Each shown trial's return under the learnt reward ``score`` (``reward:<model>@<ref>``)."""
    from cogym.errors import ArgumentError, SpaceMismatchError, suggest
    from cogym.learn.reward_model import learnt_returns, load_reward_model

    scheme, sep, reference = score.partition(":")
    if scheme != "reward" or not sep or not reference:
        raise ArgumentError(f"--score {score!r}: give a learnt reward as reward:<model>@<ref>")
    if registry_root is None:
        raise ArgumentError(f"--score {score}: give the registry that holds it with --registry")
    model = load_reward_model(registry_root, reference)
    given = actor is not None
    actor = actor or model.lineage.get("actor") or "player"
    groups: dict[str, list[str]] = {}
    for s in shown:
        if actor in s.actor_classes:
            groups.setdefault(s.environment, []).append(s.trial_id)
    if shown and not groups:
        present = list(dict.fromkeys(n for s in shown for n in s.actor_classes))
        if given:
            raise ArgumentError(
                f"--score-actor {actor!r}: no trial shown has an actor of that name."
                f"{suggest(actor, present)} Their actors: {', '.join(present)}"
            )
        raise ArgumentError(
            f"--score {score}: reward model {model.ref} was learnt on actor {actor!r}, which no "
            f"trial shown has (their actors: {', '.join(present)}); say which to score with "
            "--score-actor NAME"
        )
    scored: dict[str, float] = {}
    refused: list[SpaceMismatchError] = []
    for environment, ids in groups.items():
        try:
            scored.update(learnt_returns(model, datastore, actor, ids))
        except SpaceMismatchError as exc:
            refused.append(exc)
            errors.print(f"[yellow]warning:[/yellow] trials of {escape(environment)} not scored "
                         f"(-): {escape(str(exc))}", highlight=False, soft_wrap=True)  # fmt: skip
    if refused and not scored:
        raise refused[0]
    return scored
