#!/usr/bin/env bash
# scripts/secret.sh FILE: print the secret kept in FILE, creating it once (random,
# readable by its owner only; var/ is git-ignored) so every later run reuses it.
set -euo pipefail
file=$1
if [ ! -s "$file" ]; then
    (
        umask 077
        mkdir -p "$(dirname "$file")"
        od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$file"
    )
    echo "created $file (a secret for this machine)" >&2
fi
chmod 600 "$file" # one made before the umask was in force
cat "$file"
