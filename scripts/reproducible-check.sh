#!/usr/bin/env bash
# Checks that the aggregator build is reproducible: builds it twice, from
# two copies of the source tree at different paths, the first with the
# usual build cache and the second with an empty one (so that it compiles
# every package afresh instead of reusing the first build's objects), and
# fails unless both binaries have the same SHA-256. Called by
# `make reproducible-check`, which `make test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Two copies at different paths: -trimpath must hide the difference.
# Build output and other engineers' scratch files are left out.
for d in a b-longer-path; do
  mkdir -p "$tmp/$d"
  tar -C "$root" --exclude=./bin --exclude=./demo-run --exclude=./.git \
      --exclude='*.test' -cf - . | tar -C "$tmp/$d" -xf -
done

digest() {
  "$1/scripts/reproducible-build.sh" confed-aggregator "$1/out/confed-aggregator" | cut -d' ' -f1
}
first=$(digest "$tmp/a")
# An empty cache: the second build must not just reuse the first's objects.
second=$(GOCACHE="$tmp/gocache" digest "$tmp/b-longer-path")
if [[ $first != "$second" ]]; then
  echo "reproducible-check: FAILED: two builds of confed-aggregator differ: $first vs $second" >&2
  exit 1
fi
echo "reproducible-check: two builds of confed-aggregator (different paths, the second with an empty build cache) are identical: $first"
