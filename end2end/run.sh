#!/usr/bin/env bash
# Serves a fresh paybus (its own temporary SQLite data directory, a free port) from the
# cargo-leptos build and runs the browser tests against it. Run from the repository root after
# `cargo leptos build`.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paybus-target}"
BIN="$CARGO_TARGET_DIR/debug/paybus"
[ -x "$BIN" ] || { echo "end2end: $BIN is missing; run cargo leptos build first" >&2; exit 1; }
[ -d target/site/pkg ] || { echo "end2end: target/site/pkg is missing; run cargo leptos build first" >&2; exit 1; }
[ -d end2end/node_modules ] || (cd end2end && npm ci --no-audit --no-fund)

DATA_DIR="$(mktemp -d)"
# Screenshots, axe reports, the visits log and the route coverage report of this run.
export PAYBUS_E2E_ARTIFACTS="$PWD/end2end/artifacts"
rm -rf "$PAYBUS_E2E_ARTIFACTS"
mkdir -p "$PAYBUS_E2E_ARTIFACTS"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
LOG="$DATA_DIR/paybus.log"
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

# Small argon2 memory keeps the run quick; the server otherwise runs exactly as in production.
# --demo seeds the demo merchant and, with no STRIPE_SECRET_KEY, serves the built-in Stripe mock
# that the Stripe-out test drives.
STRIPE_PLATFORM_WEBHOOK_SECRET=whsec_e2e PAYBUS_BUS_PROBE=true PAYBUS_WELCOME_EMAIL=false PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS=true PAYBUS_DATA_DIR="$DATA_DIR" PAYBUS_ADDR="127.0.0.1:$PORT" PAYBUS_ARGON2_MEMORY_KIB=1024 \
  LEPTOS_SITE_ROOT=target/site DATABASE_URL= RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve --demo >"$LOG" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "end2end: paybus exited:" >&2; cat "$LOG" >&2; exit 1; }
  sleep 0.2
done

# The tests run `paybus stripe trigger` against the server with the same platform secret.
export PAYBUS_BIN="$BIN" PAYBUS_E2E_URL="http://127.0.0.1:$PORT"
# One test file at a time: they share the server and its demo tenant.
# PAYBUS_E2E_ONLY=journey (a file name without .test.mjs) runs one file, without the route
# coverage check.
if [ -n "${PAYBUS_E2E_ONLY:-}" ]; then
  TESTS=(end2end/tests/"$PAYBUS_E2E_ONLY".test.mjs)
else
  TESTS=(end2end/tests/*.test.mjs)
fi
if ! node --test --test-concurrency=1 "${TESTS[@]}"; then
  echo "end2end: failed; the server's log follows" >&2
  tail -n 100 "$LOG" >&2
  cp "$LOG" "$PAYBUS_E2E_ARTIFACTS/paybus.log"
  exit 1
fi
cp "$LOG" "$PAYBUS_E2E_ARTIFACTS/paybus.log"

# After every test file: each route of the router was visited by at least one of them.
if [ -z "${PAYBUS_E2E_ONLY:-}" ]; then
  node end2end/route_coverage.mjs "$PAYBUS_E2E_ARTIFACTS/visits.log"
fi
echo "end2end: passed; screenshots and reports are in end2end/artifacts/"
