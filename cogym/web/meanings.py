"""What the actions of an environment mean, for the buttons of the page.

Atari games say it themselves (ALE's ``env.unwrapped.get_action_meanings()``); the classic
Gymnasium environments are listed here. An actor's ``action_labels`` config overrides both.

    >>> action_meanings("gym:CartPole-v1")
    ['push left', 'push right']
"""

from __future__ import annotations

__all__ = ["CLASSIC", "action_meanings"]

CLASSIC: dict[str, list[str]] = {
    "CartPole": ["push left", "push right"],
    "MountainCar": ["push left", "no push", "push right"],
    "Acrobot": ["torque −1", "no torque", "torque +1"],
    "LunarLander": ["do nothing", "left engine", "main engine", "right engine"],
    "FrozenLake": ["left", "down", "right", "up"],
    "CliffWalking": ["up", "right", "down", "left"],
    "Taxi": ["south", "north", "east", "west", "pick up", "drop off"],
    "Blackjack": ["stick", "hit"],
}
"""The Discrete actions of Gymnasium's classic environments (by id without ``-vN``), in order."""


def action_meanings(implementation: str) -> list[str] | None:
    """The names of the Discrete actions of environment ``implementation`` (``gym:<id>`` or a
    bare id), or ``None`` when nothing says what they mean.

    A classic environment is looked up in :data:`CLASSIC`; an Atari game
    (``ale_py:ALE/Pong-v5``) is made once, without rendering, to ask it.
    """
    if implementation.startswith(("python:", "pettingzoo:")):
        return None
    env_id = implementation.removeprefix("gym:")  # <id> or <module>:<id>
    name = env_id.rpartition(":")[2]
    base = name.split("/")[-1].rsplit("-v", 1)[0]
    if base in CLASSIC and "/" not in name:
        return list(CLASSIC[base])
    if not name.startswith("ALE/"):
        return None
    import gymnasium

    env = gymnasium.make(env_id)
    try:
        meanings = getattr(env.unwrapped, "get_action_meanings", None)
        return [str(m).replace("_", " ").lower() for m in meanings()] if meanings else None
    finally:
        env.close()
