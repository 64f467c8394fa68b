"""`tiktok user-info`: one record per account, in the order given.

Look-ups run on up to --concurrency worker threads; this thread alone writes, so rows
come out whole and in input order, each as soon as it and those before it are known.
"""

from __future__ import annotations

from collections.abc import Sequence

from tiktok_cli.backends.base import Operation
from tiktok_cli.batch import Batch, Failures
from tiktok_cli.identifiers import Target
from tiktok_cli.output import (
    OutputSpec,
    claim_output,
    close_quietly,
    make_writer,
    open_sink,
    plan_output,
    row_maker,
)
from tiktok_cli.session import Session
from tiktok_cli.settings import Settings
from tiktok_cli.signals import as_interrupted
from tiktok_cli.workers import ordered
from tiktok_cli.writers.base import Writer


def look_up(
    targets: Sequence[Target], settings: Settings, spec: OutputSpec, *, batch: Batch, trace: bool
) -> None:
    """Write the profile of every target; failed accounts are reported and listed in --errors."""
    plan = plan_output(spec, owner=False)
    with (
        claim_output(plan),
        Session(settings, trace=trace, concurrency=batch.concurrency) as session,
        Failures(targets, batch.errors_path) as failures,
    ):
        backend = session.backend(Operation.USER_INFO)
        sink = open_sink(plan, identity=None)
        writer: Writer | None = None
        try:
            writer = make_writer(plan, sink)
            to_row = row_maker(plan)
            lookups = ordered(lambda t: backend.user_info(t.account.value), targets, batch.concurrency)
            for target, outcome in lookups:
                if outcome.error is not None:
                    failures.add(target, outcome.error)
                    continue
                writer.write(to_row(outcome.result(), None))
                writer.flush()
        except BaseException as exc:  # noqa: BLE001 - closes the output, then re-raises
            if writer is not None:
                close_quietly(writer)
            sink.close()
            raise as_interrupted(exc) from None
        writer.close()
        sink.commit()
    verdict = failures.verdict()
    if verdict is not None:
        raise verdict
