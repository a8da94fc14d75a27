# shellcheck shell=bash
# Shared by the cloud scripts: dry-run by default. Sourced, not run.
#
# Every command goes through run: without --apply it is printed (shell-
# quoted, ready to copy), with --apply it is printed and executed.

APPLY=0
parse_common_flags() {
  for arg in "$@"; do
    case $arg in
      --apply) APPLY=1 ;;
      --dry-run) APPLY=0 ;;
      -h|--help) usage; exit 0 ;;
      *) echo "unknown argument: $arg (want --apply, --dry-run or --help)" >&2; exit 2 ;;
    esac
  done
  if [[ $APPLY == 0 ]]; then
    echo "# DRY RUN: printing the commands; run with --apply to execute them." >&2
  fi
}

run() {
  printf '%q ' "$@" | sed 's/ $//'
  echo
  if [[ $APPLY == 1 ]]; then
    "$@"
  fi
}

require() {
  local name=$1
  if [[ -z ${!name:-} ]]; then
    echo "set $name (see the comments at the top of this script)" >&2
    exit 2
  fi
}

# run_capture VAR CMD...: like run, and with --apply stores CMD's standard
# output in VAR; in a dry run VAR gets a placeholder naming it.
run_capture() {
  local var=$1
  shift
  # shellcheck disable=SC2016 # a literal $( in the printed command
  printf '%s=$(' "$var"
  printf '%q ' "$@" | sed 's/ $//'
  echo ')'
  if [[ $APPLY == 1 ]]; then
    printf -v "$var" '%s' "$("$@")"
  else
    printf -v "$var" '%s' "\$$var"
  fi
}
