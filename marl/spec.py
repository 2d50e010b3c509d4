"""Experiment spec: pydantic models, YAML loading and ``--set a.b=c`` overrides.

A spec is validated completely on the laptop before anything starts: unknown keys are
rejected, types and ranges checked, and cross-field rules (minibatch <= batch, policies
that exist) enforced. Every problem becomes one ``SpecError`` line naming the field
and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      model_validator)

from marl.errors import SpecError
from marl.league.spec import LeagueSpec, check_league_env

if TYPE_CHECKING:
    from envs.registry import EnvEntry

__all__ = [
    "Spec",
    "EnvSpec",
    "InequityAversionSpec",
    "ProsocialSpec",
    "PoliciesSpec",
    "AlgorithmSpec",
    "CriticSpec",
    "ConstraintSpec",
    "ResourcesSpec",
    "StopSpec",
    "CheckpointSpec",
    "TrackingSpec",
    "load_spec",
    "env_entry",
    "check_env_fit",
    "read_spec_data",
    "env_preset",
    "preset_keys",
    "parse_overrides",
    "spec_schema",
    "dump_spec",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class InequityAversionSpec(_Model):
    """Inequity-averse rewards (Hughes et al. 2018); see ``envs.wrappers.shaping``."""

    kind: Literal["inequity_aversion"]
    """Shaping kind."""
    alpha: float = Field(5.0, ge=0)
    """Envy weight: penalty per unit of smoothed reward others have above this agent."""
    beta: float = Field(0.05, ge=0)
    """Guilt weight: penalty per unit of smoothed reward this agent has above others."""
    gamma: float = Field(0.99, ge=0, le=1)
    """Discount of the smoothed-reward trace."""
    lambda_: float = Field(0.95, ge=0, le=1, alias="lambda")
    """Smoothing of the trace; it decays by gamma * lambda per step."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, frozen=True, populate_by_name=True
    )


class ProsocialSpec(_Model):
    """Prosocial rewards: r_i' = (1 - weight) r_i + weight * mean_j r_j."""

    kind: Literal["prosocial"]
    """Shaping kind."""
    weight: float = Field(ge=0, le=1)
    """Weight of the group mean reward: 0 is selfish, 1 fully cooperative."""


ShapingSpec = Annotated[InequityAversionSpec | ProsocialSpec, Field(discriminator="kind")]


def _check_preprocess(value: Any) -> Any:
    """``env.preprocess`` checked before its type, so a malformed pipeline gets one line
    naming the step (``PreprocessError`` is a ValueError); builds no env."""
    from envs.wrappers.stacks import check_preprocess

    check_preprocess(value)
    return value


def _check_opening(value: Any) -> Any:
    """``env.random_opening``: plies per side, ``N`` or ``[min, max]``, each 0..10."""
    if isinstance(value, bool):
        raise ValueError("give plies per side: N or [min, max]")
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in value):
            raise ValueError(f"give plies per side as N or [min, max] of two ints, got {value}")
        lo, hi = value
        if not 0 <= lo <= hi <= 10 or hi == 0:
            raise ValueError(f"[min, max] needs 0 <= min <= max <= 10 and max >= 1, got {value}")
        return (lo, hi)
    if isinstance(value, int) and not 0 <= value <= 10:
        raise ValueError(f"plies per side must be 0..10, got {value}")
    return value


class EnvSpec(_Model):
    """The env: a registered ``id``, or your own PettingZoo env by ``entry_point``."""

    id: str | None = None
    """Registered env id, ``setting/name-vN`` (see ``marl envs list``). Give this or
    ``entry_point``."""
    entry_point: str | None = None
    """Your own env instead of a registry id: ``"package.module:constructor"``, a callable
    returning a PettingZoo AEC or parallel env (api, action masks and spaces are detected
    from the env). The module must be importable from the working directory or installed;
    ``marl submit`` ships a module from the working directory with the job."""
    setting: Literal["cooperative", "competitive", "mixed"] | None = None
    """With ``entry_point``: the env's setting (how it is scored and what a league needs)."""
    teams: dict[str, str] = Field(default_factory=dict)
    """With ``entry_point``: agent-id glob pattern -> team name (first match wins), e.g.
    ``{"red_*": red, "blue_*": blue}``; empty: every agent is its own team."""
    config: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the env constructor, merged over the registry's defaults."""
    preprocess: Annotated[str | list[dict[str, Any]], BeforeValidator(_check_preprocess)] = "none"
    """SuperSuit preprocessing: a named stack (``none``, ``pad``, ``frame_stack``,
    ``pad_frame_stack``) or a declared pipeline, a list of ``{wrapper: args}`` steps
    applied in order, e.g. ``[{color_reduction: {mode: B}}, {resize: {x_size: 84,
    y_size: 84}}, {frame_stack: 4}, {dtype: float32}, {normalize_obs: {}}]`` (wrappers and
    their arguments: ``envs.wrappers.pipeline``). Unset: the env's preset (pistonball's
    pixel pipeline), else ``none``."""
    random_opening: Annotated[int | tuple[int, int], BeforeValidator(_check_opening)] = 0
    """Turn-based games, training only: every training episode starts this many uniformly
    random legal plies per side in (played inside reset, never trained on), so self-play
    meets varied positions and cannot win by memorising one line. ``[min, max]``: each
    episode draws the number of plies per side uniformly from min..max, so the policy
    also learns the positions before ``max`` (``[0, 2]``: the empty board, 1 and 2 plies a
    side). Evaluation (``marl eval``, ``marl play``) starts from the game's own opening.
    0: off."""
    shaping: ShapingSpec | None = None
    """Reward shaping for parallel envs: ``{kind: inequity_aversion, alpha, beta, gamma,
    lambda}`` or ``{kind: prosocial, weight}``. Policies learn from the shaped reward;
    ``rollout/social/*`` metrics report the env's raw rewards."""

    @model_validator(mode="after")
    def _one_source(self) -> EnvSpec:
        if (self.id is None) == (self.entry_point is None):
            raise ValueError("give exactly one of env.id (a registered env, see `marl envs "
                             "list`) or env.entry_point (your own, \"module:constructor\")")
        if self.entry_point is not None:
            module, sep, attr = self.entry_point.partition(":")
            if not sep or not module or not attr or not all(
                    part.isidentifier() for part in [*module.split("."), *attr.split(".")]):
                raise ValueError(f"entry_point {self.entry_point!r} must read "
                                 f"\"package.module:constructor\", e.g. \"mygames.duel:env\"")
            if self.setting is None:
                raise ValueError("env.entry_point needs env.setting: cooperative, competitive "
                                 "or mixed")
        elif self.setting is not None or self.teams:
            raise ValueError("env.setting and env.teams describe an env.entry_point; a "
                             "registered env id has its own: remove them")
        return self

    @property
    def name(self) -> str:
        """The env's id: the registry id, or ``setting/module:constructor`` for your own."""
        return self.id if self.id is not None else f"{self.setting}/{self.entry_point}"


