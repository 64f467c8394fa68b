"""The part file and checkpoint contract that resumable exports rely on."""

from __future__ import annotations

from pathlib import Path

import orjson

from tiktok_cli.checkpoint import FileExport

FINGERPRINT = {"command": "followers", "account": "uid:1"}


def test_a_resume_keeps_exactly_what_was_marked(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first = FileExport(out, FINGERPRINT)
    first.open()
    first.stream.write(b"header\n")
    first.mark(())
    first.stream.write(b"row 1\nrow 2\n")
    first.mark([11, 12])
    first.save({"cursor": 7})
    # A page fetched ahead and half written, then the process dies: neither its bytes
    # nor its accounts may count as written.
    first.stream.write(b"row 3 (half")
    first.save({"cursor": 7})
    first.close()

    again = FileExport(out, FINGERPRINT)
    again.open()
    assert again.resumed is not None and again.resumed.progress == {"cursor": 7}
    assert (tmp_path / ".out.jsonl.part").read_bytes() == b"header\nrow 1\nrow 2\n"
    seen = again.seen.scoped("")  # the digests were stored unscoped here
    assert len(seen) == 2
    again.stream.write(b"row 3\n")
    again.mark([13])
    again.commit()
    assert out.read_bytes() == b"header\nrow 1\nrow 2\nrow 3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_different_command_starts_over(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    first = FileExport(out, FINGERPRINT)
    first.open()
    first.stream.write(b"a\n")
    first.mark([1])
    first.save({})
    first.close()
    other = FileExport(out, {**FINGERPRINT, "account": "uid:2"})
    other.open()
    assert other.resumed is None
    assert (tmp_path / ".out.csv.part").read_bytes() == b""
    other.discard()


def test_a_checkpoint_keeps_its_fingerprint_under_its_first_key(tmp_path: Path) -> None:
    # Part files written by earlier releases hold the fingerprint as "identity": they resume.
    out = tmp_path / "out.csv"
    (tmp_path / ".out.csv.part").write_bytes(b"a\n")
    (tmp_path / ".out.csv.seen").write_bytes(b"")
    saved = {"version": 2, "identity": FINGERPRINT, "progress": {"cursor": 3}, "offset": 2, "seen": 0}
    (tmp_path / ".out.csv.checkpoint").write_bytes(orjson.dumps(saved))
    again = FileExport(out, FINGERPRINT)
    again.open()
    assert again.resumed is not None and again.resumed.progress == {"cursor": 3}
    again.save({"cursor": 4})
    assert orjson.loads((tmp_path / ".out.csv.checkpoint").read_bytes())["identity"] == FINGERPRINT
    again.discard()


def test_seen_digests_are_stable_across_processes() -> None:
    import os
    import subprocess
    import sys

    code = (
        "from tiktok_cli.seen import SeenAccounts; from tiktok_cli.models import User; "
        "print(SeenAccounts().claim(User(unique_id='alice'))[1])"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(digests) == 1  # hash() would differ between these two processes


def test_the_export_lock_is_exclusive_names_its_holder_and_leaves_nothing(tmp_path: Path) -> None:
    import os

    import pytest

    from tiktok_cli.checkpoint import ExportLock
    from tiktok_cli.errors import BusyError, ExitCode

    out = tmp_path / "f.csv"
    with ExportLock(out):
        assert (tmp_path / ".f.csv.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(
            BusyError, match=rf"another export to .*f\.csv is running \(pid {os.getpid()}\)"
        ) as busy:
            ExportLock(out).acquire()
        assert busy.value.exit_code == ExitCode.BUSY
    assert list(tmp_path.iterdir()) == []


def test_a_lock_file_nobody_holds_is_taken_over(tmp_path: Path) -> None:
    from tiktok_cli.checkpoint import ExportLock

    (tmp_path / ".f.csv.lock").write_text("not a pid at all\n")
    with ExportLock(tmp_path / "f.csv") as lock:
        assert lock.lock_path.read_text().strip().isdigit()
    assert list(tmp_path.iterdir()) == []
