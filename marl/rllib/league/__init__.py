"""The league wired into RLlib: the pure ``marl.league`` decides, this package applies.

    layout.py    league spec -> one RLModule per player, the first mapping fn
    callback.py  LeagueCallback: match results out of env runners, mapping into restarts
    runtime.py   LeagueRuntime: after each iteration, record -> decide -> apply -> re-match
"""
