# shellcheck shell=bash
# .ci/lib.sh: step timing and bookkeeping for .ci/run.
# Each step runs in a subshell with errexit on, so a failing command inside a step function fails
# that step; the run goes on to the independent steps and exits non-zero at the end.

CI_STEP_NAMES=()
CI_STEP_RESULTS=()
CI_STEP_SECONDS=()
CI_FAILED=()

ci_now_ms() { date +%s%3N; }

ci_seconds_since() { # ci_seconds_since START_MS -> "12.3"
  local elapsed=$(( $(ci_now_ms) - $1 ))
  printf '%d.%d' $(( elapsed / 1000 )) $(( (elapsed % 1000) / 100 ))
}

ci_record() { # ci_record NAME STATUS START_MS
  local seconds
  seconds=$(ci_seconds_since "$3")
  CI_STEP_NAMES+=("$1")
  CI_STEP_SECONDS+=("$seconds")
  if [ "$2" -eq 0 ]; then
    CI_STEP_RESULTS+=(ok)
    echo "<<< $1: ok in ${seconds} s"
  else
    CI_STEP_RESULTS+=("FAILED ($2)")
    CI_FAILED+=("$1")
    echo "<<< $1: FAILED with status $2 after ${seconds} s"
  fi
}

# run_step NAME COMMAND [ARG...]: runs one step in a subshell and records its time and result.
# Never call it in a condition (`if`, `||`): bash then ignores errexit inside the step.
run_step() {
  local name=$1 start status
  shift
  echo
  echo ">>> ${name}   ($(date -u +%H:%M:%S))"
  start=$(ci_now_ms)
  set +e
  ( set -e; "$@" )
  status=$?
  set -e
  ci_record "$name" "$status" "$start"
}

# step_failed NAME: true when the step of that name failed.
step_failed() {
  local failed
  for failed in "${CI_FAILED[@]+"${CI_FAILED[@]}"}"; do
    [ "$failed" = "$1" ] && return 0
  done
  return 1
}

# require_step NAME: stops the run when a step that everything after it needs has failed.
require_step() {
  if step_failed "$1"; then
    echo "!!! ${1} failed: the steps after it cannot run"
    print_timings
    exit 1
  fi
}

print_timings() {
  local i
  echo
  echo "=== step timings"
  for i in "${!CI_STEP_NAMES[@]}"; do
    printf '  %-36s %8s s  %s\n' "${CI_STEP_NAMES[$i]}" "${CI_STEP_SECONDS[$i]}" "${CI_STEP_RESULTS[$i]}"
  done
  printf '  %-36s %8s s\n' "total" "$(ci_seconds_since "$CI_START_MS")"
}
