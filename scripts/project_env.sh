# Sourced by the project venv's activate script (`make install` adds the line), so
# the plain Rasa CLI works from the project root: endpoints.yml sends ACTIONS_TOKEN
# to the action server (`python -m actions.server`), and nothing phones home.
# scripts/run.sh and `make test-stories` source it too, so every way of starting Rasa
# or the action server gets the same token and defaults.
# Usage: . scripts/project_env.sh PROJECT_ROOT [RUN_DIR]   (bash or zsh)
# The token is $ACTIONS_TOKEN when set, else the one kept in RUN_DIR/actions_token
# (default PROJECT_ROOT/var; scripts/secret.sh creates it once); the data key likewise.
if [ -z "${ACTIONS_TOKEN:-}" ]; then
    ACTIONS_TOKEN=$("$1/scripts/secret.sh" "${2:-$1/var}/actions_token")
fi
export ACTIONS_TOKEN
# The key that seals the personal data kept for one purpose (a caller's number for the call back;
# business/sealing.py): $XINGHE_DATA_KEY when set, else the one kept in RUN_DIR/data_key.
if [ -z "${XINGHE_DATA_KEY:-}" ]; then
    XINGHE_DATA_KEY=$("$1/scripts/secret.sh" "${2:-$1/var}/data_key")
fi
export XINGHE_DATA_KEY
# No network at run time: Rasa's telemetry would try to phone home.
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SQLALCHEMY_SILENCE_UBER_WARNING="${SQLALCHEMY_SILENCE_UBER_WARNING:-1}"
# Rasa's event broker (endpoints.yml) writes every conversation event to this SQLite file, where
# the agent workspace reads the customers' messages to their agents (docs/workspace.md).
export XINGHE_EVENTS_DB="${XINGHE_EVENTS_DB:-${2:-$1/var}/events.db}"
