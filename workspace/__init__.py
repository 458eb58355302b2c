"""The agent workspace (坐席工作台): agents and supervisors take customers over from the bot.

`python -m workspace` serves it on WORKSPACE_PORT (5080); `make run` starts it next to Rasa and
the action server. It uses the business core for every rule and talks to Rasa only through Rasa's
authenticated HTTP API (docs/workspace.md).
"""