class ModelSpec(_Model):
    """The network of the trained policies: one actor-critic (``marl.rllib.modules.actor_critic``)."""

    encoder: Literal["mlp", "cnn"] = "mlp"
    """``mlp``: the observation flattened; ``cnn``: the observation kept as its board
    (envs that declare one, e.g. connect four's 6x7x2) or its image (H, W[, C]: pixel
    envs such as pistonball, after env.preprocess; a pipeline may ``reshape`` vectors to
    one) through ``conv`` layers. uint8 pixels are scaled to [0, 1]."""
    conv: list[list[int]] | None = None
    """cnn: ``[[channels, kernel], ...]``, each a same-padded Conv2d + ReLU, or
    ``[[channels, kernel, stride], ...]``, unpadded (Nature-CNN style); entries may mix.
    Unset: ``[[64, 3], [64, 3]]`` on a board, Nature-CNN ``[[32, 8, 4], [64, 4, 2],
    [64, 3, 1]]`` on an image."""
    features: Literal["none", "threats"] = "none"
    """cnn on a board whose env declares them (``marl envs list --json``; connect four):
    ``threats`` appends three planes computed from the board inside the network, with no
    learned weights: the empty cells where the player to move would complete four, those
    where the opponent would, and the playable cells (the lowest empty cell of each
    column). What a 1-ply search reads off the board (a win to take, a win to block, a
    move that lets the opponent win on the cell above) becomes input rather than
    something to discover (``marl.rllib.modules.board_features``)."""
    hidden: list[int] = Field(default_factory=lambda: [256, 256])
    """Hidden layer sizes of the actor and critic MLPs (after the conv layers for cnn)."""
    activation: Literal["tanh", "relu"] = "tanh"
    """Hidden-layer activation."""
    input_norm: Literal["none", "layernorm"] = "none"
    """``layernorm``: a LayerNorm on the actor's (and an own-observation critic's) input,
    as MAPPO (mlp only)."""
    share_encoder: bool = False
    """ppo / ippo: the critic is one value head on the actor's encoder and hidden layers
    (one network, as CleanRL's Atari PPO and AlphaZero; the value loss trains the shared
    layers too, weighted by ``algorithm.vf_loss_coeff``) instead of a network of its own
    (MAPPO's layout, the default). The learner then runs one network per row, not two.
    ``algorithm.critic.hidden`` does not apply; mappo's and coma's critics see other
    inputs and cannot share."""
    action_squash: Literal["clip", "tanh"] = "clip"
    """Box (continuous) actions, from a diagonal Gaussian with a learned state-independent
    log std: ``clip`` (CleanRL's and RLlib's default) samples the Gaussian in [-1, 1]
    units and the env runner maps the action linearly to the space's bounds and clips
    it there (log-probs and entropy of the unclipped sample); ``tanh`` squashes the
    sample with tanh first (log-probs with the tanh Jacobian). Ignored for discrete
    actions."""

    @model_validator(mode="after")
    def _positive(self) -> ModelSpec:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError("hidden must be a non-empty list of positive layer sizes, e.g. [256, 256]")
        if self.conv is not None and (not self.conv or any(
                len(c) not in (2, 3) or min(c) < 1 or (len(c) == 2 and c[1] % 2 == 0)
                for c in self.conv)):
            raise ValueError("conv must be a non-empty list of [channels, odd kernel] (same "
                             "padding) or [channels, kernel, stride] (no padding), e.g. "
                             "[[64, 3], [64, 3]] or [[32, 8, 4], [64, 4, 2], [64, 3, 1]]")
        if self.features != "none" and self.encoder != "cnn":
            raise ValueError(f"features: {self.features} are board planes for the cnn "
                             f"encoder; set encoder: cnn or remove features")
        if self.encoder == "cnn" and self.input_norm != "none":
            raise ValueError("input_norm is for the mlp encoder; remove it or use encoder: mlp")
        return self


