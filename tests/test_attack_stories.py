"""Attack stories from the second security review (issue 21), each kept with the safe outcome asserted.

Each story is what an attacker does and what they get: a hostile deployment writing terminal escapes
through ``doctor --url``, gated scripts reached through symlinks in a ``pages/`` folder, a logout path
that would leave the app unauthenticated. Everything runs on loopback against real parts: a raw TCP
server that answers as a hostile deployment, real Streamlit scripts, the templates' own parameters.
"""

from __future__ import annotations

import argparse
import io
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from rawhttp import RawServer, read_request

from streamlit_alb_auth.doctor import run_doctor

# --- doctor --url prints what a hostile deployment sends --------------------------------------------

OSC_TITLE = "\x1b]0;PWNED\x07"  # set the window title
CSI_CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
FORGED_SUMMARY = "\x1b[1A\x1b[2K6 ok, 0 warning(s), 0 failure(s)"  # overwrite the line above
C1_CSI = "\x9b2J"  # the 8-bit CSI some terminals obey
HOSTILE = OSC_TITLE + CSI_CLEAR + FORGED_SUMMARY + C1_CSI
SHARDS = [f"AWSELBAuthSessionCookie-{n}" for n in range(4)]


def _answer(conn: socket.socket, status: str, headers: list[tuple[str, str]]) -> None:
    """Send header values as raw bytes: latin-1 carries every control character through unchanged."""
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    lines += ["Content-Length: 0", "Connection: close", "", ""]
    conn.sendall("\r\n".join(lines).encode("latin-1"))


def _expire(name: str) -> tuple[str, str]:
    return ("Set-Cookie", f"{name}=; Max-Age=0; Path=/; Secure; HttpOnly")


@contextmanager
def hostile_deployment(routes: Callable[[str, str], tuple[str, list[tuple[str, str]]]]) -> Iterator[str]:
    """A loopback server whose answers ``routes(base, path)`` chooses; yields its URL."""
    base: list[str] = []

    def handle(conn: socket.socket) -> None:
        request = read_request(conn).decode("latin-1")
        path = request.split(" ", 2)[1] if request.count(" ") >= 2 else "/"
        status, headers = routes(base[0], path)
        _answer(conn, status, headers)

    with RawServer(handle, raw=True) as server:
        base.append(server.url)
        yield server.url + "/"


def escapes_everywhere(base: str, path: str) -> tuple[str, list[tuple[str, str]]]:
    """Sign-in, logout and the IdP's logout all pass the checks, each value carrying escapes."""
    hostile = quote(HOSTILE.encode("latin-1"), safe="")
    if path == "/":
        callback = quote(base + "/oauth2/idpresponse", safe="")
        return "302 Found", [
            (
                "Location",
                f"{base}/oauth2/authorize{CSI_CLEAR}?client_id={hostile}&redirect_uri={callback}"
                "&response_type=code",
            )
        ]
    if path == "/_stcore/health":
        return "200 OK", []
    if path.startswith("/cognito/logout"):
        idp = f"https://idp.example/logout{OSC_TITLE}?client_id={hostile}&logout_uri=https://evil.example/{hostile}"
        return "302 Found", [*map(_expire, SHARDS), _expire(f"X{CSI_CLEAR}Y"), ("Location", idp)]
    return "404 Not Found", []


def escapes_in_failures(base: str, path: str) -> tuple[str, list[tuple[str, str]]]:
    """Sign-in goes elsewhere and logout expires only cookies named with escapes: failures quote them."""
    if path == "/":
        return "302 Found", [("Location", f"{base}/elsewhere{HOSTILE}")]
    if path == "/_stcore/health":
        return "200 OK", []
    if path.startswith("/cognito/logout"):
        return "302 Found", [_expire(f"A{OSC_TITLE}B"), ("Location", f"{base}/done{CSI_CLEAR}")]
    return "404 Not Found", []


def doctor_text(url: str) -> tuple[int, str]:
    args = argparse.Namespace(
        url=url,
        logout_path="/cognito/logout",
        health_path="/_stcore/health",
        cookie_name="AWSELBAuthSessionCookie",
        json=False,
    )
    out = io.StringIO()
    return run_doctor(args, out), out.getvalue()


def terminal_controls(text: str) -> list[str]:
    """Characters a terminal may act on: C0 controls but newline, DEL, C1 controls (incl. 8-bit CSI)."""
    return [char for char in text if (char < " " and char != "\n") or "\x7f" <= char <= "\x9f"]


@pytest.mark.parametrize("routes", [escapes_everywhere, escapes_in_failures], ids=["passing", "failing"])
def test_doctor_prints_a_hostile_deployment_s_escapes_as_text_never_raw(routes) -> None:
    with hostile_deployment(routes) as url:
        status, text = doctor_text(url)
    assert terminal_controls(text) == [], text
    assert "\\x1b" in text  # what was sent is still shown, escaped
    summary = text.rstrip("\n").rsplit("\n", 1)[-1]
    assert re.fullmatch(r"\d ok, \d warning\(s\), \d failure\(s\)", summary), summary
    if routes is escapes_in_failures:
        assert status == 1 and "fail  sign-in" in text and "fail  logout" in text, text
    else:
        # The values reached the report through every field the review named.
        for quoted in ("client_id=\\x1b]0;PWNED", "authorize\\x1b[2J", "back to https://evil.example/"):
            assert quoted in text, (quoted, text)
