"""Learner connector pieces (ConnectorV2): batch columns computed before the loss.

    team_gae.py   AddCriticObs (critic input column, mappo), TeamGAE (GAE on the team
                  critic's values, with value normalization)
    cost_gae.py   AddCosts (per-step cost columns from infos), CostGAE (cost GAE and
                  the Lagrangian combined advantage; algorithm.constraints)
    coma.py       AddOthersActions (teammates' one-hot actions per row), ComaAdvantages
                  (COMA's counterfactual advantages, TD(lambda) targets on Q)
"""
