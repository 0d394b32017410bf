#!/usr/bin/env bash
# Runs every check and test: no private key in the repository, formatting,
# clippy, unit tests, the integration tests (store conformance on SQLite and
# on PostgreSQL, HTTP, the binary), a small chaos run and the Playwright
# suite in Chromium.
#
# PostgreSQL: ITF_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names a server where the tests may create and drop their own databases.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/install.sh

./scripts/check-no-keys.sh

echo "==> formatting"
cargo fmt --check

echo "==> building the WebAssembly bundle as it ships (release, compressed ahead)"
# The browser tests weigh the page as veterans get it; the server under test
# is the debug build the Rust tests make.
site="$CARGO_TARGET_DIR/site-release"
LEPTOS_SITE_ROOT="$site" cargo leptos build --release --frontend-only --precompress

echo "==> clippy"
cargo clippy --all-targets -- -D warnings
cargo clippy -p itf-server --all-targets --features failpoints -- -D warnings
cargo clippy -p itf-frontend --target wasm32-unknown-unknown -- -D warnings

echo "==> Rust tests"
# failpoints: the hooks the lease tests stall a turn with.
cargo test -p itf-app -p itf-server --features itf-server/failpoints

echo "==> chaos run (a small one: kills, a stall, fault modes, a database restart)"
ITF_BENCH_PROFILE=debug bench/chaos --requests 300 --instances 2

echo "==> browser tests"
export ITF_BIN="$CARGO_TARGET_DIR/debug/itf-async"
export ITF_SITE_ROOT="$site"
(cd end2end && npx playwright test --project e2e)
