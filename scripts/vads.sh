#!/usr/bin/env bash
# Copies the VA Design System (its CSS library and web components, from
# npm) into public/, which the build copies into the site. The pages use
# it as published; nothing of it is imitated by hand.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STYLE="$ROOT/style"
OUT="$ROOT/public/vads"
stamp="$OUT/.installed-lock"

packages="$STYLE/node_modules/@department-of-veterans-affairs"
if ! [ -f "$stamp" ] || ! cmp -s "$STYLE/package-lock.json" "$stamp"; then
  echo "==> copying the VA Design System into the site"
  (cd "$STYLE" && npm ci --no-audit --no-fund --ignore-scripts)
  rm -rf "$OUT" "$ROOT/public/img"
  mkdir -p "$OUT/css" "$OUT/css-library" "$ROOT/public/img"
  cp -r "$packages/css-library/dist/fonts" "$packages/css-library/dist/img" "$OUT/css-library/"
  mkdir -p "$OUT/uswds/fonts"
  for family in source-sans-pro merriweather roboto-mono; do
    cp -r "$STYLE/node_modules/@uswds/uswds/dist/fonts/$family" "$OUT/uswds/fonts/"
  done
  cp -r "$packages/web-components/dist/component-library" "$OUT/component-library"
  # The icon sprite is looked for at /img/sprite.svg.
  cp "$packages/web-components/dist/img/sprite.svg" "$ROOT/public/img/sprite.svg"
  cp "$STYLE/package-lock.json" "$stamp"
fi

# The published stylesheets name their fonts and images by package path
# (theirs and USWDS's): point them at our copies, relative to the sheet,
# so that they are served under the same versioned path as the sheet.
sheets="$packages/css-library/dist/stylesheets"
relative() {
  sed -e 's#~@department-of-veterans-affairs/css-library/dist/#../css-library/#g' \
      -e 's#~@uswds/uswds/fonts/#../uswds/fonts/#g' "$1"
}
relative "$sheets/core.css" > "$OUT/css/core.css"
relative "$sheets/modules/m-action-link.css" > "$OUT/css/m-action-link.css"
# Of the utilities sheet (460 KB), only the classes the pages use.
used="$(grep -rhoE 'vads-u-[a-z0-9-]+' "$ROOT/app/src" | sort -u)"
for class in $used; do
  relative "$sheets/utilities.css" | awk -v rule=".$class {" '$0 == rule { on = 1 } on { print } on && /^}/ { on = 0 }'
done > "$OUT/css/utilities.css"
