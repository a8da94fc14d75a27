#!/usr/bin/env bash
# Builds one confed binary reproducibly: the same source and the same Go
# toolchain give the same bytes, whatever the machine, the directory or the
# time. This is how the aggregator that runs in the TEE is built
# (deploy/docker/aggregator.Dockerfile calls this script), and how an
# auditor rebuilds it to compare digests.
#
#   scripts/reproducible-build.sh [BINARY] [OUT]
#     BINARY  a directory under cmd/ (default confed-aggregator)
#     OUT     output path (default bin/reproducible/BINARY)
#
# Prints "sha256:<hex>  OUT". What makes it reproducible:
#   CGO_ENABLED=0       no C toolchain or libc in the build
#   -trimpath           no file-system paths in the binary
#   -buildvcs=false     no VCS stamp (the tree may be a tarball or dirty)
#   -ldflags=-buildid=  no build ID (it hashes inputs that include paths)
#   GOTOOLCHAIN=local   refuse to switch toolchains silently; the toolchain
#                       must be the one the go.mod 'go' line and
#                       CONFED_GO_VERSION name (see docs/deploy.md)
#   SOURCE_DATE_EPOCH   fixed (0 unless set), for tools that stamp times
#   GOAMD64=v1, GOOS/GOARCH linux/amd64 unless set
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-confed-aggregator}
out=${2:-bin/reproducible/$bin}
if [[ ! -d cmd/$bin ]]; then
  echo "reproducible-build: no such binary: cmd/$bin" >&2
  exit 2
fi

# The toolchain is part of what is measured: refuse any other.
want=${CONFED_GO_VERSION:-}
have=$(GOTOOLCHAIN=local go env GOVERSION)
if [[ -n $want && $have != "go$want" ]]; then
  echo "reproducible-build: toolchain is $have, CONFED_GO_VERSION wants go$want" >&2
  exit 1
fi

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS='' SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
export GOOS=${GOOS:-linux} GOARCH=${GOARCH:-amd64} GOAMD64=${GOAMD64:-v1}
mkdir -p "$(dirname "$out")"
go build -trimpath -buildvcs=false -ldflags='-buildid=' -o "$out" "./cmd/$bin"
digest=$(sha256sum "$out" | cut -d' ' -f1)
echo "sha256:$digest  $out ($have, $GOOS/$GOARCH)"
