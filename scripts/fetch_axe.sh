#!/usr/bin/env bash
# Fetches axe-core (the accessibility rules the browser tests run) from its npm package into var/axe/.
# Never a CDN: `npm pack` downloads the published tarball through npm's ordinary client and registry.
# Writes var/axe/axe.min.js plus VERSION and LICENSE next to it; does nothing when that version is there.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${AXE_VERSION:-4.10.3}
DEST=var/axe
if [ -f "$DEST/axe.min.js" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is not installed; it is needed to fetch axe-core $VERSION" >&2; exit 1; }
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
( cd "$TMP" && npm pack --silent "axe-core@$VERSION" >/dev/null )
tar -xzf "$TMP"/axe-core-"$VERSION".tgz -C "$TMP" package/axe.min.js package/LICENSE package/package.json
cp "$TMP/package/axe.min.js" "$DEST/axe.min.js"
cp "$TMP/package/LICENSE" "$DEST/LICENSE"
node -e 'const p=require(process.argv[1]); console.log(p.name+" "+p.version+" ("+p.license+")")' "$TMP/package/package.json" > "$DEST/SOURCE"
echo "$VERSION" > "$DEST/VERSION"
echo "axe-core $VERSION fetched into $DEST ($(cat "$DEST/SOURCE"))"
