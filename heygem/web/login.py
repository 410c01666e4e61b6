"""Which login the app asks for: none on loopback, else the one set, else one made for it.

Listening only on this machine (127.0.0.0/8, ::1, localhost) the app stays open: only local
programs reach it. Listening beyond it, every route asks for an HTTP Basic login
(:class:`heygem.web.server.BasicAuth`): ``HEYGEM_AUTH=user:pass`` when set, else a password
the app makes on its first start and keeps in the workspace's ``login.txt`` (mode 0600; delete
it for a new one), printed with the URL at every start. ``--no-auth`` keeps the app open to the
network on purpose (a trusted network), with a warning. As Jupyter's token, or ComfyUI's and
AUTOMATIC1111's loopback default: nothing on a network is open unless someone said so.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

USER = "heygem"  # the user name of a login the app makes
PASSWORD_BYTES = 18  # of randomness in a made password (24 URL-safe characters)


@dataclass(frozen=True)
class Login:
    user: str
    password: str
    kept_in: Path | None  # the file it is kept in; None when it came from HEYGEM_AUTH


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def parse_login(text: str) -> tuple[str, str]:
    """``user:password`` (the password may hold colons); raises ValueError when malformed."""
    user, colon, password = text.strip().partition(":")
    if not colon or not user or not password:
        raise ValueError("expected user:password")
    return user, password


def choose_login(host: str, given: str | None, login_file: Path, no_auth: bool = False) -> Login | None:
    """The login to ask for, None for none: ``given`` (HEYGEM_AUTH) whenever set; else none on
    loopback or with ``no_auth``; else the one kept in ``login_file``, made there on the first
    start. Raises ValueError for a malformed ``given`` or kept file."""
    if given:
        return Login(*parse_login(given), None)
    if no_auth or is_loopback(host):
        return None
    if login_file.is_file():
        try:
            return Login(*parse_login(login_file.read_text(encoding="utf-8")), login_file)
        except ValueError as exc:
            raise ValueError(f"{login_file}: {exc} (delete it for a new one)") from None
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    login_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(login_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(f"{USER}:{password}\n")
    return Login(USER, password, login_file)


def banner(host: str, port: int, login: Login | None) -> str:
    """What the console says at start: where to open the app, and how to log in."""
    everywhere = host in ("0.0.0.0", "::", "")
    url = f"http://{socket.gethostname() if everywhere else host}:{port}"
    lines = [f"HeyGem: open {url}" + (f" (on this machine: http://127.0.0.1:{port})" if everywhere else "")]
    if login is not None:
        lines.append(f"  login: user {login.user}, password {login.password}")
        if login.kept_in is not None:
            lines.append(
                f"  kept in {login.kept_in} (delete it for a new one; HEYGEM_AUTH=user:pass sets your own)"
            )
    return "\n".join(lines)
