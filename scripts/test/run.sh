#!/usr/bin/env bash
# Every test, after `npm test`'s checks: the mocha files under Hardhat in two processes at once,
# Vitest for the dashboard after the second. A serial run leaves about half of two cores idle (its
# tests wait on sockets, child processes, timers and chains), so two runs side by side take about
# half the time (docs/development.md "CI time"). Each process has its own in-process Hardhat chain.
#
# The "nodes" shard (node processes, consensus, agents, the system tests) streams its output; the
# "rest" shard (contracts, indexer, dashboard end to end, functions, chain clients) writes to a file
# printed when both are done, so neither's lines interleave. Every runner runs to the end, so
# the counts cover every test. Interrupted, the script stops both shards.
set -uo pipefail
cd "$(dirname "$0")/../.."

nodes=()
rest=()
while IFS= read -r file; do
  case "$file" in
    test/system/* | test/node/agents/* | test/node/consensus/* | test/node/app/* | test/node/edge/* | test/node/client/* | \
      test/node/committee/* | test/node/services/* | test/node/cli.test.ts) nodes+=("$file") ;;
    *) rest+=("$file") ;;
  esac
done < <(find test -name '*.test.ts' | LC_ALL=C sort)

rest_log=$(mktemp)
nodes_pid=
rest_pid=
stop_shards() {
  # Each shard runs in its own process group (set -m below): its Hardhat, node and Chromium
  # processes go with it.
  for pid in $nodes_pid $rest_pid; do kill -- "-$pid" 2> /dev/null; done
  rm -f "$rest_log"
}
trap stop_shards EXIT
trap 'echo "interrupted: both shards stopped; the second one'"'"'s output so far:"; cat "$rest_log"; exit 130' INT TERM

echo "mocha: ${#nodes[@]} files here; ${#rest[@]} files, then Vitest, in a second process (printed when both are done)"
# Both in the background, waited for: bash runs a trap only between commands, and `wait` is one.
set -m
(
  npx hardhat test --no-compile "${rest[@]}"
  mocha_status=$?
  npx vitest run --config dashboard/vitest.config.ts
  vitest_status=$?
  [ "$mocha_status" -eq 0 ] && [ "$vitest_status" -eq 0 ]
) < /dev/null > "$rest_log" 2>&1 &
rest_pid=$!
npx hardhat test --no-compile "${nodes[@]}" < /dev/null &
nodes_pid=$!
set +m
wait "$nodes_pid"
nodes_status=$?
nodes_pid=
wait "$rest_pid"
rest_status=$?
rest_pid=
echo
echo "second process: ${#rest[@]} mocha files, then Vitest"
cat "$rest_log"
[ "$nodes_status" -eq 0 ] && [ "$rest_status" -eq 0 ]
