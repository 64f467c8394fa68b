"""`tiktok user-info`: one record per account, in the order given.

Look-ups run on up to --concurrency worker threads; this thread alone writes, so rows
come out whole and in input order, each as soon as it and those before it are known.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone

from tiktok_cli.backends.base import Operation
from tiktok_cli.batch import Batch, Failures
from tiktok_cli.identifiers import Target
from tiktok_cli.models import User, utc_stamp
from tiktok_cli.output import (
    OutputSpec,
    claim_output,
    open_sink,
    plan_output,
    row_maker,
    warn_if_kept_nowhere,
    writing,
)
from tiktok_cli.session import Session
from tiktok_cli.settings import Settings
from tiktok_cli.store import recording
from tiktok_cli.workers import ordered

# Seconds between writes of observations to the store (--db) in a long batch.
RECORD_INTERVAL = 0.5


def look_up(
    targets: Sequence[Target], settings: Settings, spec: OutputSpec, *, batch: Batch, trace: bool
) -> None:
    """Write the profile of every target; failed accounts are reported and listed in --errors."""
    plan = plan_output(spec, owner=False)
    warn_if_kept_nowhere(plan, settings.db, "the profiles")
    with (
        claim_output(plan),
        Session(settings, trace=trace, concurrency=batch.concurrency) as session,
        Failures(targets, batch.errors_path) as failures,
        recording(settings.db, session.backend(Operation.USER_INFO).name) as recorder,
    ):
        backend = session.backend(Operation.USER_INFO)
        sink = open_sink(plan, identity=None)

        def fetch(target: Target) -> tuple[User, datetime]:
            return backend.user_info(target.account.value), datetime.now(timezone.utc)

        with writing(plan, sink, names=[t.owner for t in targets]) as writer:
            to_row = row_maker(plan)
            recorded_at = time.monotonic()
            for target, outcome in ordered(fetch, targets, batch.concurrency):
                if outcome.error is not None:
                    failures.add(target, outcome.error)
                    continue
                user, at = outcome.result()
                writer.write(to_row(user, None, utc_stamp(at)))
                writer.flush()
                if recorder is not None:
                    recorder.observe(user)  # at the store's time: writers' clocks may differ
                    if time.monotonic() - recorded_at >= RECORD_INTERVAL:
                        recorder.flush()  # a long batch keeps what it saw, however it ends
                        recorded_at = time.monotonic()
    verdict = failures.verdict()
    if verdict is not None:
        raise verdict
