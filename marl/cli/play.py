"""``marl play RUN[:player]``: play a trained agent yourself, in the terminal."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from marl.cli.common import defaults_for_headless, user_errors
from marl.errors import RunError

__all__ = ["register"]


def play(
    player: Annotated[str, typer.Argument(
        metavar="RUN[:player]", help="A run dir (its first learner) or RUN_DIR:player / "
        "CHECKPOINT_DIR:player (e.g. a league snapshot).")],
    seat: Annotated[str, typer.Option(
        "--as", help="Your seat: first or second.")] = "first",
    search: Annotated[str | None, typer.Option(
        "--search", metavar="mcts:N", help="The agent searches N MCTS simulations a move "
        "(connect four, tic-tac-toe).")] = None,
    greedy: Annotated[bool, typer.Option(help="The agent plays its most likely move (default: "
                                          "it samples, as it was trained).")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the game (cards are dealt from it).")] = 0,
) -> None:
    """Play against a trained agent: the board drawn in the terminal, legal moves listed,
    the agent's move and its value estimate shown. Turn-based games with action masks:
    connect four, tic-tac-toe, kuhn/leduc poker (your cards and the chips shown), any
    other masked AEC env by action number. Type q to quit."""
    from marl.evaluate import resolve_player, run_experiment
    from marl.search import search_spec

    @user_errors
    def run() -> None:
        defaults_for_headless()
        simulations = search_spec(search)
        if seat not in ("first", "second"):
            raise RunError(f"--as {seat}: choose first or second")
        ref = resolve_player(player)
        if ref.kind == "scripted" or ref.checkpoint is None:
            raise RunError(f"{player}: play a trained agent (a run dir), not a scripted one")
        exp = run_experiment(ref.checkpoint.parent.parent)
        if exp.api != "aec" or not exp.entry.masked:
            raise RunError(f"marl play needs a turn-based game with action masks; "
                           f"{exp.env_id} is {'simultaneous' if exp.api != 'aec' else 'unmasked'}")
        agent_move = _agent(ref, exp, greedy, simulations, seed)
        from envs.factory import make_spec_env
        from marl.terminal_play import play_game

        env = make_spec_env(exp.play_config())
        human = exp.agents[0 if seat == "first" else 1]
        typer.echo(f"{exp.env_id}: you play {human} ({seat}) against {ref.name}"
                   + (f" with mcts:{simulations}" if simulations else ""))
        game = 0
        try:
            while True:
                play_game(env, human, agent_move, input, typer.echo, seed=seed + game)
                game += 1
                if input("again? [y/N]: ").strip().lower() not in ("y", "yes"):
                    break
        except (EOFError, KeyboardInterrupt):
            typer.echo("\nbye")
        finally:
            env.close()

    run()


def _agent(ref: Any, exp: Any, greedy: bool, simulations: int, seed: int) -> Any:
    """``(env, agent) -> (action, value estimate or None)`` of the trained player."""
    from marl.rllib.action_probs import module_evaluator
    from marl.rllib.inference import checkpoint_module, module_policy
    from marl.search import MCTS

    module = checkpoint_module(ref.checkpoint, ref.player_id)
    policy = module_policy(module, greedy, seed)
    try:
        evaluate = module_evaluator(module)
    except ValueError:
        evaluate = None
    if simulations and evaluate is None:
        raise RunError(f"{ref.name} has no value head to search with; play without --search")
    mcts = MCTS(evaluate, simulations, seed=seed) if simulations and evaluate else None

    def move(env: Any, agent: str) -> tuple[int, float | None]:
        if mcts is not None:
            action, _ = mcts.search(env, agent)
            return action, mcts.last_value
        obs = env.observe(agent)
        value = evaluate(obs)[1] if evaluate is not None else None
        return int(policy([obs])[0]), value

    return move


def register(app: typer.Typer) -> None:
    app.command("play")(play)