class PoliciesSpec(_Model):
    mode: Literal["shared", "per_agent", "groups"] = "shared"
    """``shared``: one policy for all agents; ``per_agent``: one per agent id; ``groups``:
    agent-id glob pattern -> policy name (first match wins)."""
    groups: dict[str, str] = Field(default_factory=dict)
    """For ``mode: groups``: agent-id pattern (fnmatch) -> policy, e.g. ``{"adversary_*": predators}``."""
    frozen: dict[str, Literal["random"]] = Field(default_factory=dict)
    """Policies that never train and their kind, e.g. ``{opponent: random}`` (masked uniform random)."""
    train: list[str] | None = None
    """Policies that train; default: every policy that is not frozen."""
    model: ModelSpec = Field(default_factory=ModelSpec)
    """Network of the trained policies."""

    @model_validator(mode="after")
    def _groups(self) -> PoliciesSpec:
        if self.mode == "groups" and not self.groups:
            raise ValueError("mode 'groups' needs policies.groups: {agent_pattern: policy}")
        if self.mode != "groups" and self.groups:
            raise ValueError("policies.groups is only used with mode: groups")
        for name in [*self.groups.values(), *self.frozen]:
            _check_module_id(name)
        return self


def _check_module_id(name: str) -> None:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"policy name {name!r} may only hold letters, digits, '_' and '-'")


class CriticSpec(_Model):
    """The critic of ``ippo``/``mappo`` (see ``marl.algorithms``); unused by ``ppo``."""

    input: Literal["team_obs", "state"] = "team_obs"
    """mappo's critic input: ``team_obs`` concatenates the observations of the agent's team
    (its own first, then its teammates in env order); ``state`` is the env's global
    ``state()``. ippo: own obs always."""
    with_agent_id: bool = True
    """mappo: append the one-hot index of the agent within its team to the critic input."""
    value_normalization: bool = True
    """Fit the critic to value targets normalized by running statistics (MAPPO's ValueNorm)."""
    vf_loss: Literal["huber", "mse"] = "huber"
    """Value loss on the (normalized) error: ``huber`` (MAPPO default) or ``mse``."""
    huber_delta: float = Field(10.0, gt=0)
    """Huber loss delta: quadratic below, linear above."""
    value_clip: float | None = Field(0.2, gt=0)
    """Clip of the value change from the value at sampling time (PPO-style, as MAPPO);
    null disables. Replaces ``vf_clip_param`` for ippo/mappo."""
    hidden: list[int] | None = None
    """Critic MLP hidden sizes; default: ``policies.model.hidden``."""
    time_feature: bool = False
    """mappo on a parallel env with a time limit (``max_cycles``: MPE, SISL, butterfly):
    append the elapsed fraction of the episode, t / max_cycles, to the critic input, so
    the critic can tell the time-limit cut coming (Pardo et al. 2018, "Time Limits in
    Reinforcement Learning"). Without it, a bootstrapped value at truncation
    (``algorithm.bootstrap_truncated``) asks one critic for the value of both an early
    and a late step of the same state."""

    @model_validator(mode="after")
    def _hidden(self) -> CriticSpec:
        if self.hidden is not None and (not self.hidden or any(h < 1 for h in self.hidden)):
            raise ValueError("critic.hidden must be a non-empty list of positive sizes or null")
        return self


class ReinforceSpec(_Model):
    """The ``reinforce`` baseline (``marl.rllib.learners.reinforce``); unused otherwise."""

    baseline: bool = True
    """Subtract a learned value baseline b(s_t) (fitted by MSE to the Monte-Carlo returns,
    weight ``vf_loss_coeff``) from G_t; false: b = 0 (plain REINFORCE)."""


class DQNSpec(_Model):
    """The ``dqn`` baseline: RLlib's DQN (new API stack), one independent Q-network per
    policy, masked Q for masked envs (``marl.rllib.modules.q_module``); unused otherwise."""

    batch_size: int = Field(128, ge=1)
    """Transitions (agent steps) per policy per SGD step, sampled from the replay buffer."""
    replay_capacity: int = Field(50_000, ge=100)
    """Replay buffer size in env steps (all agents' transitions of those steps); oldest
    episodes dropped first."""
    learning_starts: int = Field(1000, ge=0)
    """Env steps sampled before the first SGD step."""
    target_update_every: int = Field(500, ge=1)
    """Env steps between copies of the Q-network into the target network."""
    epsilon_start: float = Field(1.0, ge=0, le=1)
    """Epsilon-greedy: probability of a uniform random legal action at the start."""
    epsilon_end: float = Field(0.05, ge=0, le=1)
    """Epsilon after ``epsilon_steps`` env steps (kept from then on)."""
    epsilon_steps: int = Field(10_000, ge=1)
    """Env steps (per env runner) over which epsilon falls linearly to epsilon_end."""
    double_q: bool = True
    """Double DQN target: the online network picks argmax_a Q(s', a), the target network
    values it; false: max_a of the target network."""
    dueling: bool = True
    """Dueling Q-network: Q(s, a) = V(s) + A(s, a) - mean_a A(s, a), value and advantage
    heads on one encoder; false: one linear Q head."""
    n_step: int = Field(3, ge=1, le=100)
    """n-step TD targets (1: one-step Q-learning). 3 (Rainbow's) carries rewards back three
    times as fast per target copy; the replay buffer skips the last n - 1 steps of an
    episode (no n-step transition starts there)."""
    training_intensity: float | None = Field(4.0, gt=0)
    """Replayed rows per policy per sampled env step (SGD steps of batch_size rows, as
    many as that takes per sample round); null: one SGD step per sample round (4 steps of
    every env of every runner)."""


