#!/usr/bin/env bash
# Re-fetch GraphiQL's browser bundles from the npm registry into gateway/ide/static/.
#
# The bundles are committed, so `make run`, `pip install .` and the gateway itself never need Node or the network;
# run this by hand only to upgrade them, then commit what changed (the page and the browser test show whether the
# new versions still work: `.venv/bin/pytest tests/experience`). Versions can be overridden from the environment:
#   GRAPHIQL_VERSION=3.9.0 gateway/ide/fetch_assets.sh
# graphiql 4 and later ship no UMD bundle; stay on 3.x unless the page is rewritten for ES modules.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.9.0}"
EXPLORER_VERSION="${EXPLORER_VERSION:-3.2.6}"        # @graphiql/plugin-explorer, built against graphiql 3.9's UMD
EXPLORER_CORE_VERSION="${EXPLORER_CORE_VERSION:-0.9.0}" # graphiql-explorer, bundled inside the plugin (license only)
REACT_VERSION="${REACT_VERSION:-18.3.1}"                # React 19 ships no UMD build

static="$(cd "$(dirname "$0")" && pwd)/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# npm pack checks each tarball against the registry's integrity hash before writing it.
unpack() {
  local spec="$1" dir="$2" tarball
  tarball="$(cd "$work" && npm pack --silent "$spec" | tail -n 1)"
  mkdir -p "$work/$dir"
  tar -xzf "$work/$tarball" -C "$work/$dir" --strip-components=1
}

unpack "graphiql@$GRAPHIQL_VERSION" graphiql
unpack "@graphiql/plugin-explorer@$EXPLORER_VERSION" explorer
unpack "graphiql-explorer@$EXPLORER_CORE_VERSION" explorer-core
unpack "react@$REACT_VERSION" react
unpack "react-dom@$REACT_VERSION" react-dom

rm -rf "$static"
mkdir -p "$static/licenses"
cp "$work/graphiql/graphiql.min.js" "$work/graphiql/graphiql.min.css" "$static/"
cp "$work/explorer/dist/index.umd.js" "$static/plugin-explorer.umd.js"
cp "$work/explorer/dist/style.css" "$static/plugin-explorer.css"
cp "$work/react/umd/react.production.min.js" "$work/react-dom/umd/react-dom.production.min.js" "$static/"
cp "$work/graphiql/LICENSE" "$static/licenses/graphiql.LICENSE"
cp "$work/react/LICENSE" "$static/licenses/react.LICENSE"
cp "$work/react-dom/LICENSE" "$static/licenses/react-dom.LICENSE"
cp "$work/explorer-core/LICENSE" "$static/licenses/graphiql-explorer.LICENSE"
# @graphiql/plugin-explorer's tarball has no LICENSE file; it is MIT, from the same repository as graphiql.
cp "$work/graphiql/LICENSE" "$static/licenses/graphiql-plugin-explorer.LICENSE"

cat > "$static/VERSIONS" <<VERSIONS
graphiql $GRAPHIQL_VERSION
@graphiql/plugin-explorer $EXPLORER_VERSION
graphiql-explorer $EXPLORER_CORE_VERSION
react $REACT_VERSION
react-dom $REACT_VERSION
VERSIONS

# Checksums of what is served: a test compares them with the files, so an accidental edit is caught.
(cd "$static" && sha256sum ./*.js ./*.css > SHA256SUMS)
echo "GraphiQL assets written to $static:"
cat "$static/VERSIONS"
