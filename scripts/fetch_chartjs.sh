#!/usr/bin/env bash
# Fetches Chart.js (the campaign report's charts) from its npm package into the app's static files, where it
# is committed: the app serves it itself (never a CDN) and runs without network access once vendored.
# `npm pack` downloads the published tarball through npm's ordinary client and registry. Writes
# smarketing/core/static/vendor/chartjs/chart.umd.js with VERSION, LICENSE and SOURCE next to it; does nothing
# when that version is already there. Upgrade: CHARTJS_VERSION=4.x.y scripts/fetch_chartjs.sh, then commit.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${CHARTJS_VERSION:-4.5.1}
DEST=smarketing/core/static/vendor/chartjs
if [ -f "$DEST/chart.umd.js" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is not installed; it is needed to fetch Chart.js $VERSION" >&2; exit 1; }
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
( cd "$TMP" && npm pack --silent "chart.js@$VERSION" >/dev/null )
tar -xzf "$TMP"/chart.js-"$VERSION".tgz -C "$TMP" package/dist/chart.umd.js package/LICENSE.md package/package.json
# The source map is not shipped: drop its reference, or collectstatic's manifest storage refuses the file.
sed '/^\/\/# sourceMappingURL=/d' "$TMP/package/dist/chart.umd.js" > "$DEST/chart.umd.js"
cp "$TMP/package/LICENSE.md" "$DEST/LICENSE.md"
node -e 'const p=require(process.argv[1]); console.log(p.name+" "+p.version+" ("+p.license+") from the npm registry")' "$TMP/package/package.json" > "$DEST/SOURCE"
echo "$VERSION" > "$DEST/VERSION"
echo "Chart.js $VERSION fetched into $DEST ($(cat "$DEST/SOURCE"))"
