"""One error tree for everything a user can get wrong.

    MarlError
     ├── SpecError      the experiment spec: missing file, YAML syntax, unknown key, bad value
     ├── EnvError       unknown env id, bad env config
     ├── RunError       run dirs, checkpoints, resume
     ├── LeagueError    league settings and state
     └── ClusterError   cluster address, job submission, resources

The CLI catches ``MarlError`` in one place, prints its one-line message and exits 2.
"""

from __future__ import annotations

__all__ = ["MarlError", "SpecError", "EnvError", "RunError", "LeagueError", "ClusterError"]


class MarlError(Exception):
    """Base class: a problem the user can fix; the message names it and the fix."""


class SpecError(MarlError):
    """The experiment spec is missing, unparsable or invalid."""


class EnvError(MarlError):
    """An env id or env configuration is invalid."""


class RunError(MarlError):
    """A run directory or checkpoint is missing or unusable."""


class LeagueError(MarlError):
    """League settings or league state are invalid."""


class ClusterError(MarlError):
    """The cluster cannot be reached or cannot run the spec."""
