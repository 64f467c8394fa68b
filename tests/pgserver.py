"""A throwaway PostgreSQL server for the store's tests, run from the machine's own binaries.

``PostgresServer(bindir)`` runs ``initdb`` into a fresh temporary folder and starts ``postgres``
on 127.0.0.1 (a free port) with its Unix socket in that folder, trust authentication and no
fsync; ``stop()`` shuts it down and removes the folder. ``create_database()`` makes one empty
database and returns its name, ``url(name)`` the SQLAlchemy URL a test connects with.

initdb and postgres refuse to run as root, and CI runs as root: then every server command runs
as an unprivileged user (``postgres``, which Debian's package creates, else ``nobody``) that owns
the folder. The test process talks to the server as its superuser ``postgres`` either way.

The fixtures that use it (``pg_server``, ``pg_url``, ``db_target``) are in conftest.py. Run it
alone with ``python tests/pgserver.py`` to get a server until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
SUPERUSER = "postgres"
INSTALL_HINT = "apt-get install postgresql"

# Speed over durability: the data lives for one test session. With these, initdb plus startup
# takes about a second and CREATE DATABASE a few milliseconds.
_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'32MB'",  # containers often have a small /dev/shm
    "max_connections": "100",
    "log_min_messages": "warning",
}


def _has_server(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/9.6/bin < /usr/lib/postgresql/15/bin: compare numbers, not strings.
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when the server isn't installed.

    ``pg_config --bindir`` first (it may belong to libpq-dev alone, without a server, so the
    folder is checked), then the newest of Debian's /usr/lib/postgresql/*/bin, then PATH.
    """
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out and _has_server(Path(out)):
                return Path(out)
    debian = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_server(p)]
    if debian:
        return max(debian, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb and _has_server(Path(initdb).parent):
        return Path(initdb).parent
    return None


def _unprivileged_user() -> pwd.struct_passwd:
    for name in (SUPERUSER, "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and there is neither a 'postgres' nor a 'nobody' user to run as")


def _run_as(user: pwd.struct_passwd) -> list[str]:
    """The command prefix that runs a program as ``user`` (we are root)."""
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--"]
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]
    raise RuntimeError("running as root, and neither runuser nor setpriv (util-linux) is installed")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL server in a temporary folder; a context manager (start, then stop)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0
        self.base = Path(tempfile.mkdtemp(prefix="tiktok-pg-"))
        # The Unix socket goes in the base folder itself: its path must stay under ~100 bytes.
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self._prefix: list[str] = []
        self._owner: pwd.struct_passwd | None = None  # who runs the server, when we are root
        self._admin: Any = None  # a psycopg connection to the ``postgres`` database
        self._names = itertools.count(1)
        # The server must not pick up a developer's PGDATA, PGPORT, PGHOST and the like.
        self._env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self._env["LC_ALL"] = "C"  # server messages in plain English, whatever locales exist
        if os.geteuid() == 0:
            self._owner = _unprivileged_user()
            self._prefix = _run_as(self._owner)
            os.chown(self.base, self._owner.pw_uid, self._owner.pw_gid)

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> PostgresServer:
        self._run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        # A port is free when picked but another process may take it before postgres binds it:
        # try a few, reading the log for the one failure that a new port fixes.
        for _attempt in range(5):
            self.port = free_port()
            self._configure()
            try:
                self._run("pg_ctl", "start", f"--pgdata={self.data}", f"--log={self.log}", "-w", "-t", "30")
            except RuntimeError:
                if "could not bind" in self._log_tail() or "already in use" in self._log_tail():
                    continue
                raise
            break
        else:
            raise RuntimeError(f"PostgreSQL found no free port on {HOST}:\n{self._log_tail()}")
        import psycopg

        # Over the Unix socket: the test network guard never sees it, and no TCP handshake.
        self._admin = psycopg.connect(
            host=str(self.base), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )
        return self

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "stop", f"--pgdata={self.data}", "-m", "fast", "-w", "-t", "30")
            except RuntimeError:
                # Stuck on a client: nothing here needs to survive, so don't wait for it.
                self._run("pg_ctl", "stop", f"--pgdata={self.data}", "-m", "immediate", "-w", "-t", "30")
        shutil.rmtree(self.base)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            with contextlib.suppress(Exception):
                self.stop()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- databases -------------------------------------------------------------------

    def create_database(self) -> str:
        """A new empty database (a copy of template0); returns its name."""
        name = f"test_{next(self._names)}"
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that left a connection open still gets its database dropped.
        self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of ``dbname`` over TCP on 127.0.0.1, as the store will be given it."""
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    # --- internals -------------------------------------------------------------------

    def _configure(self) -> None:
        settings = {
            **_SETTINGS,
            "listen_addresses": f"'{HOST}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
        }
        # postgresql.auto.conf is read last, so these win over postgresql.conf; rewritten on
        # every attempt, so the last port written is the one used.
        lines = [f"{key} = {value}\n" for key, value in settings.items()]
        conf = self.data / "postgresql.auto.conf"
        conf.write_text("".join(lines), encoding="utf-8")
        if self._owner is not None:  # root wrote it; the server's user must read it whatever the umask
            os.chown(conf, self._owner.pw_uid, self._owner.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        argv = [*self._prefix, str(self.bindir / program), *args]
        # cwd: the server's user may not be allowed into the test's working directory.
        proc = subprocess.run(argv, cwd=self.base, env=self._env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            return "".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines(True)[-20:])
        except OSError:
            return ""


if __name__ == "__main__":
    import time

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(f"no PostgreSQL server binaries found: {INSTALL_HINT}")
    with PostgresServer(bindir) as server:
        print(server.url(server.create_database()), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
