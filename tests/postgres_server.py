"""A throwaway PostgreSQL server for tests and benchmarks: initdb, pg_ctl start/stop, nothing else.

`PostgresServer` makes a cluster in a fresh temporary folder, listening on 127.0.0.1 only on a
free port (its Unix socket stays inside that folder). `initdb` refuses to run as root, so as
root every server command runs as the `postgres` user (`runuser -u postgres --`) in a folder
that user owns. Host connections need a password (scram-sha-256): the tests prove that the
password reaches libpq from the environment or a password file, never from the config. Used by
the test session fixture and by `bench/bench_sync.py`; it runs on the caller's thread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD = "lw-test-secret"  # a throwaway cluster's password, never a real one
PG_VERSIONS = ("17", "16", "15", "14", "13")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here (binaries missing, or initdb/pg_ctl failed)."""


def find_bin(name: str) -> str:
    """The named server binary: from PATH, else from Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    for version in PG_VERSIONS:
        path = Path(f"/usr/lib/postgresql/{version}/bin/{name}")
        if path.exists():
            return str(path)
    raise PostgresUnavailable(
        f"{name} not found: install the PostgreSQL server (apt-get install postgresql)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder on 127.0.0.1 (caller's thread)."""

    def __init__(self, *, fsync: bool = False, port: int | None = None) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.base = Path(tempfile.mkdtemp(prefix="linewatch-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.as_root = os.geteuid() == 0
        self._fsync = fsync
        self._initdb = find_bin("initdb")
        self._pg_ctl = find_bin("pg_ctl")
        if self.as_root:
            shutil.chown(self.base, SUPERUSER, SUPERUSER)
        self.base.chmod(0o700)
        self._init_cluster()

    # --- life cycle ---

    def _run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.base
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()} {self._log_tail()}"
            )
        return result

    def _init_cluster(self) -> None:
        pwfile = self.base / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(pwfile, SUPERUSER, SUPERUSER)
        pwfile.chmod(0o600)
        self._run(
            self._initdb,
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.base}'",
            "fsync": "on" if self._fsync else "off",
            "full_page_writes": "on" if self._fsync else "off",
            "max_connections": "50",
            "shared_buffers": "128MB",
            "max_wal_size": "2GB",
            "logging_collector": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def use_tls(self, cert: Path, key: Path) -> None:
        """Serve TLS with this certificate (takes effect at the next start)."""
        for source, name in ((cert, "server.crt"), (key, "server.key")):
            target = self.data / name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            if self.as_root:
                shutil.chown(target, SUPERUSER, SUPERUSER)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")

    def start(self) -> None:
        self._run(
            self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` shuts down cleanly; `immediate` kills the server like a power cut would."""
        self._run(self._pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        command = [self._pg_ctl, "-D", str(self.data), "status"]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(PostgresUnavailable):
                self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)

    # --- what a client needs ---

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """A URL without a password, as a station config would hold it."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        return (
            f"host={self.host} port={self.port} dbname={database} user={SUPERUSER}"
            f" password={PASSWORD} connect_timeout=10"
        )

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    def wait_ready(self, timeout: float = 60.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-800:]
        except OSError:
            return ""


def start_server(*, fsync: bool = False) -> PostgresServer:
    """A started server; PostgresUnavailable (with the reason) when none can be started."""
    server = PostgresServer(fsync=fsync)
    try:
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server
