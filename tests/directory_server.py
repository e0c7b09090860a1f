"""A throwaway OpenLDAP server (Debian's slapd) for the company-directory sign-in tests: its own
config and database in a temporary folder, on a free local port, as the current user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SLAPD = "/usr/sbin/slapd"
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")
SUFFIX = "dc=plant,dc=test"
PEOPLE = f"ou=people,{SUFFIX}"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret"
READER_DN = f"cn=reader,{SUFFIX}"
READER_PASSWORD = "reader-secret"


@dataclass(frozen=True)
class DirectoryServer:
    url: str
    port: int
    ldaps_url: str = ""  # with TLS: the same server over ldaps://, its certificate in ca_file
    ca_file: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_slapd() -> None:
    """Skip when slapd is not installed, except under CI, where its absence is a failure."""
    if os.access(SLAPD, os.X_OK) and (SCHEMAS / "inetorgperson.schema").exists():
        return
    message = "slapd is not installed (make system-deps installs slapd and ldap-utils)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " and CI=true")
    pytest.skip(message)


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key."""
    if shutil.which("openssl") is None:
        require_slapd()  # same rule: skipped locally, a failure under CI
        message = "openssl is not installed (make system-deps installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI=true")
        pytest.skip(message)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _config(folder: Path, tls: tuple[Path, Path] | None) -> Path:
    (folder / "db").mkdir()
    if tls:
        cert, key = tls
        tls_lines = (
            f"TLSCACertificateFile {cert}\nTLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
        )
    else:
        tls_lines = ""
    backend = ""
    if (MODULES / "back_mdb.la").exists() or (MODULES / "back_mdb.so").exists():
        backend = f"modulepath {MODULES}\nmoduleload back_mdb\n"
    conf = folder / "slapd.conf"
    conf.write_text(
        "\n".join(
            f"include {SCHEMAS / name}.schema" for name in ("core", "cosine", "inetorgperson")
        )
        + f"""
pidfile {folder / "slapd.pid"}
{tls_lines}{backend}
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {folder / "db"}
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by anonymous auth
""",
        encoding="utf-8",
    )
    return conf


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("slapd exited: " + log.read_text(errors="replace")[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening within 15 s")


@contextmanager
def running_slapd(folder: Path, *, tls: bool = False) -> Iterator[DirectoryServer]:
    """slapd on a free port (and, with `tls`, ldaps:// on another, plus StartTLS)."""
    certificate = _certificate(folder) if tls else None
    conf = _config(folder, certificate)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}/"
    listen, ldaps_url = url, ""
    if certificate:
        ldaps_port = free_port()
        ldaps_url = f"ldaps://127.0.0.1:{ldaps_port}"
        listen = f"{url} {ldaps_url}/"
    log = folder / "slapd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [SLAPD, "-h", listen, "-f", str(conf), "-d", "0"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(port, process, log)
        if certificate:
            _wait_for(ldaps_port, process, log)
        yield DirectoryServer(
            url=url.rstrip("/"),
            port=port,
            ldaps_url=ldaps_url,
            ca_file=str(certificate[0]) if certificate else "",
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder / "db", ignore_errors=True)


def load_people(server: DirectoryServer, people: list[dict], *, password: str = "") -> None:
    """Add the base entries, the search account and `people` (uid and attributes, and
    `password` as everyone's userPassword unless they have their own)."""
    from ldap3 import Connection, Server

    conn = Connection(Server(server.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True)
    try:
        conn.add(SUFFIX, ["dcObject", "organization"], {"dc": "plant", "o": "Plant"})
        conn.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
        conn.add(
            READER_DN,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "reader", "userPassword": READER_PASSWORD},
        )
        for person in people:
            attributes = {k: v for k, v in person.items() if k != "uid"}
            if password:
                attributes.setdefault("userPassword", password)
            assert conn.add(f"uid={person['uid']},{PEOPLE}", ["inetOrgPerson"], attributes), (
                conn.result
            )
    finally:
        conn.unbind()
