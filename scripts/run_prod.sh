#!/usr/bin/env bash
# `make run-prod`: the production topology on one machine (docs/deployment.md).
#
#   HAProxy on the public port (RASA_PORT, 5005) in front of two Rasa instances, and on
#   ACTIONS_PORT (5055, this machine only) in front of two action servers; the agent workspace
#   (WORKSPACE_PORT, 5080) beside them. Conversations in PostgreSQL (masked at rest), each
#   conversation's lock in Redis, every event through RabbitMQ to the workspace, the business
#   database in PostgreSQL (schema by Alembic), web chat messages across instances through Redis.
#   A server that exits is started again; Ctrl-C / SIGTERM stops everything.
#
# PostgreSQL, Redis and RabbitMQ must already run (on 127.0.0.1 and their standard ports by
# default); scripts/prod_services.py checks them first and says which one is missing.
#
# Environment (defaults for one machine): XINGHE_PG_HOST (127.0.0.1), XINGHE_PG_PORT (5432),
# XINGHE_PG_USER (postgres), XINGHE_PG_PASSWORD (''), XINGHE_BUSINESS_DB (xinghe),
# XINGHE_TRACKER_DB (xinghe_tracker), DATABASE_URL (from those), XINGHE_REDIS_HOST (127.0.0.1),
# XINGHE_REDIS_PORT (6379), XINGHE_REDIS_LOCK_DB (1), XINGHE_WEBCHAT_MESSAGE_QUEUE
# (redis://…/2), XINGHE_RABBITMQ_HOST (127.0.0.1), XINGHE_RABBITMQ_PORT (5672),
# XINGHE_RABBITMQ_USER / _PASSWORD (guest), XINGHE_EVENTS_EXCHANGE (xinghe.events),
# XINGHE_WORKSPACE_QUEUE (xinghe.workspace), XINGHE_ANALYTICS_QUEUE (xinghe.analytics), XINGHE_BIND (0.0.0.0), RASA_PORT (5005),
# ACTIONS_PORT (5055), WORKSPACE_PORT (5080), XINGHE_RASA_PORTS ("5011 5012"),
# XINGHE_ACTIONS_PORTS ("5061 5062"), XINGHE_ACTIONS_TIMEOUT (8s), XINGHE_LOCK_LIFETIME (10),
# XINGHE_RUN_DIR (var/prod), XINGHE_MODEL, START_TIMEOUT (300 s), VENV (.venv), and the channel
# secrets of docs/security.md. The secrets scripts/run.sh creates are created here the same way.
set -euo pipefail
umask 077

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-.venv}
case $VENV in /*) BIN=$VENV/bin ;; *) BIN=$ROOT/$VENV/bin ;; esac
START_TIMEOUT=${START_TIMEOUT:-300}
RUN_DIR=${XINGHE_RUN_DIR:-var/prod}
XINGHE_MODEL=${XINGHE_MODEL:-}
WEBCHAT_PATH=${WEBCHAT_PATH:-}
RASA_MAX_REQUEST_BYTES=${RASA_MAX_REQUEST_BYTES:-1048576}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

. scripts/processes.sh

[ -x "$BIN/rasa" ] || die "$BIN/rasa not found: run \`make install\` first"
command -v haproxy >/dev/null 2>&1 || die "haproxy not found: run scripts/install_system_deps.sh (Debian's haproxy)"
mkdir -p "$RUN_DIR"

# --- where everything is ------------------------------------------------------------
export XINGHE_PG_HOST=${XINGHE_PG_HOST:-127.0.0.1} XINGHE_PG_PORT=${XINGHE_PG_PORT:-5432}
export XINGHE_PG_USER=${XINGHE_PG_USER:-postgres} XINGHE_PG_PASSWORD=${XINGHE_PG_PASSWORD:-}
export XINGHE_BUSINESS_DB=${XINGHE_BUSINESS_DB:-xinghe} XINGHE_TRACKER_DB=${XINGHE_TRACKER_DB:-xinghe_tracker}
export XINGHE_REDIS_HOST=${XINGHE_REDIS_HOST:-127.0.0.1} XINGHE_REDIS_PORT=${XINGHE_REDIS_PORT:-6379}
export XINGHE_REDIS_LOCK_DB=${XINGHE_REDIS_LOCK_DB:-1}
export XINGHE_RABBITMQ_HOST=${XINGHE_RABBITMQ_HOST:-127.0.0.1} XINGHE_RABBITMQ_PORT=${XINGHE_RABBITMQ_PORT:-5672}
export XINGHE_RABBITMQ_USER=${XINGHE_RABBITMQ_USER:-guest} XINGHE_RABBITMQ_PASSWORD=${XINGHE_RABBITMQ_PASSWORD:-guest}

pg_login=$XINGHE_PG_USER${XINGHE_PG_PASSWORD:+:$XINGHE_PG_PASSWORD}
export DATABASE_URL=${DATABASE_URL:-postgresql://$pg_login@$XINGHE_PG_HOST:$XINGHE_PG_PORT/$XINGHE_BUSINESS_DB}
# WeChat's retries may reach another instance: the first to claim a MsgId in the database answers.
export WECHAT_DEDUPE_URL=${WECHAT_DEDUPE_URL:-$DATABASE_URL}
export XINGHE_WEBCHAT_MESSAGE_QUEUE=${XINGHE_WEBCHAT_MESSAGE_QUEUE:-redis://$XINGHE_REDIS_HOST:$XINGHE_REDIS_PORT/2}
export XINGHE_EVENTS_EXCHANGE=${XINGHE_EVENTS_EXCHANGE:-xinghe.events}
export XINGHE_WORKSPACE_QUEUE=${XINGHE_WORKSPACE_QUEUE:-xinghe.workspace}
export XINGHE_ANALYTICS_QUEUE=${XINGHE_ANALYTICS_QUEUE:-xinghe.analytics}
export XINGHE_EVENTS_URL=amqp://$XINGHE_RABBITMQ_USER:$XINGHE_RABBITMQ_PASSWORD@$XINGHE_RABBITMQ_HOST:$XINGHE_RABBITMQ_PORT/
# A conversation whose turn was running on an instance that died is freed this many seconds after
# the instance's last sign of life (persistence/lock_store.py).
export XINGHE_LOCK_LIFETIME=${XINGHE_LOCK_LIFETIME:-10}

export XINGHE_BIND=${XINGHE_BIND:-0.0.0.0}
export XINGHE_PUBLIC_PORT=${RASA_PORT:-5005} XINGHE_ACTIONS_PORT=${ACTIONS_PORT:-5055}
WORKSPACE_PORT=${WORKSPACE_PORT:-5080}
read -r -a RASA_PORTS <<<"${XINGHE_RASA_PORTS:-5011 5012}"
read -r -a ACTIONS_PORTS <<<"${XINGHE_ACTIONS_PORTS:-5061 5062}"
((${#RASA_PORTS[@]} == 2 && ${#ACTIONS_PORTS[@]} == 2)) ||
    die "XINGHE_RASA_PORTS and XINGHE_ACTIONS_PORTS name two ports each (deploy/haproxy.cfg has two of each)"
export XINGHE_RASA1=127.0.0.1:${RASA_PORTS[0]} XINGHE_RASA2=127.0.0.1:${RASA_PORTS[1]}
export XINGHE_ACTIONS1=127.0.0.1:${ACTIONS_PORTS[0]} XINGHE_ACTIONS2=127.0.0.1:${ACTIONS_PORTS[1]}
export XINGHE_ACTIONS_TIMEOUT=${XINGHE_ACTIONS_TIMEOUT:-8s}
export XINGHE_DEPLOY_DIR=$ROOT/deploy

info "检查 PostgreSQL、Redis、RabbitMQ / checking PostgreSQL, Redis and RabbitMQ"
"$BIN/python" scripts/prod_services.py || exit 1

# --- secrets and endpoints ---------------------------------------------------------------
RASA_API_TOKEN=${RASA_API_TOKEN:-$(scripts/secret.sh "$RUN_DIR/api_token")}
export RASA_API_TOKEN
. scripts/project_env.sh "$ROOT" "$RUN_DIR"
# Every instance signs and checks web chat visitors' tokens with the same secret.
XINGHE_WEBCHAT_SECRET=${XINGHE_WEBCHAT_SECRET:-$(scripts/secret.sh "$RUN_DIR/webchat_secret")}
export XINGHE_WEBCHAT_SECRET
export ACTIONS_URL=http://127.0.0.1:$XINGHE_ACTIONS_PORT/webhook
ENDPOINTS=$RUN_DIR/endpoints.runtime.yml
"$BIN/python" scripts/runtime_endpoints.py deploy/endpoints.prod.yml "$ENDPOINTS"

info "准备业务数据库（Alembic 迁移，空库写入演示数据）/ migrating and seeding the business database"
"$BIN/python" -m business.store.seed --if-empty

choose_model train

for port in "$XINGHE_PUBLIC_PORT" "$XINGHE_ACTIONS_PORT" "$WORKSPACE_PORT" "${RASA_PORTS[@]}" "${ACTIONS_PORTS[@]}"; do
    port_busy "$port" && die "port $port is in use (another \`make run\`?); see the variables in scripts/run_prod.sh"
done

# --- the processes -------------------------------------------------------------------------
HEALTH=()
for i in 0 1; do
    start_bg "action server $((i + 1))" "$RUN_DIR/actions$((i + 1)).log" \
        env ACTIONS_HOST=127.0.0.1 "$BIN/python" -m actions.server -p "${ACTIONS_PORTS[$i]}"
    HEALTH+=("http://127.0.0.1:${ACTIONS_PORTS[$i]}/health")
done
for i in 0 1; do
    start_bg "rasa $((i + 1))" "$RUN_DIR/rasa$((i + 1)).log" env SANIC_REQUEST_MAX_SIZE="$RASA_MAX_REQUEST_BYTES" \
        "$BIN/rasa" run --enable-api --auth-token "$RASA_API_TOKEN" -i 127.0.0.1 -p "${RASA_PORTS[$i]}" \
        --endpoints "$ENDPOINTS" --credentials credentials.yml "${MODEL_ARGS[@]}"
    HEALTH+=("http://127.0.0.1:${RASA_PORTS[$i]}/status?token=$RASA_API_TOKEN")
done
start_bg "haproxy" "$RUN_DIR/haproxy.log" haproxy -W -db -f deploy/haproxy.cfg
start_bg "workspace" "$RUN_DIR/workspace.log" env WORKSPACE_PORT="$WORKSPACE_PORT" \
    RASA_URL="http://127.0.0.1:$XINGHE_PUBLIC_PORT" XINGHE_ENDPOINTS_RUNTIME="$ENDPOINTS" \
    "$BIN/python" -m workspace
# Analytics: its own durable queue on the events exchange (docs/analytics.md).
start_bg "analytics" "$RUN_DIR/analytics.log" "$BIN/python" -m analytics consume
HEALTH+=("http://127.0.0.1:$XINGHE_PUBLIC_PORT/" "http://127.0.0.1:$WORKSPACE_PORT/health")
info "两个 Rasa 实例加载模型约需 2 分钟 / two Rasa instances take about two minutes to load the model"
wait_for "action servers + rasa instances + haproxy + workspace" "${HEALTH[@]}"

running_banner "$XINGHE_PUBLIC_PORT" \
    "HAProxy 127.0.0.1:$XINGHE_ACTIONS_PORT -> ${ACTIONS_PORTS[*]} (only Rasa, with ACTIONS_TOKEN)" \
    "$WORKSPACE_PORT" "$RUN_DIR/{rasa1,rasa2,actions1,actions2,haproxy,workspace,analytics}.log"
# Stay up until a signal arrives; a server that exits is started again.
while :; do
    restart_dead
    sleep 1 &
    wait $! 2>/dev/null || true
done
