#!/usr/bin/env bash
# Copies the VA Design System (its CSS library and web components, from
# npm) into public/, which the build copies into the site. The pages use
# it as published; nothing of it is imitated by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STYLE="$ROOT/style"
OUT="$ROOT/public/vads"
stamp="$OUT/.installed-lock"

if [ -f "$stamp" ] && cmp -s "$STYLE/package-lock.json" "$stamp"; then
  exit 0
fi
echo "==> copying the VA Design System into the site"
(cd "$STYLE" && npm ci --no-audit --no-fund --ignore-scripts)
packages="$STYLE/node_modules/@department-of-veterans-affairs"
rm -rf "$OUT" "$ROOT/public/img"
mkdir -p "$OUT/css" "$OUT/css-library" "$ROOT/public/img"

# The published stylesheets name their fonts and images by package path
# (theirs and USWDS's): point them at our copies.
for sheet in core.css utilities.css modules/m-action-link.css; do
  sed -e 's#~@department-of-veterans-affairs/css-library/dist/#/vads/css-library/#g' \
      -e 's#~@uswds/uswds/fonts/#/vads/uswds/fonts/#g' \
      "$packages/css-library/dist/stylesheets/$sheet" > "$OUT/css/$(basename "$sheet")"
done
cp -r "$packages/css-library/dist/fonts" "$packages/css-library/dist/img" "$OUT/css-library/"
mkdir -p "$OUT/uswds/fonts"
for family in source-sans-pro merriweather roboto-mono; do
  cp -r "$STYLE/node_modules/@uswds/uswds/dist/fonts/$family" "$OUT/uswds/fonts/"
done
cp -r "$packages/web-components/dist/component-library" "$OUT/component-library"
# The icon sprite is looked for at /img/sprite.svg.
cp "$packages/web-components/dist/img/sprite.svg" "$ROOT/public/img/sprite.svg"
cp "$STYLE/package-lock.json" "$stamp"
