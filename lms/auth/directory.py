"""Checking a sign-in against the enterprise directory (LDAP / Active Directory) with ldap3.

The directory only vouches for a person: it is asked whether the password is theirs and what
their employee number is. Which account that person gets is decided here, by the employee number
(the member's 工号), never by the name typed.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass

from flask import current_app
from ldap3 import ANONYMOUS, BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

log = logging.getLogger(__name__)


class DirectoryUnavailable(Exception):
    """The directory could not be reached or did not answer in time."""


@dataclass(frozen=True)
class DirectoryPerson:
    dn: str
    login: str  # the directory's own sign-in name (uid / sAMAccountName), if it has one
    employee_number: str
    display_name: str


def directory_enabled() -> bool:
    return bool(current_app.config.get("LDAP_URL"))


def _server() -> Server:
    config = current_app.config
    tls = None
    url = config["LDAP_URL"]
    if _is_ldaps(url) or config["LDAP_START_TLS"]:
        tls = Tls(
            validate=ssl.CERT_REQUIRED if config["LDAP_TLS_VERIFY"] else ssl.CERT_NONE,
            ca_certs_file=config["LDAP_CA_FILE"] or None,
        )
    return Server(url, get_info=NONE, tls=tls, connect_timeout=config["LDAP_TIMEOUT"])


def _connection(server: Server, user: str | None, password: str | None) -> Connection | None:
    """A bound connection (anonymous when `user` is None), or None when the directory refused
    the credentials."""
    config = current_app.config
    conn = Connection(
        server,
        user=user,
        password=password if user else None,
        authentication=SIMPLE if user else ANONYMOUS,
        receive_timeout=config["LDAP_TIMEOUT"],
        read_only=True,
        raise_exceptions=False,
    )
    try:
        conn.open()
        if config["LDAP_START_TLS"] and not _is_ldaps(config["LDAP_URL"]):
            conn.start_tls()
        bound = conn.bind()
    except LDAPException as exc:  # refused connection, timeout, TLS failure
        _close(conn)
        raise DirectoryUnavailable(str(exc)) from exc
    if not bound:
        _close(conn)
        return None
    return conn


def _close(conn: Connection) -> None:
    with contextlib.suppress(LDAPException):
        conn.unbind()
    # ldap3 2.9 keeps the socket of a connection that failed to open; close it itself.
    if conn.socket is not None:
        conn.socket.close()


def _is_ldaps(url: str) -> bool:
    return url.lower().startswith("ldaps://")


def _first(entry_attrs: dict, name: str) -> str:
    value = entry_attrs.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _read(conn: Connection, base: str, search_filter: str, scope) -> list[dict]:
    config = current_app.config
    attributes = [config["LDAP_EMPLOYEE_NUMBER_ATTR"], config["LDAP_NAME_ATTR"]]
    if config["LDAP_LOGIN_ATTR"]:
        attributes.append(config["LDAP_LOGIN_ATTR"])
    try:
        conn.search(base, search_filter, search_scope=scope, attributes=attributes, size_limit=2)
    except LDAPException as exc:
        raise DirectoryUnavailable(str(exc)) from exc
    if conn.result.get("result") not in (0, 4, 32):  # success, size limit hit, no such object
        log.warning("directory search failed: %s", conn.result)
        if conn.result.get("result") in (51, 52, 80):  # busy, unavailable, other
            raise DirectoryUnavailable(str(conn.result))
    return [
        {"dn": item["dn"], **item["attributes"]}
        for item in conn.response or []
        if item.get("type") == "searchResEntry"
    ]


def _person(found: dict) -> DirectoryPerson:
    config = current_app.config
    return DirectoryPerson(
        dn=found["dn"],
        login=_first(found, config["LDAP_LOGIN_ATTR"]) if config["LDAP_LOGIN_ATTR"] else "",
        employee_number=_first(found, config["LDAP_EMPLOYEE_NUMBER_ATTR"]),
        display_name=_first(found, config["LDAP_NAME_ATTR"]),
    )


def check_directory_password(login: str, password: str) -> DirectoryPerson | None:
    """The directory person these credentials belong to, or None when the directory does not
    know the name or refuses the password. Raises DirectoryUnavailable when it cannot be asked.

    An empty password is refused here, before any bind: LDAP treats a simple bind with a name
    and no password as an anonymous bind and answers "success" (RFC 4513 5.1.2)."""
    login = login.strip()
    if not login or not password:
        return None
    config = current_app.config
    server = _server()
    if template := config["LDAP_USER_DN_TEMPLATE"]:
        dn = template.format(login=escape_rdn(login))
        conn = _connection(server, dn, password)
        if conn is None:
            return None
        try:
            found = _read(conn, dn, "(objectClass=*)", BASE)
        finally:
            _close(conn)
        return _person(found[0]) if len(found) == 1 else None

    service = _connection(server, config["LDAP_BIND_DN"] or None, config["LDAP_BIND_PASSWORD"])
    if service is None:
        log.error("the directory refused the service account %s", config["LDAP_BIND_DN"])
        raise DirectoryUnavailable("service account refused")
    try:
        # The typed name is a value in the filter, escaped, so `*)(uid=*` finds nobody.
        search_filter = config["LDAP_USER_FILTER"].format(login=escape_filter_chars(login))
        found = _read(service, config["LDAP_BASE_DN"], search_filter, SUBTREE)
    finally:
        _close(service)
    if len(found) != 1:  # nobody, or a name that means two people: neither signs in
        return None
    person = _person(found[0])
    conn = _connection(server, person.dn, password)
    if conn is None:
        return None
    _close(conn)
    return person
