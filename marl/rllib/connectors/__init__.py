"""Learner connector pieces (ConnectorV2): batch columns computed before the loss.

    team_gae.py   AddCriticObs (critic input column, mappo), TeamGAE (GAE on the team
                  critic's values, with value normalization)
"""
