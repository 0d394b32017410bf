#!/usr/bin/env bash
# Runs ITF Async on its embedded defaults: SQLite under data/, the provider
# simulator, mock sign-in. Serves http://127.0.0.1:3000 until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/install.sh
exec cargo leptos serve "$@"
