"""Learner connector pieces (ConnectorV2): batch columns computed before the loss.

    bootstrap_step.py  AddBootstrapStep (RLlib's bootstrap step per episode chunk, its
                       loss-mask and done columns as arrays)
    module_batch.py    ModuleBatch (RLlib's six pieces from episodes to per-module
                       arrays, in one pass, for modules without state)
    time_limit.py BootstrapTruncated (time limits are not terminal)
    team_gae.py   AddCriticObs (critic input column, mappo), TeamGAE (GAE on the team
                  critic's values, with value normalization)
    cost_gae.py   AddCosts (per-step cost columns from infos), CostGAE (cost GAE and
                  the Lagrangian combined advantage; algorithm.constraints)
    coma.py       AddOthersActions (teammates' one-hot actions per row), ComaAdvantages
                  (COMA's counterfactual advantages, TD(lambda) targets on Q)
"""
