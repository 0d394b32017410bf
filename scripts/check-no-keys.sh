#!/usr/bin/env bash
# Fails if any tracked file holds a private key. Development keys are made
# on first use under data/ (ignored by git); nothing that signs belongs in
# the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
if found="$(git grep -l -I -e 'PRIVATE[ ]KEY' -- .)"; then
  echo "These tracked files hold a private key; remove them from the repository:" >&2
  echo "$found" >&2
  exit 1
fi
echo "==> no private key in tracked files"
