#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: system packages, services, tox.
#
#   bash tests/run.sh                 every tox environment (what CI runs)
#   bash tests/run.sh -e py311-django52-sqlite -- -k scheduler
#
# As root it installs what is missing with apt-get and starts PostgreSQL, MariaDB,
# Redis and RabbitMQ when they are installed but not running. Elsewhere it only
# checks, and tests that need a missing service skip (CI=true makes them fail).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '\n== %s\n' "$*"; }

apt_packages=(libmariadb-dev pkg-config chromium gettext fonts-noto-cjk)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing Debian packages: ${missing[*]} (install them, or run as root)" >&2
    fi
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
    for _ in $(seq 1 60); do listening "$1" && return 0; sleep 1; done
    echo "service on port $1 did not come up" >&2
    return 1
}

start_service() {  # name port command...
    local name=$1 port=$2
    shift 2
    listening "$port" && return 0
    if [ "$(id -u)" != 0 ] || ! command -v "$1" >/dev/null 2>&1; then
        echo "$name is not running on port $port and cannot be started here" >&2
        return 0
    fi
    log "starting $name"
    "$@" >/dev/null 2>&1 || true
    wait_port "$port"
}

if [ -d /etc/postgresql ]; then
    start_service PostgreSQL 5432 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
start_service MariaDB 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
start_service Redis 6379 redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
start_service RabbitMQ 5672 rabbitmq-server -detached

# Interpreters for the tox matrix: pyenv keeps 3.12 and 3.13 beside the default 3.11.
for version in "$HOME"/.pyenv/versions/3.1[123]*; do
    [ -x "$version/bin/python3" ] && PATH="$version/bin:$PATH"
done
export PATH

python=python3.11
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv-tools/bin/tox ]; then
    log "creating .venv-tools with tox"
    "$python" -m venv .venv-tools
    .venv-tools/bin/python -m pip install -q --upgrade pip
    .venv-tools/bin/python -m pip install -q "tox>=4.11"
fi

# A missing interpreter: outside CI its environments are skipped, in CI they fail.
if [ "${CI:-}" = true ]; then
    export TOX_SKIP_MISSING_INTERPRETERS=false
else
    export TOX_SKIP_MISSING_INTERPRETERS=${TOX_SKIP_MISSING_INTERPRETERS:-true}
fi
envs=$(.venv-tools/bin/tox -l)
args=("$@")
for i in "${!args[@]}"; do  # or only those asked for with -e
    if [ "${args[i]}" = -e ]; then envs=${args[i + 1]:-}; envs=${envs//,/ }; fi
done
for version in $(printf '%s\n' $envs | sed -n 's/^py3\([0-9][0-9]\)-.*/3.\1/p' | sort -u); do
    command -v "python$version" >/dev/null 2>&1 && continue
    needing=$(printf '%s\n' $envs | grep "^py${version/./}-" | paste -sd' ' -)
    where="python$version is not on PATH nor in ~/.pyenv/versions"
    if [ "$TOX_SKIP_MISSING_INTERPRETERS" = true ]; then
        echo "$where: skipping $needing (install it, e.g. pyenv install $version; CI fails instead)" >&2
    else
        echo "$where: CI needs it, so these environments fail: $needing" >&2
    fi
done

export DJANGO_PERIODIC_ARTIFACTS=${DJANGO_PERIODIC_ARTIFACTS:-$ROOT/artifacts}
mkdir -p "$DJANGO_PERIODIC_ARTIFACTS"

rm -f "$DJANGO_PERIODIC_ARTIFACTS"/junit-*.xml "$DJANGO_PERIODIC_ARTIFACTS"/tox-*
results=(--result-json "$DJANGO_PERIODIC_ARTIFACTS/tox-result.json")
log "running tox $*"
status=0
if [ $# -eq 0 ]; then
    .venv-tools/bin/tox run-parallel --parallel "${TOX_PARALLEL:-3}" --parallel-live "${results[@]}" || status=$?
else
    .venv-tools/bin/tox "${results[@]}" "$@" || status=$?
fi
# One closing line over every environment, and each one's log in artifacts/.
.venv-tools/bin/python tests/summary.py "$DJANGO_PERIODIC_ARTIFACTS" || status=$?
exit "$status"
