#!/usr/bin/env bash
# run-shards.sh: tonight's follower lists, recorded by N hosts at once into one PostgreSQL store.
#
#   examples/parallel/run-shards.sh [hosts.txt]
#
# hosts.txt lists one ssh login per host (GNU parallel's --sshloginfile); N hosts split the
# accounts N ways. Every host has the same /srv/tiktok (a clone with its .venv, and
# accounts.txt), its settings in its own config file (`tiktok config set api_token` there,
# once) and the store's password in ~/.pgpass: no secret travels on a command line.
set -euo pipefail

hosts=${1:-hosts.txt}
store=${TIKTOK_STORE:-postgresql://tiktok@db.example.internal/tiktok}
# Requests a second all hosts together may make to the token API (its limit is per token);
# each process has its own limiter, so each gets an Nth.
rate=${TIKTOK_TOTAL_RATE:-6}

n=$(grep -cvE '^[[:space:]]*(#|$)' "$hosts")
per_host=$(awk -v rate="$rate" -v n="$n" 'BEGIN { printf "%g", rate / n }')
log="shards-$(date +%F).log"

# Share K runs on whichever host has a free slot (one per host). No --retries here: GNU
# parallel would rerun a share whatever its failure, fetching it all again even when the
# answer cannot change (exit 1: a private account). run-share.sh retries, on its host, only
# the failures a rerun can get past.
if seq 0 $((n - 1)) | parallel --sshloginfile "$hosts" --jobs 1 --joblog "$log" \
  --tag --line-buffer \
  "cd /srv/tiktok && examples/parallel/run-share.sh {} $n $store $per_host"; then
  exit 0
else
  status=$?  # GNU parallel's: how many shares failed, after run-share.sh's retries
  echo "run-shards: $status of $n shares failed; $log says which (column Exitval)" >&2
  exit 1
fi