class ConstraintSpec(_Model):
    """A cost budget (constrained MDP): Lagrangian PPO / MAPPO-Lagrangian, see
    ``marl.constraints`` and docs/constraints.md."""

    cost: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    """The cost's name: one the env reports as ``infos[agent]["cost_<name>"]`` or one
    ``envs.wrappers.costs`` computes for it (spread: ``collisions``; commons harvest:
    ``tagging``)."""
    limit: float = Field(ge=0)
    """Budget d on the mean per-agent episode cost (each agent's summed cost over an
    episode, averaged over the policy's agents and the iteration's episodes)."""
    lambda_lr: float = Field(0.05, ge=0)
    """Step size of the multiplier: lambda <- max(0, lambda + lambda_lr (J_c - limit)),
    once per training iteration."""
    lambda_init: float = Field(0.0, ge=0)
    """The multiplier before the first update."""
    advantage: Literal["center", "standardize"] = "center"
    """The cost advantage in the combined advantage: ``center`` (mean 0, as OpenAI's
    safety-starter-agents) or ``standardize`` (mean 0, std 1, as the reward advantage;
    OmniSafe's ``standardized_cost_adv``), so that lambda weighs the two in the same units
    whatever the cost's scale."""


class AlgorithmSpec(_Model):
    name: Literal["ppo", "ippo", "mappo", "coma", "reinforce", "dqn"] = "ppo"
    """Training algorithm: ``ppo`` (RLlib PPO), ``ippo`` (MAPPO learner, local critics),
    ``mappo`` (centralized critic per team), ``coma`` (mappo's critic as a counterfactual
    Q critic: cooperative parallel envs with discrete actions), or the textbook baselines ``reinforce``
    (Monte-Carlo policy gradient, one pass per batch) and ``dqn`` (independent DQN per
    policy; discrete actions, stock sampler, no league); see ``marl.algorithms``."""
    critic: CriticSpec = Field(default_factory=CriticSpec)
    """Critic input and value-loss settings of ippo/mappo."""
    constraints: list[ConstraintSpec] = Field(default_factory=list)
    """Cost budgets, e.g. ``[{cost: collisions, limit: 0.5}]``: each adds a cost critic
    and a Lagrange multiplier per trained policy (logged as
    ``train/<policy>/lambda_<cost>``, the cost as ``rollout/cost/<cost>``)."""
    reinforce: ReinforceSpec = Field(default_factory=ReinforceSpec)
    """reinforce only: the baseline. reinforce uses lr, gamma, entropy_coeff,
    vf_loss_coeff, grad_clip and train_batch_size (complete episodes); it makes exactly one
    pass over each batch (num_epochs 1, num_minibatches 1, lambda 1)."""
    dqn: DQNSpec = Field(default_factory=DQNSpec)
    """dqn only: replay, target network, exploration. dqn uses lr, gamma, grad_clip and
    train_batch_size (env steps per training iteration); the PPO fields do not apply."""
    lr: float = Field(3e-4, gt=0, le=1)
    """Adam learning rate."""
    gamma: float = Field(0.99, ge=0, le=1)
    """Discount factor."""
    lambda_: float = Field(0.95, ge=0, le=1, alias="lambda")
    """GAE lambda."""
    clip_param: float = Field(0.2, gt=0, le=1)
    """PPO ratio clip epsilon."""
    vf_clip_param: float = Field(10.0, gt=0)
    """ppo: clip of the squared value error (RLlib semantics); ippo/mappo use critic.value_clip."""
    vf_loss_coeff: float = Field(0.5, ge=0)
    """Weight of the value loss."""
    entropy_coeff: float = Field(0.01, ge=0)
    """Weight of the entropy bonus."""
    kl_coeff: float = Field(0.0, ge=0)
    """Initial weight of RLlib's adaptive KL(old || new) penalty; 0 (default, as CleanRL and
    MAPPO) disables it; > 0 turns it on, adapted towards a KL of 0.01."""
    grad_clip: float | None = Field(0.5, gt=0)
    """Global gradient-norm clip; null disables."""
    train_batch_size: int = Field(2000, ge=16)
    """Env steps per training iteration (per learner). Each env step gives one row per
    agent that acted in it: 2,000 env steps of spread (3 agents) are 6,000 rows."""
    minibatch_size: int = Field(256, ge=8)
    """Rows (agent steps) per SGD minibatch of the module with the most rows; every other
    module is cut into as many minibatches (the value-bootstrap row RLlib appends to each
    episode chunk is not a row: it leaves the batch after GAE). Unused when
    num_minibatches is set."""
    num_minibatches: int | None = Field(None, ge=1, le=1024)
    """SGD minibatches per module per epoch (CleanRL's and MAPPO's unit): each module's
    rows are split into this many; 1 is MAPPO's MPE setting. Overrides minibatch_size."""
    num_epochs: int = Field(5, ge=1, le=100)
    """Passes over the batch per iteration: every module makes exactly this many passes
    over its own rows, whatever its row count."""
    lr_schedule: Literal["constant", "linear"] = "constant"
    """``linear``: the learning rate falls linearly from lr to 0 over the run's stop
    budget: stop.env_steps when set (exact, per update); otherwise stop.time_s or
    stop.iterations, whichever runs out first (the driver sets the fraction spent before
    each iteration; time counts this process, as the stop criterion does, so a resumed
    run's clock starts again). dqn: stop.env_steps only."""
    entropy_schedule: Literal["constant", "linear"] = "constant"
    """``linear``: entropy_coeff falls linearly to 0 over the stop budget, as lr_schedule
    (ppo, ippo, mappo, coma, reinforce)."""
    symmetry_augmentation: bool = False
    """Add each training row's mirror image (the env's declared symmetry, e.g. connect
    four's left-right mirror) to the batch: twice the rows per update, same env steps."""
    bootstrap_truncated: bool = True
    """A time limit is not a terminal state: GAE bootstraps V(s_T) from the final
    observation of a truncated episode (false: treat it as terminal, as RLlib does)."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, frozen=True, populate_by_name=True
    )

    @model_validator(mode="before")
    @classmethod
    def _one_pass(cls, data: Any) -> Any:
        """reinforce: one epoch, one minibatch, lambda 1 unless the spec says otherwise
        (the after-validator then names the contradiction)."""
        if isinstance(data, dict) and data.get("name") == "reinforce":
            lam = {} if "lambda_" in data else {"lambda": 1.0}
            data = {"num_epochs": 1, "num_minibatches": 1, **lam, **data}
        return data

    @model_validator(mode="after")
    def _minibatch(self) -> AlgorithmSpec:
        if (self.minibatch_size > self.train_batch_size and self.num_minibatches is None
                and self.name != "dqn"):  # dqn's SGD batch is dqn.batch_size
            raise ValueError(
                f"minibatch_size ({self.minibatch_size}) must be <= train_batch_size "
                f"({self.train_batch_size})"
            )
        if self.name == "ppo" and self.critic != CriticSpec():
            raise ValueError("algorithm.critic is used by ippo/mappo only: set name: mappo "
                             "(or ippo), or remove algorithm.critic")
        if self.name != "reinforce" and self.reinforce != ReinforceSpec():
            raise ValueError("algorithm.reinforce is used by name: reinforce only; remove it")
        if self.name != "dqn" and self.dqn != DQNSpec():
            raise ValueError("algorithm.dqn is used by name: dqn only; remove it")
        if self.name in ("reinforce", "dqn") and self.critic != CriticSpec():
            raise ValueError(f"algorithm.critic is used by ippo/mappo only, not {self.name}; "
                             f"remove algorithm.critic")
        if self.name == "reinforce" and (self.num_epochs, self.num_minibatches,
                                         self.lambda_) != (1, 1, 1.0):
            raise ValueError("reinforce makes one pass over the whole batch with Monte-Carlo "
                             "returns: remove num_epochs, num_minibatches and lambda (or set "
                             "them to 1)")
        if self.name == "dqn" and self.dqn.epsilon_end > self.dqn.epsilon_start:
            raise ValueError("dqn.epsilon_end must be <= dqn.epsilon_start")
        costs = [c.cost for c in self.constraints]
        if len(set(costs)) != len(costs):
            raise ValueError(f"algorithm.constraints: cost names repeat ({costs}); give each "
                             f"cost one constraint")
        if self.constraints and self.name not in ("ppo", "ippo", "mappo"):
            raise ValueError(f"algorithm.constraints run with ppo, ippo or mappo (Lagrangian "
                             f"PPO / MAPPO-L), not {self.name}; change algorithm.name or "
                             f"remove the constraints")
        if self.constraints and self.symmetry_augmentation:
            raise ValueError("algorithm.constraints: symmetry_augmentation does not mirror "
                             "cost critics; set symmetry_augmentation: false")
        if self.name == "ippo" and self.critic.input == "state":
            raise ValueError("critic.input: state is a centralized critic: use name: mappo "
                             "(ippo critics see each agent's own observation)")
        return self


class ResourcesSpec(_Model):
    num_env_runners: int = Field(2, ge=0, le=1024)
    """Remote env-runner actors; 0 samples in the driver process."""
    num_envs_per_env_runner: int | None = Field(None, ge=1, le=1024)
    """Vectorized envs per runner; default: the env's registry default."""
    num_cpus_per_env_runner: float = Field(0.5, gt=0, le=64)
    """CPUs reserved per env runner (fractions let 2 runners share a core with the learner)."""
    num_learners: int = Field(0, ge=0, le=64)
    """Remote learners; 0 learns in the driver process."""
    num_gpus_per_learner: float = Field(0, ge=0, le=8)
    """GPUs per learner."""
    num_cpus: int | None = Field(None, ge=1)
    """CPUs for the embedded local Ray; default: all cores."""
    custom_resources_per_env_runner: dict[str, float] = Field(default_factory=dict)
    """Custom Ray resources per env runner, to pin runners to node types, e.g.
    ``{env_node: 1}`` with nodes started by ``ray start --resources='{"env_node": 4}'``."""
    custom_resources_per_learner: dict[str, float] = Field(default_factory=dict)
    """Custom Ray resources per learner (``num_learners >= 1``), e.g. ``{learner_node: 1}``."""
    sampler: Literal["auto", "stock", "lean"] = "auto"
    """Env runner: ``lean`` (one batched forward per policy per step, episodes built once
    per batch; 2-3x the stock speed, see ``marl/rllib/sampling/runner.py``), ``stock``
    (RLlib's MultiAgentEnvRunner), or ``auto``: lean unless the run needs what only the
    stock runner has (per-step episode callbacks, custom connectors, recurrent modules).
    ``dqn`` always runs on the stock runner (``auto`` picks it; ``lean`` is refused)."""
    overlap: bool = False
    """Lean sampler: sample the next batch while the learner updates (the batch is at
    most one update behind); needs num_env_runners >= 1; the driver's learner then uses
    one torch thread."""

    @model_validator(mode="after")
    def _overlap(self) -> ResourcesSpec:
        if self.overlap and self.sampler == "stock":
            raise ValueError("overlap needs the lean sampler (set resources.sampler: lean)")
        if self.overlap and self.num_env_runners < 1:
            raise ValueError("overlap samples in a remote env runner: set "
                             "resources.num_env_runners >= 1")
        return self


