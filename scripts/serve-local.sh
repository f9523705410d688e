#!/usr/bin/env bash
# Run the Classpulse service on this machine without Docker: Redis (started only if nothing listens on the
# broker's port), one analysis worker, beat (scheduler + housekeeping) and the HTTP API. Ctrl-C stops them all
# (a second Ctrl-C kills them without waiting for a running job; the reaper re-queues it on the next start).
#
#   scripts/serve-local.sh                 # API on http://127.0.0.1:8000, data in ~/.local/share/classpulse
#   CLASSPULSE_API_PORT=9000 CLASSPULSE_DATA_DIR=./var scripts/serve-local.sh
#
# Every CLASSPULSE_* variable is passed through (see README, "Service configuration").
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
[[ -x $PY ]] || PY=$(command -v python3)
CP=("$PY" -m cli)

export CLASSPULSE_BROKER_URL=${CLASSPULSE_BROKER_URL:-redis://127.0.0.1:6379/0}
export CLASSPULSE_DATA_DIR=${CLASSPULSE_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/classpulse}
HOST=${CLASSPULSE_API_HOST:-127.0.0.1}
PORT=${CLASSPULSE_API_PORT:-8000}
mkdir -p "$CLASSPULSE_DATA_DIR/logs"

pids=()
stopping=0
stop() {
  if (( stopping )); then
    echo "classpulse: killing" >&2
    kill -KILL "${pids[@]}" 2>/dev/null || true
    exit 130
  fi
  stopping=1
  echo "classpulse: stopping (waits for a running job; Ctrl-C again to kill)" >&2
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Start Redis only for a local broker URL with nothing listening yet.
if [[ $CLASSPULSE_BROKER_URL =~ ^redis://(localhost|127\.0\.0\.1)(:([0-9]+))?(/.*)?$ ]]; then
  rport=${BASH_REMATCH[3]:-6379}
  if ! listening 127.0.0.1 "$rport"; then
    command -v redis-server >/dev/null || { echo "classpulse: redis-server not found (apt install redis-server)" >&2; exit 1; }
    mkdir -p "$CLASSPULSE_DATA_DIR/redis"
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$CLASSPULSE_DATA_DIR/redis" --appendonly yes \
      --save '' >"$CLASSPULSE_DATA_DIR/logs/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do listening 127.0.0.1 "$rport" && break; sleep 0.1; done
    echo "classpulse: started redis-server on 127.0.0.1:$rport (log: $CLASSPULSE_DATA_DIR/logs/redis.log)"
  else
    echo "classpulse: using the Redis already listening on 127.0.0.1:$rport"
  fi
fi

"${CP[@]}" worker >"$CLASSPULSE_DATA_DIR/logs/worker.log" 2>&1 &
pids+=($!)
"${CP[@]}" beat >"$CLASSPULSE_DATA_DIR/logs/beat.log" 2>&1 &
pids+=($!)
"${CP[@]}" serve --host "$HOST" --port "$PORT" >"$CLASSPULSE_DATA_DIR/logs/api.log" 2>&1 &
pids+=($!)

for _ in $(seq 100); do listening "$HOST" "$PORT" && break; sleep 0.2; done
cat <<MSG
Classpulse is running
  web page: http://$HOST:$PORT/   (sign in with an API key)
  API:      http://$HOST:$PORT   (OpenAPI docs: http://$HOST:$PORT/docs)
  data:     $CLASSPULSE_DATA_DIR (logs in logs/)
  API key:  ${CP[*]} keys create --customer NAME
  upload:   curl -H "Authorization: Bearer \$KEY" -F file=@lecture.mp4 http://$HOST:$PORT/v1/jobs
Press Ctrl-C to stop.
MSG

# On Ctrl-C, or when any one process exits, stop the others.
wait -n "${pids[@]}" || true
echo "classpulse: shutting down (logs in $CLASSPULSE_DATA_DIR/logs)" >&2
stop
