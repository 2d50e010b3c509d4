"""A quick conformance check of a user's PettingZoo env, before anything trains on it.

``conformance_error(make)`` runs PettingZoo's own ``api_test`` (AEC) or
``parallel_api_test`` (parallel) for a few hundred random steps on a fresh env and
returns ``None`` when it passes, else one line naming what failed and where::

    PettingZoo's parallel api test failed: KeyError: 'agent_2' in observation_space
    (mygames/duel.py:41); every agent in possible_agents needs its spaces

so a broken env fails in seconds on the laptop, not mid-run on a cluster. The test's own
output (``Starting API test``, warnings) is swallowed; only the verdict is returned.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import traceback
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["conformance_error"]

_PETTINGZOO_TEST = "/pettingzoo/test/"


def _where(err: BaseException) -> str:
    """The failing line: the deepest frame outside PettingZoo's test code if the env raised,
    else the assertion in the test (its source text, since most have no message)."""
    frames = traceback.extract_tb(err.__traceback__)
    user = [f for f in frames
            if "/pettingzoo/" not in f.filename and not f.filename.endswith("conformance.py")]
    if user and not isinstance(err, AssertionError):
        f = user[-1]
        return f"in {f.name} ({_short(f.filename)}:{f.lineno})"
    tests = [f for f in frames if _PETTINGZOO_TEST in f.filename]
    if tests:
        f = tests[-1]
        line = (f.line or linecache.getline(f.filename, f.lineno or 0)).strip()
        return f"at `{line}` ({_short(f.filename)}:{f.lineno})"
    return ""


def _short(path: str) -> str:
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1]
    return "/".join(path.split("/")[-2:])


def conformance_error(make: Callable[[], Any], api: str, num_cycles: int = 200) -> str | None:
    """Run PettingZoo's api test on ``make()``; ``None`` if it passes, else one line.

    Args:
        make: builds a fresh env (the test mutates it, e.g. ``max_cycles``).
        api: ``aec`` or ``parallel``.
        num_cycles: env steps (AEC: agent turns) the random play test runs.
    """
    from pettingzoo.test import api_test, parallel_api_test

    test = api_test if api == "aec" else parallel_api_test
    env = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            env = make()
            test(env, num_cycles=num_cycles)
    except Exception as err:  # a user's env can fail in any way: report it, one line
        what = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        what = " ".join(what.split())[:300]
        return f"PettingZoo's {api} api test failed: {what} {_where(err)}".rstrip()
    finally:
        if env is not None:
            with contextlib.suppress(Exception):
                env.close()
    return None
