"""ippo/mappo in the spec: keys, defaults, cross-field rules, env checks (no Ray)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from envs.registry import check_env_id
from marl.algorithms import ALGORITHMS, plan_critics
from marl.cli.main import app
from marl.errors import SpecError
from marl.experiment import resolve
from marl.policies import plan_policies
from marl.spec import spec_from_dict

TAG_GROUPS = {"mode": "groups", "groups": {"adversary_*": "predators", "agent_*": "prey"}}
TAG_AGENTS = ["adversary_0", "adversary_1", "adversary_2", "agent_0"]


def _spec(env_id: str = "cooperative/spread-v0", policies: dict | None = None, **algorithm):
    return spec_from_dict({"name": "t", "env": {"id": env_id}, "algorithm": algorithm,
                           **({"policies": policies} if policies else {})})


def _critics(spec, agents):
    return plan_critics(spec.algorithm, check_env_id(spec.env.id), agents,
                        plan_policies(spec.policies, agents))


def test_mappo_defaults_follow_the_paper() -> None:
    critic = _spec(name="mappo").algorithm.critic
    assert (critic.input, critic.with_agent_id, critic.value_normalization, critic.vf_loss,
            critic.huber_delta, critic.value_clip) == ("team_obs", True, True, "huber", 10.0, 0.2)
    assert {"ppo", "ippo", "mappo", "coma"} <= set(ALGORITHMS)
    assert ALGORITHMS["mappo"].centralized_critic and not ALGORITHMS["ippo"].centralized_critic


@pytest.mark.parametrize("algorithm, needle", [
    ({"name": "ppo", "critic": {"vf_loss": "mse"}}, "used by ippo/mappo only"),
    ({"name": "ippo", "critic": {"input": "state"}}, "use name: mappo"),
    ({"name": "mappo", "critic": {"input": "obs"}}, "algorithm.critic.input"),
    ({"name": "mappo", "critic": {"huber_delta": 0}}, "algorithm.critic.huber_delta"),
    ({"name": "mappo", "critic": {"hidden": []}}, "critic.hidden"),
    ({"name": "a2c"}, "algorithm.name"),
])
def test_bad_critic_settings_name_the_field(algorithm: dict, needle: str) -> None:
    with pytest.raises(SpecError, match=needle.replace(".", r"\.")):
        _spec(**algorithm)


def test_env_without_teams_is_one_team_of_all_agents() -> None:
    spec = _spec(name="mappo")
    agents = ["agent_0", "agent_1", "agent_2"]
    layout = _critics(spec, agents)
    assert layout.teams == {"team": tuple(agents)} and layout.team_of_policy == {"shared": "team"}
    assert layout.input == "team_obs" and layout.centralized


def test_tag_teams_give_each_group_policy_its_own_critic() -> None:
    spec = _spec("competitive/tag-v0", TAG_GROUPS, name="mappo")
    layout = _critics(spec, TAG_AGENTS)
    assert layout.teams == {"predators": tuple(TAG_AGENTS[:3]), "prey": ("agent_0",)}
    assert layout.team_of_policy == {"predators": "predators", "prey": "prey"}


def test_mappo_policy_across_teams_is_rejected() -> None:
    spec = _spec("competitive/tag-v0", {"mode": "shared"}, name="mappo")
    with pytest.raises(SpecError, match="teams predators and prey"):
        _critics(spec, TAG_AGENTS)
    ippo = _spec("competitive/tag-v0", {"mode": "shared"}, name="ippo")  # local critics: fine
    layout = _critics(ippo, TAG_AGENTS)
    assert layout.input == "own_obs"


def test_state_input_needs_an_env_with_state() -> None:
    exp = resolve(_spec(name="mappo", critic={"input": "state"}))
    assert exp.critic.input == "state"
    assert exp.env_config["critic"]["input"] == "state"  # what env runners build from
    with pytest.raises(SpecError, match="provides no global state"):
        resolve(_spec("competitive/connect_four-v0", name="mappo", critic={"input": "state"}))
    assert resolve(_spec(name="ppo")).critic is None


def test_cli_rejects_state_critic_on_stateless_env_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "c4.yaml"
    path.write_text(yaml.safe_dump({
        "name": "c4", "env": {"id": "competitive/connect_four-v0"},
        "storage": str(tmp_path / "runs"),
        "algorithm": {"name": "mappo", "critic": {"input": "state"}}}))
    runner = CliRunner()
    for args in (["spec", "validate", str(path)], ["train", str(path)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "critic.input" in result.output and "team_obs" in result.output
    assert not (tmp_path / "runs").exists()  # nothing started


def test_algorithm_layer_imports_no_ray() -> None:
    code = ("import sys, marl.algorithms, marl.spec; "
            "sys.exit(any(m == 'ray' or m.startswith('ray.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_league_runs_ppo_only_for_now() -> None:
    with pytest.raises(SpecError, match="does not run with a league"):
        spec_from_dict({"name": "t", "env": {"id": "competitive/connect_four-v0"},
                        "league": {}, "algorithm": {"name": "mappo"}})


def test_example_specs_validate() -> None:
    for name in ("mappo_spread", "mappo_tag"):
        path = Path(__file__).resolve().parents[2] / "experiments" / f"{name}.yaml"
        spec = spec_from_dict(yaml.safe_load(path.read_text()), source=str(path))
        assert spec.algorithm.name == "mappo"
        assert resolve(spec).critic.centralized


def test_benchmark_trains_exactly_the_example_spec() -> None:
    """docs/benchmarks.md quotes benchmarks/coop_spread.py as experiments/mappo_spread.yaml."""
    import importlib.util

    from marl.spec import load_spec

    root = Path(__file__).resolve().parents[2]
    loader = importlib.util.spec_from_file_location(
        "coop_spread", root / "benchmarks" / "coop_spread.py")
    bench = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(bench)
    example = load_spec(root / "experiments" / "mappo_spread.yaml").to_dict()
    for algorithm in ("ippo", "mappo", "coma"):
        built = bench.spec_for(algorithm, 0, 150_000).to_dict()
        expected = {**example["algorithm"], "name": algorithm}
        assert built["algorithm"] == expected
        for key in ("env", "policies", "stop", "seed"):
            assert built[key] == example[key], key
        assert {k: v for k, v in built["resources"].items() if k != "num_cpus"} == \
            {k: v for k, v in example["resources"].items() if k != "num_cpus"}