class StopSpec(_Model):
    iterations: int | None = Field(None, ge=1)
    """Stop after this many training iterations in total."""
    env_steps: int | None = Field(None, ge=1)
    """Stop after this many env steps in total."""
    time_s: float | None = Field(None, gt=0)
    """Stop after this much wall time in this process (seconds)."""

    @model_validator(mode="after")
    def _some(self) -> StopSpec:
        if self.iterations is None and self.env_steps is None and self.time_s is None:
            raise ValueError("set at least one of stop.iterations, stop.env_steps, stop.time_s")
        return self


class CheckpointSpec(_Model):
    every: int = Field(10, ge=1)
    """Checkpoint every N iterations (and always at the end)."""
    keep: int = Field(3, ge=1)
    """Checkpoints kept on disk (oldest removed first)."""


class WandbSpec(_Model):
    mode: Literal["offline", "online", "disabled"] = "offline"
    """``offline`` writes runs to disk (``wandb sync`` uploads later); ``online`` needs
    WANDB_API_KEY in the environment and falls back to offline without it."""
    project: str = "marl"
    """W&B project."""
    entity: str | None = None
    """W&B entity (team); default: the key's user."""
    group: str | None = None
    """W&B group of the run (``marl sweep`` puts every trial of a sweep in one group,
    named after the sweep); None: no group."""


