# Sourced by the project venv's activate script (`make install` adds the line), so
# the plain Rasa CLI works from the project root: endpoints.yml sends ACTIONS_TOKEN
# to the action server (`python -m actions.server`), and nothing phones home.
# Usage: . scripts/project_env.sh PROJECT_ROOT   (bash or zsh)
if [ -z "${ACTIONS_TOKEN:-}" ]; then
    ACTIONS_TOKEN=$("$1/scripts/secret.sh" "$1/var/actions_token")
    export ACTIONS_TOKEN
fi
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SQLALCHEMY_SILENCE_UBER_WARNING="${SQLALCHEMY_SILENCE_UBER_WARNING:-1}"
