"""The warehouse's address in every form an operator may write it, and how to hide its password.

``SIMBIOSIA_DATABASE_URL`` may be a URL (``postgresql://user:pass@host:5432/db``, with the
password in the userinfo or as ``?password=``, with a SQLAlchemy driver suffix) or a libpq
key=value string (``host=db user=app password=… dbname=wh``). libpq's own parser
(``psycopg.conninfo``) is the reference; on top of it a password holding ``/`` or ``@``
unencoded — which libpq would read as a host — is taken as the operator meant it (everything
between the first ``:`` of the userinfo and the last ``@``).

Nothing here imports the settings: they call ``parse_address`` to validate the variable.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict

SCHEMES = frozenset({"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"})
MASK = "***"
# Fallbacks for text that is not a parseable address (a fragment quoted in an error message).
_USERINFO_PASSWORD = re.compile(r"(://[^:/?#@\s]*:)[^\s]*@")
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


# Where the query string starts: the first "?" followed by a parameter (a "?" inside a password
# is followed by anything else).
_QUERY_START = re.compile(r"\?(?=[A-Za-z_]+=)")


class AddressError(ValueError):
    """The address cannot be parsed; the message never repeats it (it may hold a password)."""


def parse_address(address: str) -> dict[str, str]:
    """The libpq parameters (host, port, user, password, dbname, options…) of ``address``."""
    try:
        return conninfo_to_dict(libpq_address(address))
    except psycopg.ProgrammingError:
        raise AddressError(
            "is neither a PostgreSQL URL (postgresql://user:password@host:5432/db) nor a libpq "
            "key=value string (host=… dbname=…) that libpq can parse"
        ) from None


def libpq_address(address: str) -> str:
    """``address`` as libpq takes it: the driver suffix dropped, a raw ``/`` or ``@`` of the
    password percent-encoded. A key=value string is returned as it is."""
    address = address.strip()
    scheme, separator, rest = address.partition("://")
    if not separator:
        if "=" not in address:
            raise AddressError(
                "is neither a PostgreSQL URL (postgresql://…) nor a key=value string (host=…)"
            )
        return address
    if scheme not in SCHEMES:
        raise AddressError(f"must be a PostgreSQL URL (postgresql://...), got scheme {scheme!r}")
    return "postgresql://" + _encoded_userinfo(rest)


def _encoded_userinfo(rest: str) -> str:
    query = _QUERY_START.search(rest)
    head, tail = (rest[: query.start()], rest[query.start() :]) if query else (rest, "")
    userinfo, at, location = head.rpartition("@")
    if not at:
        return rest
    location += tail
    user, colon, password = userinfo.partition(":")
    if not colon:
        return f"{quote(unquote(user), safe='')}@{location}"
    return f"{quote(unquote(user), safe='')}:{quote(unquote(password), safe='')}@{location}"


def address_url(params: dict[str, str]) -> str:
    """A ``postgresql://`` URL of libpq ``params``, every part percent-encoded."""
    params = dict(params)
    user = quote(params.pop("user", ""), safe="")
    password = params.pop("password", None)
    host = params.pop("host", "")
    port = params.pop("port", "")
    dbname = quote(params.pop("dbname", ""), safe="")
    userinfo = f"{user}:{quote(password, safe='')}@" if password is not None else f"{user}@"
    if host.startswith("/") or "," in host:  # a socket directory or several hosts: a parameter
        params["host"] = host
        if port:
            params["port"] = port
        netloc = ""
    else:
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{port}" if port else ""
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{userinfo if userinfo != '@' else ''}{netloc}/{dbname}{query}"


def passwords_of(address: str | None) -> list[str]:
    """The password of ``address`` in every spelling it may appear in (raw, percent-encoded)."""
    if not address:
        return []
    try:
        password = parse_address(address).get("password")
    except AddressError:
        return []
    if not password:
        return []
    return sorted({password, quote(password, safe=""), quote(password)}, key=len, reverse=True)


def redact_address(address: str) -> str:
    """``address`` with its password replaced by ``***``, safe for logs and messages."""
    return redact_text(address, passwords_of(address))


def redact_text(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` (and any password an address in it spells out)
    replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    text = _USERINFO_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}", text)