class TrackingSpec(_Model):
    wandb: WandbSpec = Field(default_factory=WandbSpec)
    """Weights & Biases logging."""
    tensorboard: bool = True
    """Write TensorBoard event files to ``<run>/tb``."""


class EvalSpec(_Model):
    episodes: int = Field(20, ge=1)
    """Episodes per pairing when evaluating at the end of training."""
    at_end: bool = True
    """Evaluate and print the results table when training ends."""
    progress_every: int = Field(10, ge=0)
    """Two-sided games without a league: every N iterations play ``progress_games`` games a
    seat of the current policies (sampled) against uniform random and log
    ``eval/win_rate_vs_random`` (shown in the progress line); 0 disables."""
    progress_games: int = Field(10, ge=1, le=1000)
    """Games per seat of that probe."""
    exploitability_every: int = Field(0, ge=0)
    """Two-player zero-sum OpenSpiel games (``competitive/kuhn_poker-v0``,
    ``competitive/leduc_poker-v0``): every N iterations the exact NashConv of the current
    policies by OpenSpiel's own code, logged as ``eval/exploitability`` and
    ``eval/nash_conv`` (leagues: ``league/...``; the main learner's policy); 0 disables."""


class Spec(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    """Experiment name; run ids are ``<name>-<time>-<random>``."""
    seed: int = Field(0, ge=0)
    """Seed for envs, networks and sampling."""
    env: EnvSpec
    """The environment."""
    policies: PoliciesSpec = Field(default_factory=PoliciesSpec)
    """Which agent plays with which policy, and which policies train."""
    algorithm: AlgorithmSpec = Field(default_factory=AlgorithmSpec)
    """Algorithm and its hyperparameters."""
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    """Env runners, learners and their CPUs/GPUs."""
    stop: StopSpec = Field(default_factory=lambda: StopSpec(iterations=10))
    """When training stops."""
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    """Checkpoint frequency and retention."""
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    """W&B, TensorBoard."""
    evaluation: EvalSpec = Field(default_factory=EvalSpec)
    """End-of-training evaluation."""
    storage: str = "runs"
    """Where run directories are created: a local path, or a cloud URI (``s3://bucket/marl``,
    ``gs://...``; runs are staged locally and uploaded at each checkpoint, see
    ``marl/storage.py``). ``marl submit`` needs an absolute path on the head or a URI."""
    league: LeagueSpec | None = None
    """Self-play league (optional): when set, policies come from the league (main agents,
    exploiters, frozen snapshots, random, scripted) and ``policies`` is not used."""

    @model_validator(mode="after")
    def _policies_train(self) -> Spec:
        p = self.policies
        if p.train is not None:
            frozen = set(p.train) & set(p.frozen)
            if frozen:
                raise ValueError(f"policies {sorted(frozen)} are frozen and cannot be in policies.train")
        if (self.algorithm.name == "dqn" and self.algorithm.lr_schedule == "linear"
                and self.stop.env_steps is None):
            raise ValueError("algorithm.lr_schedule: linear anneals dqn over stop.env_steps: "
                             "set stop.env_steps, or use lr_schedule: constant")
        if self.algorithm.name == "dqn":
            if self.resources.sampler == "lean" or self.resources.overlap:
                raise ValueError("algorithm.name: dqn runs on RLlib's stock env runner: set "
                                 "resources.sampler: stock (or auto) and overlap: false")
            if self.algorithm.symmetry_augmentation:
                raise ValueError("algorithm.symmetry_augmentation: not with dqn (replayed "
                                 "transitions are not mirrored); set it to false")
        if self.policies.model.share_encoder and self.algorithm.name in ("mappo", "coma", "dqn"):
            raise ValueError(f"policies.model.share_encoder: {self.algorithm.name}'s critic "
                             f"does not see the actor's input; remove share_encoder, or use "
                             f"algorithm.name: ppo or ippo")
        if self.league is not None and self.algorithm.name != "ppo":
            raise ValueError(f"algorithm.name: {self.algorithm.name} does not run with a league "
                             f"yet; use name: ppo, or remove league")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain data (aliases such as ``lambda`` restored)."""
        return self.model_dump(mode="json", by_alias=True)


def _format_validation_error(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"]) or "spec"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        return f"unknown key '{loc}': remove it or check its spelling (see `marl spec schema`)"
    if first["type"] == "missing":
        return f"missing required key '{loc}': add it to the spec"
    return f"invalid value for '{loc}': {msg}"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse ``a.b=c`` overrides into a nested dict; values are parsed as YAML scalars.

    Raises:
        SpecError: on an override without ``=`` or with an empty key.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"bad override {pair!r}: write it as key.path=value, e.g. stop.iterations=5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SpecError(f"bad override {pair!r}: '{part}' is set twice as a value and a section")
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def env_preset(data: dict[str, Any]) -> dict[str, Any]:
    """The registry's tuned settings for the spec's env (``EnvEntry.preset``), less what
    the spec sets itself; ``{}`` for an unknown id or an env without a preset.

    A spec that sets ``algorithm.minibatch_size`` (and not ``num_minibatches``) keeps its
    minibatch size: the preset's ``num_minibatches`` would silently override it. A model
    is one unit: a spec that sets ``policies.model`` gets none of the preset's (its
    ``hidden`` widths would otherwise land on the preset's encoder), as a spec's
    ``env.preprocess`` replaces the preset's whole.
    """
    from envs.registry import check_env_id

    env = data.get("env")
    env_id = env.get("id") if isinstance(env, dict) else None
    if not isinstance(env_id, str):
        return {}  # validation names the missing or bad env.id
    try:
        entry = check_env_id(env_id)
    except KeyError:
        return {}
    if not entry.preset:
        return {}
    preset = {k: dict(v) if isinstance(v, dict) else v for k, v in entry.preset.items()}
    policies = data.get("policies")
    if isinstance(policies, dict) and policies.get("model") is not None:
        preset.get("policies", {}).pop("model", None)
    given = data.get("algorithm")
    algorithm: dict[str, Any] = given if isinstance(given, dict) else {}
    if "minibatch_size" in algorithm and "num_minibatches" not in algorithm:
        preset.get("algorithm", {}).pop("num_minibatches", None)
    if algorithm.get("name") in ("reinforce", "dqn"):
        # The presets tune PPO's epochs and minibatches: not the baselines' settings.
        for key in ("num_epochs", "num_minibatches", "minibatch_size", "lambda",
                    "clip_param", "vf_clip_param", "kl_coeff"):
            preset.get("algorithm", {}).pop(key, None)
    if algorithm.get("name") == "dqn":  # dqn anneals over stop.env_steps only
        preset.get("algorithm", {}).pop("lr_schedule", None)
    return preset


def preset_keys(data: dict[str, Any]) -> list[str]:
    """Dotted keys whose value comes from the env's preset (not set by the spec)."""
    out = []

    def walk(preset: dict[str, Any], given: Any, prefix: str) -> None:
        for key, value in preset.items():
            mine = given.get(key) if isinstance(given, dict) else None
            if isinstance(value, dict):
                walk(value, mine if isinstance(mine, dict) else {}, f"{prefix}{key}.")
            elif not (isinstance(given, dict) and key in given):
                out.append(f"{prefix}{key}")

    walk(env_preset(data), data, "")
    return out


def env_entry(env: EnvSpec) -> EnvEntry:
    """The registry entry of the spec's env: a registered id's, or a user's entry point's
    (``envs.registry.custom_entry``; its api and masks are detected when it is built).

    Raises:
        KeyError: an unknown env id, with the closest registered ids.
    """
    from envs.registry import check_env_id, custom_entry  # cheap; imports no env

    if env.entry_point is not None:
        return custom_entry(env.name, env.entry_point, dict(env.teams))
    assert env.id is not None  # EnvSpec allows exactly one of id / entry_point
    return check_env_id(env.id)


def _image_obs(spec: Spec, entry: EnvEntry) -> bool:
    """The env's observations are an image after env.preprocess: the registry says
    ``observations: image`` and no step flattens them, or a step reshapes them to 2 or 3
    dimensions (``envs.wrappers.pipeline.keeps_image``). Whether the shapes fit is seen
    when the env is built."""
    from envs.wrappers.pipeline import keeps_image

    image = entry.observations == "image"
    preprocess = spec.env.preprocess
    return image if isinstance(preprocess, str) else keeps_image(preprocess, image)


def check_env_fit(spec: Spec, entry: EnvEntry) -> None:
    """The spec's settings that need something of the env (a symmetry, a board, an api,
    two seats for a league).

    Raises:
        ValueError: one line naming the field and the fix.
    """
    name = spec.env.name
    if spec.algorithm.name == "dqn" and entry.actions != "discrete":
        raise ValueError(f"algorithm.name: dqn needs discrete actions; {name} has "
                         f"{entry.actions} actions: use ppo, ippo, mappo or reinforce")
    if spec.algorithm.symmetry_augmentation and entry.symmetry is None:
        raise ValueError(f"algorithm.symmetry_augmentation: {name} declares no symmetry; "
                         f"set it to false")
    if spec.algorithm.symmetry_augmentation and spec.algorithm.name in ("mappo", "coma"):
        raise ValueError(f"algorithm.symmetry_augmentation: {spec.algorithm.name}'s central "
                         f"critic input has no mirror; use ppo or ippo, or set it to false")
    if spec.algorithm.name == "coma":
        from marl.algorithms import coma_problem

        problem = coma_problem(entry)
        if problem:
            raise ValueError(problem)
    if spec.policies.model.encoder == "cnn" and entry.board is None and not _image_obs(spec, entry):
        raise ValueError(f"policies.model.encoder: cnn needs a board or an image; {name} "
                         f"observes vectors after env.preprocess (flatten makes vectors, "
                         f"reshape to [H, W, C] an image): use encoder: mlp")
    if spec.env.shaping is not None and entry.api != "parallel":
        raise ValueError(f"env.shaping: {name} is turn-based (aec); reward shaping needs a "
                         f"parallel env (simultaneous moves): remove env.shaping or pick a "
                         f"parallel env")
    if spec.evaluation.exploitability_every and (
            entry.entry_point != "envs.openspiel:env" or entry.setting != "competitive"):
        raise ValueError(f"evaluation.exploitability_every: {name} is not a two-player "
                         f"zero-sum OpenSpiel game (kuhn_poker-v0, leduc_poker-v0); set it to 0")
    if spec.algorithm.constraints:
        from envs.wrappers.costs import check_costs

        if spec.league is not None:
            raise ValueError("algorithm.constraints do not run with a league yet; remove "
                             "league or the constraints")
        try:
            check_costs(name, entry.entry_point, [c.cost for c in spec.algorithm.constraints],
                        entry.custom)
        except ValueError as err:
            raise ValueError(f"algorithm.constraints: {err}") from None
    if spec.league is not None:
        check_league_env(spec.league, entry)


def spec_from_dict(data: Any, source: str = "spec", presets: bool = True) -> Spec:
    """Validate plain data as a Spec, raising a one-line ``SpecError``.

    Values come from, lowest first: the field defaults, the env's preset in the registry
    (``env_preset``; not with ``presets=False``: a run's saved spec, which holds every
    value it trained with, and whose missing keys are fields newer than the run, not
    what a newer preset says), the spec itself.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{source}: the spec must be a YAML mapping (key: value), got {type(data).__name__}")
    if presets:
        data = _merge(env_preset(data), data)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        raise SpecError(f"{source}: {_format_validation_error(err)}") from None
    try:
        entry = env_entry(spec.env)
    except KeyError as err:
        raise SpecError(f"{source}: env.id: {err.args[0]}") from None
    # env.preprocess (a named stack or a declared pipeline) is checked on its field.
    if not entry.custom:  # a user's env is checked once built (marl.experiment.resolve)
        try:
            check_env_fit(spec, entry)
        except ValueError as err:
            raise SpecError(f"{source}: {err}") from None
    return spec


def read_spec_data(path: str | Path, overrides: list[str] | None = None) -> Any:
    """The spec file's YAML as plain data, ``--set`` overrides applied (not validated).

    Raises:
        SpecError: a missing file, YAML syntax error or text that is not UTF-8.
    """
    path = Path(path)
    if path.is_dir():
        raise SpecError(f"{path} is a directory, not a spec file; pass a YAML file, e.g. "
                        f"experiments/quickstart.yaml")
    if not path.is_file():
        raise SpecError(f"spec file not found: {path} (check the path; examples are in experiments/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not UTF-8 text; save the spec as UTF-8 YAML") from None
    except OSError as err:
        raise SpecError(f"{path}: cannot be read ({err.strerror}); check its permissions") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "syntax error"
        raise SpecError(f"{path}: YAML syntax error{where}: {problem}; fix the YAML") from None
    if data is None:
        data = {}
    if overrides and isinstance(data, dict):
        data = _merge(data, parse_overrides(overrides))
    return data


def load_spec(path: str | Path, overrides: list[str] | None = None,
              presets: bool = True) -> Spec:
    """Load, override and validate a YAML experiment spec.

    Args:
        path: the YAML file.
        overrides: ``a.b=c`` strings applied on top of the file.
        presets: apply the env's preset under it (``spec_from_dict``); False for a
            run's saved spec.

    Raises:
        SpecError: with one line naming the problem and the fix.
    """
    return spec_from_dict(read_spec_data(path, overrides), source=str(Path(path)),
                          presets=presets)


def dump_spec(spec: Spec, path: Path) -> None:
    """Write the resolved spec as YAML (holds no secrets: keys come from the environment)."""
    path.write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False))


def spec_schema() -> str:
    """The JSON schema of the spec, for editors (e.g. yaml-language-server)."""
    return json.dumps(Spec.model_json_schema(by_alias=True), indent=2)
