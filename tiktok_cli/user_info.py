"""`tiktok user-info`: one record per account, in the order given.

Each profile is the Python API's (``api.Client.user_info``); the command adds the output,
the batch's failures and the store. Look-ups run on up to --concurrency worker threads;
this thread alone writes, so rows come out whole and in input order, each as soon as it
and those before it are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from tiktok_cli.api import Client
from tiktok_cli.backends.base import Operation
from tiktok_cli.batch import Batch, Failures
from tiktok_cli.identifiers import Target
from tiktok_cli.models import User, utc_stamp
from tiktok_cli.output import OutputSpec, open_output, plan_output, warn_if_kept_nowhere
from tiktok_cli.settings import Settings
from tiktok_cli.store import recordings
from tiktok_cli.workers import ordered


def look_up(
    targets: Sequence[Target], settings: Settings, spec: OutputSpec, *, batch: Batch, trace: bool
) -> None:
    """Write the profile of every target; failed accounts are reported and listed in --errors."""
    plan = plan_output(spec, owner=False)
    warn_if_kept_nowhere(plan, settings.db, "the profiles")
    with (
        open_output(plan, names=[t.owner for t in targets]) as output,
        Client.from_settings(settings, trace=trace, concurrency=batch.concurrency) as client,
        Failures(targets, batch.errors_path) as failures,
        recordings(settings.db, client.source(Operation.USER_INFO.value)) as recorder,
        output.writing(),
    ):

        def fetch(target: Target) -> tuple[User, datetime]:
            return client.user_info(target.account.value), datetime.now(timezone.utc)

        output.start()
        for target, outcome in ordered(fetch, targets, batch.concurrency):
            if outcome.error is not None:
                failures.add(target, outcome.error)
                continue
            user, at = outcome.result()
            output.write_page([user], None, utc_stamp(at))
            recorder.observe(user)
    verdict = failures.verdict()
    if verdict is not None:
        raise verdict
