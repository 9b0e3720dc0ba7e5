#!/usr/bin/env bash
# Installs what building paybus needs, only when missing: the wasm32 target, wasm-bindgen-cli
# (pinned to the crate's wasm-bindgen), cargo-leptos, binaryen (wasm-opt). Sourced by run and test.
set -euo pipefail

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/paybus-target}"
export PATH="$HOME/.cargo/bin:$PATH"
WASM_BINDGEN_VERSION=0.2.112
CARGO_LEPTOS_VERSION=0.3.5

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 || {
    as_root apt-get update >/dev/null 2>&1
    as_root apt-get install -y --no-install-recommends "$@" >/dev/null
  }
}

ensure_build_tools() {
  if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
    cargo install wasm-bindgen-cli --locked --version "$WASM_BINDGEN_VERSION"
  fi
  if ! command -v cargo-leptos >/dev/null; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  command -v wasm-opt >/dev/null || apt_install binaryen
}

ensure_browser_tools() {
  command -v chromium >/dev/null || apt_install chromium
  if [ ! -d end2end/node_modules ]; then
    log "installing end2end npm packages"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
}

build_site() {
  log "building paybus (server + wasm dashboard, one chunk per page) with cargo-leptos"
  # `--split` cuts every lazy route into its own wasm chunk, as the release bundle is; the
  # end-to-end suite then runs against the same loading path merchants get.
  cargo leptos build --split
}
