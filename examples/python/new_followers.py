"""Print the followers an account gained since this script last ran, as CSV.

    python examples/python/new_followers.py cnn seen-cnn.txt >> new-followers.csv

STATE_FILE keeps who the last complete run saw (one id a line); the first run prints every
follower. Settings come from the environment and the config file, as for `tiktok`
(`tiktok doctor` checks them). A failure is one line on stderr and the exit code
`tiktok followers` would give; the state is saved only after the whole list was read, so
a failed run's new followers are printed again by the next one.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from tiktok_cli import api


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: new_followers.py ACCOUNT STATE_FILE\n")
        return 2
    account, state = argv[0], Path(argv[1])
    known = set(state.read_text(encoding="utf-8").split()) if state.exists() else set()
    seen: list[str] = []
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["unique_id", "user_id", "nickname"])
    try:
        for user in api.followers(account):  # pages are fetched as the loop goes
            key = user.user_id or user.unique_id
            if key is None:
                continue
            seen.append(key)
            if key not in known:
                out.writerow([user.unique_id, user.user_id, user.nickname])
    except api.TikTokCliError as exc:
        sys.stderr.write(f"new_followers: error: {exc}\n")
        return int(exc.exit_code)
    part = state.with_name(state.name + ".part")
    part.write_text("".join(key + "\n" for key in seen), encoding="utf-8")
    part.replace(state)  # all or nothing: never half a list
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
