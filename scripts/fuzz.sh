#!/usr/bin/env bash
# Runs every fuzz target in the module for a bounded time each.
#
#   scripts/fuzz.sh [FUZZTIME]          # default 20s per target (make fuzz)
#   scripts/fuzz.sh 5s                  # make fuzz-ci
#   scripts/fuzz.sh --seed-corpus [N]   # run each target N executions (default
#                                       # 300) and copy what the engine found
#                                       # into <pkg>/testdata/fuzz/<Target>/
#   FUZZ_ONLY=REGEXP scripts/fuzz.sh …  # only targets whose name matches
#
# Each target also runs, without -fuzz, on its committed corpus in
# testdata/fuzz/<Target>/ as part of go test. A target that finds a failure
# stops the script (the failing input is written to testdata/fuzz/ by go
# test); every run is bounded by `timeout` in case a target hangs.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=false
fuzztime=${1:-20s}
if [[ ${1:-} == --seed-corpus ]]; then
  seed=true
  fuzztime="${2:-300}x"
fi

# seconds of a FUZZTIME like 5s, 2m or 300x (counted as 60s), for the
# timeout bound.
seconds() {
  case $1 in
    *x) echo 60 ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo 60 ;;
  esac
}
bound=$(($(seconds "$fuzztime") + 300))
cache=$(go env GOCACHE)/fuzz
module=$(go list -m)
targets=0

while read -r file; do
  dir=$(dirname "${file#./}")
  pkg="./$dir"
  while read -r target; do
    if [[ -n ${FUZZ_ONLY:-} && ! $target =~ $FUZZ_ONLY ]]; then
      continue
    fi
    targets=$((targets + 1))
    echo "== $pkg $target ($fuzztime)"
    timeout "$bound" go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=2s "$pkg"
    if $seed; then
      src="$cache/$module/$dir/$target"
      dst="$dir/testdata/fuzz/$target"
      mkdir -p "$dst"
      if [[ -d $src ]]; then
        # The engine's newest finds, a few of them: enough to start from.
        mapfile -t found < <(ls -t "$src")
        for f in "${found[@]:0:8}"; do cp "$src/$f" "$dst/$f"; done
      fi
      echo "   corpus: $(ls "$dst" | wc -l) files in $dst"
    fi
  done < <(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //')
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./deploy/' | sort)

echo "fuzzed $targets targets for $fuzztime each"
