#!/usr/bin/env bash
# Breaks each rule a loss test guards, one patch at a time
# (tests/mutants/NAME.patch), runs the test that names the rule, and
# checks that it FAILS; then puts src/ back. A test that still passes
# with its rule broken cannot see the loss it promises to catch.
#
#   tests/mutate.sh            every row below
#   tests/mutate.sh NAME...    the rows of these mutations
#
# Needs a clean src/ (it restores src/ with git checkout on any exit,
# Ctrl-C included). Prints one line per row and a summary; exits 1 when
# a mutation survived or did not apply. Each row costs a debug build and
# one test run (a minute or two on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git diff --quiet -- src || ! git diff --cached --quiet -- src; then
  echo "mutate.sh: src/ has uncommitted changes; commit or stash them first" >&2
  exit 2
fi
restore() { git checkout -q -- src; }
trap restore EXIT
trap 'exit 130' INT TERM

# mutation | test file | test name filter | what breaks
rows=(
  "mark-before-print|crash|sigkill_at_any_moment_loses_nothing|pull marks its records before printing them"
  "mark-before-print|concurrency|writers_pullers_and_compaction_lose_nothing|the same"
  "mark-before-print|tiers|sqlite::concurrent_writers_and_a_killed_puller|the same, on SQLite"
  "compact-removes-pending|crash|sigkill_at_any_moment_loses_nothing|compaction removes pending records too"
  "compact-removes-pending|concurrency|writers_pullers_and_compaction_lose_nothing|the same"
  "compact-removes-pending|tiers|jsonl::compaction_racing_pushes_keeps_every_push|the same"
  "compact-removes-pending|tiers|redis::compaction_racing_pushes_keeps_every_push|the same, on Redis"
  "compact-removes-pending|tiers|redis::concurrent_writers_and_a_killed_puller|the same, on Redis"
  "compact-removes-pending-sqlite|tiers|sqlite::compaction_racing_pushes_keeps_every_push|the same, and SQLite's query selects pending rows too"
  "compact-removes-pending-sqlite|tiers|sqlite::concurrent_writers_and_a_killed_puller|the same"
  "ack-marks-other-records|crash|sigkill_at_any_moment_loses_nothing|ack also marks the pending records it passes"
  "ack-marks-other-records|cli|ack_marks_by_id_all_or_nothing|the same"
  "no-pdeathsig|jobs|a_killed_wrappers_job_gets_sigterm_and_one_lost_record|a wrapped job outlives its SIGKILLed wrapper"
  "skip-append-fsync|crash|a_push_is_on_disk_before_it_exits|push exits 0 without fdatasync"
)

only=("$@")
caught=0 survived=0 broken=0
for row in "${rows[@]}"; do
  IFS='|' read -r mutant file test what <<<"$row"
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " == *" $mutant "* ]]; then
    continue
  fi
  if ! git apply "tests/mutants/$mutant.patch"; then
    echo "BROKEN   $mutant: the patch no longer applies to src/"
    broken=$((broken + 1))
    continue
  fi
  log="target/mutate-$mutant-$file.log"
  start=$SECONDS
  # A mutant may make a test wait forever: 10 minutes is a failure too.
  if timeout 600 cargo test -q --test "$file" -- "$test" --test-threads 1 >"$log" 2>&1; then
    if grep -q "running 0 tests" "$log" || ! grep -q "test result: ok. [1-9]" "$log"; then
      echo "BROKEN   $mutant: no test matched $file $test (see $log)"
      broken=$((broken + 1))
    else
      echo "SURVIVED $mutant: $file $test passed with the rule broken ($what; $log)"
      survived=$((survived + 1))
    fi
  else
    if grep -qE "^error\[E[0-9]+\]|could not compile" "$log"; then
      echo "BROKEN   $mutant: src/ no longer builds with it (see $log)"
      broken=$((broken + 1))
      restore
      continue
    fi
    why=$(grep -m1 -E "^(thread .* panicked|error)" -A1 "$log" | tail -1 | cut -c1-150 || true)
    echo "CAUGHT   $mutant by $file $test in $((SECONDS - start))s: $why"
    caught=$((caught + 1))
  fi
  restore
done
echo "mutate.sh: $caught caught, $survived survived, $broken broken"
[ "$survived" -eq 0 ] && [ "$broken" -eq 0 ]
