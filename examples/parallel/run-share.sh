#!/usr/bin/env bash
# run-share.sh: share K of N of tonight's follower lists, on this host, into the shared store.
# run-shards.sh starts it over ssh in each host's clone (/srv/tiktok):
#
#   examples/parallel/run-share.sh K N STORE RATE
#
# Only a failure that a rerun can get past is retried, twice, after a wait: README's exit
# codes 6, 7, 74, 75, 130 and 143 (blocked, network or server, disk, busy, interrupted;
# errors.py's RETRYABLE). Any other (1: some accounts failed for good, such as a private
# one; 3, 4, 5, …) would come back the same after fetching the whole share again, so it is
# not. The exit status is tiktok's last one.
set -uo pipefail

if [ $# -ne 4 ]; then
  echo "usage: run-share.sh K N STORE RATE" >&2
  exit 2
fi
share=$1 shares=$2 store=$3 rate=$4
retries=${TIKTOK_SHARE_RETRIES:-2}
wait_seconds=${TIKTOK_RETRY_WAIT:-60}

attempt=0
while :; do
  .venv/bin/tiktok followers --input accounts.txt --shard "$share/$shares" --db "$store" \
    --rate "$rate" -f none -q
  status=$?
  case $status in
    6 | 7 | 74 | 75 | 130 | 143) ;;
    *) exit "$status" ;;
  esac
  if [ "$attempt" -ge "$retries" ]; then
    exit "$status"
  fi
  attempt=$((attempt + 1))
  echo "run-share: share $share/$shares exited $status; retry $attempt of $retries in $((wait_seconds * attempt))s" >&2
  sleep "$((wait_seconds * attempt))"
done
