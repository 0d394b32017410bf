#!/usr/bin/env bash
# Writes a screenshot gallery of the start page in each of its six states,
# and of the operators' console, at desktop and mobile widths, with an
# index.html, for UX review.
# Usage: scripts/gallery.sh [OUTPUT_DIR]   (default: gallery/)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/install.sh
export GALLERY_DIR="$(realpath -m "${1:-gallery}")"
cargo leptos build
export ITF_BIN="$CARGO_TARGET_DIR/debug/itf-async"
export ITF_SITE_ROOT="$PWD/target/site"
(cd end2end && npx playwright test --project gallery)
echo "Open $GALLERY_DIR/index.html"
