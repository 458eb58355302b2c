#!/usr/bin/env bash
# Start 星河智能客服 locally. Called by `make run`, `make shell`, `make interactive`,
# and by the end-to-end and security tests, which so test exactly what it starts.
#
#   scripts/run.sh [serve]      seed if empty, train if the data changed, start the
#                               action server + `rasa run --enable-api` (every channel),
#                               wait until both answer, print how to talk to it, and
#                               stay up until Ctrl-C / SIGTERM (then stop both, exit 0).
#   scripts/run.sh shell        same set-up, then `rasa shell` in this terminal; reuses an
#                               action server that is already up (e.g. from `make run`).
#   scripts/run.sh interactive  action server + `rasa interactive` (which trains itself).
#
# Trust (docs/security.md): Rasa's HTTP API needs RASA_API_TOKEN (`?token=`), the
# action server needs ACTIONS_TOKEN (Rasa sends it); each one unset is created once
# in $XINGHE_RUN_DIR/api_token or actions_token (mode 600) and reused. The action
# server listens on ACTIONS_HOST (127.0.0.1). Rasa's API allows no cross-origin
# calls: the web chat checks page origins itself.
#
# Environment: RASA_PORT (5005), ACTIONS_PORT (5055), ACTIONS_HOST (127.0.0.1),
# ACTIONS_URL (http://localhost:$ACTIONS_PORT/webhook, for an action server elsewhere),
# WORKSPACE_PORT (5080, the agent workspace; WORKSPACE_HOST 127.0.0.1),
# RASA_MAX_REQUEST_BYTES (1 MiB), START_TIMEOUT (180 s), VENV (.venv),
# DATABASE_URL (default: the SQLite file var/xinghe.db, chosen by actions/),
# XINGHE_MODEL (serve this model file, no training), XINGHE_ENDPOINTS (the endpoints
# file to start from: endpoints.yml), XINGHE_RUN_DIR (secrets, runtime endpoints and
# logs: var), WEBCHAT_PATH (path of the web chat page, printed when it answers).
set -euo pipefail
# Everything this run writes (tokens, the SQLite databases with customers' data,
# logs) is readable by its owner only.
umask 077

cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-serve}

