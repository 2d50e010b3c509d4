"""The repo's ``cluster.yaml`` against Ray's own cluster-config validation and our rules.

Ray's ``prepare_config`` + ``validate_config`` (what ``ray up`` runs before it launches
anything: schema, node types, head type) plus what Ray cannot know: the dashboard stays
on loopback, only SSH is open, the project is synced and installed, no secrets.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _ray_validate(config: dict) -> dict:
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def test_cluster_yaml_passes_rays_validation(config: dict) -> None:
    prepared = _ray_validate(config)
    types = prepared["available_node_types"]
    assert prepared["head_node_type"] == "head" and set(types) == {"head", "cpu_worker", "gpu_learner"}
    assert prepared["provider"]["type"] == "aws"
    # Autoscaling bounds are consistent (Ray does not check min <= max per type).
    for name in ("cpu_worker", "gpu_learner"):
        assert 0 <= types[name]["min_workers"] <= types[name]["max_workers"] <= prepared["max_workers"]
    assert types["cpu_worker"]["min_workers"] >= 1  # a default spec's env runners fit at once
    assert types["gpu_learner"]["node_config"]["InstanceType"].startswith(("g", "p"))
    assert types["head"]["resources"] == {"CPU": 0}  # env runners go to CPU workers


def test_rays_validation_rejects_mistakes(config: dict) -> None:
    """The validation is real: it fails on the mistakes a user makes when editing."""
    typo = copy.deepcopy(config)
    typo["max_worker"] = 3
    with pytest.raises(Exception, match="max_worker"):
        _ray_validate(typo)
    wrong_head = copy.deepcopy(config)
    wrong_head["head_node_type"] = "gpu"
    with pytest.raises(ValueError, match="head_node_type"):
        _ray_validate(wrong_head)
    bad_key = copy.deepcopy(config)
    bad_key["available_node_types"]["cpu_worker"]["resource"] = {}
    with pytest.raises(Exception, match="resource"):
        _ray_validate(bad_key)


def test_dashboard_on_loopback_and_only_ssh_open(config: dict) -> None:
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start and "--head" in head_start
    assert "0.0.0.0" not in head_start
    rules = config["provider"]["security_group"]["IpPermissions"]
    assert [(r["FromPort"], r["ToPort"], r["IpProtocol"]) for r in rules] == [(22, 22, "tcp")]
    for rule in rules:
        assert all(not r["CidrIp"].startswith("0.0.0.0") for r in rule["IpRanges"])


def test_project_is_synced_and_installed_from_the_checkout(config: dict) -> None:
    assert config["file_mounts"] == {"~/marl": "."}
    assert "/.venv" in config["rsync_exclude"] and "/.git" in config["rsync_exclude"]
    # Ray applies rsync_exclude to `ray rsync-down` too: nothing may match inside a run dir.
    assert all(p.startswith("/") or p == "**/__pycache__" for p in config["rsync_exclude"])
    setup = "\n".join(config["setup_commands"])
    assert "pip install --quiet -e ~/marl" in setup and "python3.11 -m venv ~/marl-venv" in setup
    for cmd in (*config["head_start_ray_commands"], *config["worker_start_ray_commands"]):
        assert "marl-venv/bin" in cmd  # Ray from the project's venv, not the image's


def test_no_secrets_in_the_cluster_file() -> None:
    text = (ROOT / "cluster.yaml").read_text()
    # The W&B key is read at start from a secret store, never written here.
    assert re.search(r"WANDB_API_KEY=[\"']?[A-Za-z0-9]{20,}", text) is None
    assert re.search(r"(aws_secret_access_key|AKIA[0-9A-Z]{16})", text) is None
