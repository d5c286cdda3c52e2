#!/bin/sh
# Creates the secrets the docker-compose demo mounts (deploy/secrets/*).
# Existing files are kept, so re-running is safe. The miner password defaults
# to the Whatsminer factory default "admin"; set WHATSMINER_PASSWORD to change it.
set -eu

dir="$(cd "$(dirname "$0")/../.." && pwd)/deploy/secrets"
mkdir -p "$dir"
chmod 0700 "$dir"

write_secret() { # name, value
    file="$dir/$1"
    if [ -e "$file" ]; then
        echo "kept    $file"
        return
    fi
    umask 077
    printf '%s' "$2" >"$file"
    # Read by container users with other uids; the 0700 directory protects it on the host.
    chmod 0444 "$file"
    echo "created $file"
}

token="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
write_secret admin-token "$token"
write_secret whatsminer-password "${WHATSMINER_PASSWORD:-admin}"