VENV=${VENV:-.venv}
case $VENV in /*) BIN=$VENV/bin ;; *) BIN=$ROOT/$VENV/bin ;; esac
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
WORKSPACE_PORT=${WORKSPACE_PORT:-5080}
ACTIONS_URL=${ACTIONS_URL:-http://localhost:$ACTIONS_PORT/webhook}
ACTIONS_HEALTH=${ACTIONS_URL%/webhook}/health # where the action server is, as Rasa reaches it
START_TIMEOUT=${START_TIMEOUT:-180}
WEBCHAT_PATH=${WEBCHAT_PATH:-}
XINGHE_MODEL=${XINGHE_MODEL:-}
RUN_DIR=${XINGHE_RUN_DIR:-var}
# Sanic reads a whole body before any channel sees it: cap it (Sanic takes SANIC_*
# settings from the environment); each channel has a tighter limit of its own.
RASA_MAX_REQUEST_BYTES=${RASA_MAX_REQUEST_BYTES:-1048576}

# The action server and the custom channels in connectors/ import project packages.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

ACTIONS_LOG=$RUN_DIR/actions.log
RASA_LOG=$RUN_DIR/rasa.log
WORKSPACE_LOG=$RUN_DIR/workspace.log
ANALYTICS_LOG=$RUN_DIR/analytics.log

# Helpers (http_ok, port_busy, start_bg, stop_all, wait_for ...) and the signal traps.
. scripts/processes.sh

case $MODE in serve | shell | interactive) ;; *) die "unknown mode '$MODE' (serve|shell|interactive)" ;; esac
[ -x "$BIN/rasa" ] || die "$BIN/rasa not found: run \`make install\` first"
mkdir -p var "$RUN_DIR"

# --- set-up ---------------------------------------------------------------------

# Each token: the variable when set, else the secret kept in $RUN_DIR (scripts/secret.sh
# creates it once), so later runs and tools reuse it.  ACTIONS_TOKEN and the offline,
# quiet defaults (no telemetry) come from what the activated venv uses too.
RASA_API_TOKEN=${RASA_API_TOKEN:-$(scripts/secret.sh "$RUN_DIR/api_token")}
export RASA_API_TOKEN
. scripts/project_env.sh "$ROOT" "$RUN_DIR"
export ACTIONS_URL

# The endpoints Rasa runs with: the base file plus where the action server is and
# the token it wants (so this copy is private, like the token files).
ENDPOINTS=$RUN_DIR/endpoints.runtime.yml
"$BIN/python" scripts/runtime_endpoints.py "${XINGHE_ENDPOINTS:-endpoints.yml}" "$ENDPOINTS"

info "准备演示数据 / seeding the demo database if it is empty"
"$BIN/python" -m business.store.seed --if-empty

# `rasa interactive` trains by itself.
if [ "$MODE" = interactive ]; then choose_model no-train; else choose_model train; fi

# Action server: reuse one that already answers on ACTIONS_PORT in shell /
# interactive mode (e.g. `make run` in another terminal); serve mode needs both
# ports free.
if [ "$MODE" != serve ] && http_ok "$ACTIONS_HEALTH"; then
    info "using the action server already running on port $ACTIONS_PORT"
else
    port_busy "$ACTIONS_PORT" && die "port $ACTIONS_PORT is in use (another \`make run\`?); set ACTIONS_PORT=..."
    start_bg "action server" "$ACTIONS_LOG" "$BIN/python" -m actions.server -p "$ACTIONS_PORT"
fi

if [ "$MODE" = serve ]; then
    port_busy "$RASA_PORT" && die "port $RASA_PORT is in use (another \`make run\`?); set RASA_PORT=..."
    start_bg "rasa" "$RASA_LOG" env SANIC_REQUEST_MAX_SIZE="$RASA_MAX_REQUEST_BYTES" \
        "$BIN/rasa" run --enable-api --auth-token "$RASA_API_TOKEN" -p "$RASA_PORT" \
        --endpoints "$ENDPOINTS" --credentials credentials.yml "${MODEL_ARGS[@]}"
    port_busy "$WORKSPACE_PORT" && die "port $WORKSPACE_PORT is in use (another \`make run\`?); set WORKSPACE_PORT=..."
    # The agent workspace: talks to this Rasa with the API token, reads its event broker.
    start_bg "workspace" "$WORKSPACE_LOG" env WORKSPACE_PORT="$WORKSPACE_PORT" RASA_PORT="$RASA_PORT" \
        XINGHE_ENDPOINTS_RUNTIME="$ENDPOINTS" \
        "$BIN/python" -m workspace
    # Analytics: follows the event broker into the facts `make report` draws (docs/analytics.md).
    start_bg "analytics" "$ANALYTICS_LOG" "$BIN/python" -m analytics consume
    info "Rasa 启动约需 1 分钟 / Rasa takes about a minute to load the model"
    wait_for "action server + rasa + workspace" \
        "$ACTIONS_HEALTH" "http://localhost:$RASA_PORT/status?token=$RASA_API_TOKEN" \
        "http://localhost:$WORKSPACE_PORT/health"

    running_banner "$RASA_PORT" "http://localhost:$ACTIONS_PORT (only Rasa, with ACTIONS_TOKEN)" \
        "$WORKSPACE_PORT" "$RASA_LOG, $ACTIONS_LOG, $WORKSPACE_LOG, $ANALYTICS_LOG"
    # Stay up until a signal arrives or a server dies. `sleep & wait` keeps the
    # trap responsive (a trapped signal interrupts `wait` at once).
    while :; do
        check_alive
        sleep 1 &
        wait $! 2>/dev/null || true
    done
fi

# shell / interactive: a Rasa server of their own on a free port.
if ((${#PIDS[@]})); then
    wait_for "action server" "$ACTIONS_HEALTH"
fi
port=$RASA_PORT
port_busy "$port" && port=$(free_port)
info "rasa $MODE on port $port (输入 /stop 退出 / type /stop to quit)"
status=0
if [ "$MODE" = interactive ]; then
    "$BIN/rasa" interactive --endpoints "$ENDPOINTS" -p "$port" || status=$?
else
    # Its plain REST channel listens on this machine only.
    "$BIN/rasa" shell --endpoints "$ENDPOINTS" -i 127.0.0.1 -p "$port" || status=$?
fi
stop_all
exit "$status"
