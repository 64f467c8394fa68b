#!/bin/sh
# /srv/tiktok/record-shard.sh: this host's share of tonight's follower lists (TIKTOK_SHARD, set
# in the crontab), into the shared PostgreSQL store and a file of its own.
cd /srv/tiktok || exit 1
shard=${TIKTOK_SHARD:?set TIKTOK_SHARD=K/N in the crontab}
k=${shard%%/*}
out="followers-$(date +%F)-$k.csv"
[ -e "$out" ] && exit 0  # already complete: this is the second run of a good night
.venv/bin/tiktok followers --input accounts.txt --errors "failed-$k.txt" \
  --db postgresql://tiktok@db.example.internal/tiktok -q -o "$out"
status=$?
[ "$status" -eq 0 ] || echo "tiktok shard $shard failed with exit $status" >&2
exit "$status"
