"""Agent -> policy mapping for fixed (non-league) runs: stateless and picklable."""

from __future__ import annotations

from fnmatch import fnmatchcase

__all__ = ["AgentToPolicy"]


class AgentToPolicy:
    """Maps agent ids to policy ids by ordered glob patterns (first match wins).

    A small class, not a closure: it is pickled to every env runner and into every
    episode shipped to the learners.
    """

    def __init__(self, rules: tuple[tuple[str, str], ...]):
        self.rules = tuple(rules)

    def __call__(self, agent_id: str, episode=None, **kwargs) -> str:
        for pattern, policy in self.rules:
            if fnmatchcase(agent_id, pattern):
                return policy
        raise KeyError(f"no policy for agent {agent_id!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgentToPolicy) and other.rules == self.rules

    def __hash__(self) -> int:
        return hash(self.rules)
