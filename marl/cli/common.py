"""What every ``marl`` command shares: user errors as one line and exit code 2, headless
defaults, the ``--set`` option."""

from __future__ import annotations

import functools
import os
from typing import Annotated, Any

import typer

from marl.errors import MarlError

__all__ = ["SetOpt", "defaults_for_headless", "user_errors"]

SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a spec value: --set stop.iterations=5 (repeatable)."),
]


def user_errors(fn: Any) -> Any:
    """Turn ``MarlError`` into one line on stderr and exit code 2, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MarlError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def defaults_for_headless() -> None:
    """W&B offline, no display, no Ray usage stats, unless the user set them."""
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
