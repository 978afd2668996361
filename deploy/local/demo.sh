#!/usr/bin/env bash
# deploy/local/demo.sh - set up on a fresh machine and run the seed story end to end (vendorwatch demo).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/deploy/local/setup.sh"
export VENDORWATCH_KAFKA_BOOTSTRAP="${VENDORWATCH_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
exec "$root/.venv/bin/vendorwatch" demo "$@"
