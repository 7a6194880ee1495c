"""A throwaway PostgreSQL cluster for the tests and the benchmark: initdb + pg_ctl in a temporary folder.

The server listens on 127.0.0.1 on a free port (and a Unix socket in its own folder),
with ``trust`` for the superuser ``postgres`` and ``scram-sha-256`` for the role
``clinic`` (password tests). initdb refuses to run as root: as root, the server's
programs run as the ``postgres`` user (``runuser``), and the folder is given to it.

Without PostgreSQL's server programs (Debian's ``postgresql`` package), the fixture
skips its tests, or fails them when ``CI=true`` (as the browser tests do).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["Cluster", "server_bin", "pg_cluster", "CLINIC_PASSWORD"]

#: Password of the ``clinic`` role (a test fixture's, on a throwaway server bound to 127.0.0.1).
CLINIC_PASSWORD = "throwaway-test-only"


def server_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl, postgres), newest version first."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if all(os.access(os.path.join(d, x), os.X_OK) for x in ("initdb", "pg_ctl", "postgres")):
            return Path(d)
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb") and shutil.which("postgres"):
        return Path(found).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server in a temporary folder; :meth:`stop` removes it."""

    def __init__(self, bindir: Path, *, fast: bool = True):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="texturecmp-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self._n = 0
        self._as = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                   "--no-sync"], quiet=True)
        conf = (f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.root}'\n"
                "max_connections = 60\n")
        if fast:  # tests: the server is thrown away, so it need not survive a power cut (the benchmark keeps fsync on)
            conf += "fsync = off\nfull_page_writes = off\n"
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(conf)
        hba = self.data / "pg_hba.conf"
        hba.write_text("local all postgres trust\nhost all clinic 127.0.0.1/32 scram-sha-256\n"
                       "host all postgres 127.0.0.1/32 trust\n")
        self.start()
        self.sql(f"CREATE ROLE clinic LOGIN PASSWORD '{CLINIC_PASSWORD}'")

    def _run(self, argv: list[str], *, quiet: bool = False) -> None:
        cmd = self._as + [str(self.bindir / argv[0]), *argv[1:]]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {res.stderr.strip() or res.stdout.strip()}")

    def start(self) -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self) -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "restart", "-l",
                   str(self.root / "log")])

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user="postgres", dbname=dbname, autocommit=True) as c:
            cur = c.execute(statement)
            return cur.fetchall() if cur.description else []

    def new_database(self, owner: str = "postgres") -> str:
        """A new empty database; returns its URL (for ``owner``)."""
        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        self.sql(f"CREATE DATABASE {name} OWNER {owner}")
        return self.url(name, owner)

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    """A PostgreSQL server for this test session (each xdist worker starts its own)."""
    bindir = server_bin()
    if bindir is None:
        msg = ("PostgreSQL server programs not found (Debian: apt-get install postgresql; .ci/run installs it)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    cluster = Cluster(bindir)
    try:
        yield cluster
    finally:
        cluster.remove()


def wait_until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
