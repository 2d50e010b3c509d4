"""Your own PettingZoo envs in ``marl``: by entry point in a spec, or registered by id.

In a spec (no code)::

    env:
      entry_point: mygames.duel:env      # module:callable returning an AEC or parallel env
      setting: competitive               # cooperative | competitive | mixed
      config: {board_size: 5}            # constructor kwargs
      teams: {}                          # optional: agent pattern -> team

From Python, under a versioned id that specs may then name (``env.id``)::

    import marl.envs
    marl.envs.register("competitive/duel-v0", "mygames.duel:env", defaults={"board_size": 5})

Either way ``marl`` detects the api (AEC or parallel), action masks
(``{"observation", "action_mask"}`` observations) and spaces from the env itself, and
runs PettingZoo's api test on a few hundred steps before anything trains
(``envs.conformance``). Env runners build the env from its entry point, so the module
must import on every node: from the working directory (``marl submit`` ships a module
that lives there with the job) or as an installed package. docs/custom_envs.md has a
worked example.
"""

from __future__ import annotations

from envs.registry import EnvEntry, env_ids, register

__all__ = ["EnvEntry", "env_ids", "register"]
