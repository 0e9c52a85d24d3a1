"""TLS to the plant database, against a real PostgreSQL serving a certificate made here: with
`sslmode = "verify-full"` the sync connects when the server's certificate is signed by the
configured CA, and refuses a server signed by another CA."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from console.config import ConfigError, Sync
from data import central
from tests.postgres_server import PASSWORD
from tests.sync_helpers import server_or_fail


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(folder: Path, name: str) -> None:
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    make_ca(folder, "plant-ca")
    make_ca(folder, "other-ca")
    (folder / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr", cwd=folder,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "plant-ca.pem", "-CAkey", "plant-ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=folder,
    )  # fmt: skip
    server = server_or_fail()
    server.stop()
    server.use_tls(folder / "server.crt", folder / "server.key")
    server.start()
    server.wait_ready()
    yield server, folder
    server.destroy()


def test_verify_full_connects_to_the_plant_ca_and_refuses_another(tls_server, monkeypatch):
    server, folder = tls_server
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    settings = Sync(
        url=server.url(), sslmode="verify-full", sslrootcert=str(folder / "plant-ca.pem")
    )
    with central.connect(settings) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert conn.info.pgconn.ssl_in_use
    wrong = replace(settings, sslrootcert=str(folder / "other-ca.pem"))
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        central.connect(wrong).close()
    missing = replace(settings, sslrootcert=str(folder / "nowhere.pem"))
    with pytest.raises(ConfigError) as caught:
        central.connect(missing)
    assert caught.value.key == "sync.sslrootcert"
