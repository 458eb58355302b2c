"""Customer rights and retention: export, erase, purge (docs/privacy.md). No Rasa imports: the
workspace's supervisor actions and the `python -m privacy` command use the same code."""
