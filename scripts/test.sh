#!/usr/bin/env bash
# Runs every test: unit tests, the store conformance suite on SQLite and on
# PostgreSQL, HTTP integration tests, and the Playwright suite in Chromium.
#
# PostgreSQL: ITF_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names a server where the tests may create and drop their own databases.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/install.sh

echo "==> building the server and the WebAssembly bundle"
cargo leptos build

echo "==> Rust tests"
cargo test -p itf-app -p itf-server

echo "==> browser tests"
export ITF_BIN="$CARGO_TARGET_DIR/debug/itf-async"
export ITF_SITE_ROOT="$PWD/target/site"
(cd end2end && npx playwright test --project e2e)
