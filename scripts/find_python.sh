#!/usr/bin/env bash
# Print the absolute path of a working Python 3.10 interpreter (Rasa 3.6.21
# supports 3.8–3.10; this project uses 3.10). Used by `make venv`.
#
# Search order:
#   1. $PYTHON, if set (e.g. `make PYTHON=/opt/py310/bin/python3.10 install`);
#   2. python3.10 on PATH — but only if it really runs: a pyenv shim is on PATH
#      even when 3.10 is not the active version, and then it just prints
#      "pyenv: python3.10: command not found", so `command -v` is not enough;
#   3. python3 on PATH, if it happens to be 3.10;
#   4. pyenv: `pyenv prefix 3.10` (or with PYENV_VERSION=3.10), then any
#      installed 3.10.x from `pyenv versions --bare`.
# Exits 1 with an explanation on stderr when nothing fits.
set -u

# Succeeds (and prints the real interpreter path, not a shim's) if $1 runs
# and is Python 3.10.
check() {
    "$1" -c 'import sys
if sys.version_info[:2] != (3, 10):
    raise SystemExit(1)
print(sys.executable)' 2>/dev/null
}

if [ -n "${PYTHON:-}" ]; then
    if out=$(check "$PYTHON") && [ -n "$out" ]; then
        echo "$out"
        exit 0
    fi
    {
        echo "error: PYTHON=$PYTHON is not a working Python 3.10 interpreter."
        if command -v "$PYTHON" >/dev/null 2>&1; then
            echo "       it reports: $("$PYTHON" --version 2>&1 | head -n 2 | tr '\n' ' ')"
        else
            echo "       (no such file or command)"
        fi
        echo "       Pass the path of a python3.10, e.g. make PYTHON=/usr/bin/python3.10 install"
    } >&2
    exit 1
fi

for cand in python3.10 python3; do
    if command -v "$cand" >/dev/null 2>&1 && out=$(check "$cand") && [ -n "$out" ]; then
        echo "$out"
        exit 0
    fi
done

if command -v pyenv >/dev/null 2>&1; then
    prefixes=$(
        pyenv prefix 3.10 2>/dev/null
        PYENV_VERSION=3.10 pyenv prefix 2>/dev/null
        # Older pyenv does not resolve "3.10" to 3.10.x: list them, newest last.
        root=$(pyenv root 2>/dev/null)
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3,3n); do
            echo "$root/versions/$v"
        done
    )
    while IFS= read -r p; do
        [ -n "$p" ] || continue
        for exe in "$p/bin/python3.10" "$p/bin/python3"; do
            if [ -x "$exe" ] && out=$(check "$exe") && [ -n "$out" ]; then
                echo "$out"
                exit 0
            fi
        done
    done <<EOF_PREFIXES
$prefixes
EOF_PREFIXES
fi

cat >&2 <<'EOF'
error: Python 3.10 not found (Rasa 3.6.21 needs Python 3.8–3.10; this project uses 3.10).
       Looked for: python3.10 and python3 on PATH, then pyenv (`pyenv prefix 3.10`).
       Install Python 3.10 (e.g. `pyenv install 3.10`, or your OS package python3.10),
       or pass its path:   make PYTHON=/path/to/python3.10 install
EOF
exit 1
