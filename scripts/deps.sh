#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those
# missing. Each line of NEEDS is "<probe command> <debian package>": the
# package is installed when the probe fails. Called by `make deps` (and so by
# `make test`) and by .ci/run.
set -euo pipefail

NEEDS=(
  "command -v protoc|protobuf-compiler"
  "command -v ansible-playbook|ansible-core"
  "command -v ansible-lint|ansible-lint"
  "command -v systemd-analyze|systemd"
  "command -v shellcheck|shellcheck"
  "command -v chromium|chromium"
  "/usr/bin/python3 -c 'import torch'|python3-torch"
)

missing=()
for need in "${NEEDS[@]}"; do
  probe=${need%%|*}
  pkg=${need##*|}
  if ! bash -c "$probe" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
