"""The ``cogym`` command line (``python -m cogym`` is the same).

Exit codes: 0 success, 2 bad input (the field or argument is named), 1 anything else.
One module per command group; each registers itself on :data:`main`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from cogym.errors import CogymError, InputError

BAD_INPUT = 2
FAILURE = 1

console = Console(stderr=False)
errors = Console(stderr=True)


def with_options(spec: Any, *, seed: int | None, max_ticks: int | None) -> Any:
    """``spec`` with the ``--seed`` and ``--max-ticks`` given on the command line, if any."""
    changes = {"seed": seed, "max_ticks": max_ticks}
    changes = {key: value for key, value in changes.items() if value is not None}
    return spec.replace(**changes) if changes else spec


def page_options(command: Any) -> Any:
    """``--host``, ``--port`` and ``--allow-remote``, for the commands that serve a page."""
    options = [
        click.option(
            "--host", default="127.0.0.1", show_default=True, help="Address the page is served on."
        ),
        click.option(
            "--port",
            default=0,
            show_default=True,
            type=click.IntRange(0, 65535),
            help="Port (0: any free one).",
        ),
        click.option(
            "--allow-remote", is_flag=True, help="Allow a --host other than the loopback address."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class _Group(click.Group):
    """Turns cogym's bad-input errors into exit code 2 and everything else into 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            errors.print("[red]error:[/red]", escape(str(exc)), highlight=False, soft_wrap=True)
            sys.exit(BAD_INPUT)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except CogymError as exc:
            errors.print("[red]error:[/red]", escape(str(exc)), highlight=False, soft_wrap=True)
            sys.exit(FAILURE)
        except OSError as exc:
            # a disk that is full or read-only, a file that vanished: a message, no traceback
            errors.print(
                "[red]error:[/red]",
                escape(f"a file could not be read or written: {exc}"),
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(FAILURE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cogym")
def main() -> None:
    """cogym: trials of humans and AI agents on Gymnasium, PettingZoo and Stable-Baselines3."""
    # python: implementations name modules of the current project
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())



from cogym.cli import bc as _bc_commands  # noqa: E402,F401  (registers bc)
from cogym.cli import compare as _compare_commands  # noqa: E402,F401  (registers compare)
from cogym.cli import dagger as _dagger_commands  # noqa: E402,F401  (registers dagger)
from cogym.cli import demo as _demo_commands  # noqa: E402,F401  (registers demo)
from cogym.cli import models as _models_commands  # noqa: E402,F401  (registers models)
from cogym.cli import play as _play_commands  # noqa: E402,F401  (registers play)
from cogym.cli import prefer as _prefer_commands  # noqa: E402,F401  (registers prefer)
from cogym.cli import reward as _reward_commands  # noqa: E402,F401  (registers reward)
from cogym.cli import rlhf as _rlhf_commands  # noqa: E402,F401  (registers rlhf)
from cogym.cli import run as _run_commands  # noqa: E402,F401  (registers run)
from cogym.cli import selfplay as _selfplay_commands  # noqa: E402,F401  (registers selfplay)
from cogym.cli import sync as _sync_commands  # noqa: E402,F401  (registers trials sync)
from cogym.cli import trials as _trials_commands  # noqa: E402,F401  (registers trials)
from cogym.cli import ui as _ui_commands  # noqa: E402,F401  (registers ui)

__all__ = ["main", "console", "errors", "BAD_INPUT", "FAILURE"]
