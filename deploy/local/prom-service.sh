# deploy/local/prom-service.sh - sourced by prometheus.sh and alertmanager.sh: the plumbing both share for a
# Prometheus-family binary started directly on 127.0.0.1 (no systemd), with its pid in "$pid_file".
# The sourcing script sets: name (for messages), port, pid_file, and defines install, start and binary.

running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

# wait_ready LOG [DESCRIPTION]: until /-/ready answers on $port (10 s), else point at LOG.
wait_ready() {
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
      echo "$name.sh: ${2:-$name} ready on http://127.0.0.1:$port (state $(dirname "$pid_file"))" >&2
      return 0
    fi
    sleep 0.1
  done
  echo "$name.sh: not ready in 10s; see $1" >&2
  return 1
}

status() {
  if running && curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
    echo "$name.sh: running as pid $(cat "$pid_file") on 127.0.0.1:$port"
  else
    echo "$name.sh: not running on 127.0.0.1:$port"; return 1
  fi
}

stop() {
  if running; then kill "$(cat "$pid_file")"; fi
  rm -f "$pid_file"
}

dispatch() {
  case "${1:-}" in
    install) install ;;
    start) start ;;
    status) status ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
  esac
}
