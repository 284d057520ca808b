#!/usr/bin/env bash
# The demo: migrate SQLite, create an admin user and sample schedules, then run a
# Celery worker, `celery beat -S django` and the admin, on the filesystem broker
# (no server needed). Ctrl-C stops everything.
#
#   bash testproject/demo.sh           admin at http://127.0.0.1:8000/admin/ (admin / admin)
#   DEMO_SECONDS=30 bash testproject/demo.sh   stop by itself after 30 seconds
#   PYTHON=/path/to/python ...          use an environment that already has the package
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${PYTHON:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        echo "== creating .venv"
        python3 -m venv .venv
        .venv/bin/python -m pip install -q --upgrade pip
    fi
    # The install is editable, so code edits need no reinstall: only a change of the
    # packaging files (or of the checkout's place) does.
    stamp=.venv/.django-periodic-install
    wanted="$(pwd) $(cat setup.cfg pyproject.toml | cksum)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] ||
        ! .venv/bin/python -m pip show -q django-periodic >/dev/null 2>&1; then
        echo "== installing django-periodic into .venv (editable)"
        .venv/bin/python -m pip install -q -e .
        printf '%s\n' "$wanted" >"$stamp"
    fi
    PYTHON=.venv/bin/python
fi

export DJANGO_PERIODIC_VAR=${DJANGO_PERIODIC_VAR:-$(pwd)/var/demo}
export PYTHONUNBUFFERED=1
mkdir -p "$DJANGO_PERIODIC_VAR"
port=${DEMO_PORT:-8000}

"$PYTHON" manage.py migrate -v0
DJANGO_SUPERUSER_PASSWORD=admin "$PYTHON" manage.py createsuperuser --noinput \
    --username admin --email admin@example.com >/dev/null 2>&1 || true
"$PYTHON" manage.py demo_schedules

# Each process writes into a FIFO that its own prefixer (sed) reads. Ctrl-C reaches the
# whole process group: the processes stop as they do on Ctrl-C in a terminal, and the
# prefixers ignore it and read on until their process has printed its shutdown lines
# and exited, so those lines are not lost.
fifos=$(mktemp -d)
pids=()
start() {  # label command...
    local label=$1
    shift
    mkfifo "$fifos/$label"
    (trap '' INT TERM; exec sed -u "s/^/$(printf '%-9s' "[$label]")/" <"$fifos/$label") &
    # A script's background commands ignore SIGINT unless told otherwise.
    (trap - INT; exec "$@") >"$fifos/$label" 2>&1 &
    pids+=($!)
}
running() {
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
    return 1
}
interrupted=
stop() {
    trap '' INT  # from here a second Ctrl-C reaches the processes only (a cold shutdown)
    if [ -n "$interrupted" ]; then  # they got the Ctrl-C too: give them 10 s to stop
        for _ in $(seq 20); do
            running || break
            sleep 0.5
        done
    fi
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait || true  # the processes, then their prefixers (at end of file)
    rm -rf "$fifos"
}
trap stop EXIT
trap 'interrupted=1; exit 130' INT
trap 'exit 143' TERM

start worker "$PYTHON" -m celery -A testproject worker -P solo -l info
start beat "$PYTHON" -m celery -A testproject beat -S django_periodic -l info --pidfile= \
    --schedule "$DJANGO_PERIODIC_VAR/beat-schedule"
start web "$PYTHON" manage.py runserver "127.0.0.1:$port" --noreload

echo "== admin: http://127.0.0.1:$port/admin/ (admin / admin); Ctrl-C stops the demo"
if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
else
    wait
fi
