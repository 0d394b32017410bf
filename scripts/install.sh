#!/usr/bin/env bash
# Installs what building, running and testing ITF Async needs, reusing what
# is already there, so that a warm machine gets through in seconds.
#
# Source it (`. scripts/install.sh`) to also get PATH and CARGO_TARGET_DIR
# set for the commands that follow.
set -euo pipefail

ITF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Builds are shared between clones on this machine, outside the clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/itf-async/target}"
ITF_TOOLS="${ITF_TOOLS:-$HOME/.cache/itf-async/tools}"
export PATH="$ITF_TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.5
# Debian's binaryen (108) produces modules that fail to hydrate; npm's works.
BINARYEN_VERSION=132.0.0

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else
    echo "Run as root, or install it by hand: $*" >&2
    return 1
  fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
  cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked
fi

# cargo-leptos needs the wasm-bindgen CLI of exactly the library's version.
wasm_bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' "$ITF_ROOT/Cargo.lock")"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wasm_bindgen_version\$"; then
  say "installing wasm-bindgen-cli $wasm_bindgen_version (about 2 minutes, once)"
  cargo install "wasm-bindgen-cli@$wasm_bindgen_version"
fi

if [ ! -x "$ITF_TOOLS/node_modules/.bin/wasm-opt" ]; then
  say "installing wasm-opt from npm's binaryen $BINARYEN_VERSION"
  mkdir -p "$ITF_TOOLS"
  npm install --prefix "$ITF_TOOLS" --no-save --no-audit --no-fund "binaryen@$BINARYEN_VERSION"
fi

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's Chromium for the browser tests"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

lock="$ITF_ROOT/end2end/package-lock.json"
stamp="$ITF_ROOT/end2end/node_modules/.installed-lock"
if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
  say "installing the end-to-end test packages"
  (cd "$ITF_ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  cp "$lock" "$stamp"
fi

bash "$ITF_ROOT/scripts/vads.sh"
