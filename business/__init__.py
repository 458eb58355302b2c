"""The business core of 星河: store, services, business clock and text helpers.

Everything else (the Rasa actions, the channels, the knowledge base, the scripts) imports
from here, never the other way round, and nothing here imports Rasa: the rules are tested
on their own and the workspace and analytics use the same ones as the bot.
"""
