"""Attack stories from the second security review (issue 21), each kept with the safe outcome asserted.

Each story is what an attacker does and what they get: a hostile deployment writing terminal escapes
through ``doctor --url``, gated scripts reached through symlinks in a ``pages/`` folder, a logout path
that would leave the app unauthenticated. Everything runs on loopback against real parts: a raw TCP
server that answers as a hostile deployment, real Streamlit scripts, the templates' own parameters.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from rawhttp import RawServer, read_request
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.doctor import run_doctor

USER = {"sub": "sub-user", "email": "user@example.com", "username": "user"}

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


# --- a gated script reached through the pages/ folder, by a symlink ----------------------------------

GATED_APP = """
import streamlit as st
from streamlit_alb_auth import Page, get_alb_user, navigation

pages = [st.Page("home.py", title="Home"), Page({gated!r}, title="Admin", groups=["admin"])]
navigation(pages, user=get_alb_user(headers=st.session_state["headers"])).run()
"""


def marker_script(marker: Path, name: str) -> str:
    return f"import pathlib\npathlib.Path({str(marker)!r}).open('a').write({name!r} + '\\n')\n"


def link_layout(folder: Path, layout: str) -> str:
    """Lay out the app's files as ``layout`` says; the gated path the app names."""
    marker = folder / "ran.log"
    (folder / "views").mkdir()
    (folder / "views" / "admin.py").write_text(marker_script(marker, "admin"))
    (folder / "home.py").write_text(marker_script(marker, "home"))
    if layout == "symlinked page":  # pages/admin.py -> views/admin.py, gated by its pages/ name
        (folder / "pages").mkdir()
        (folder / "pages" / "admin.py").symlink_to(folder / "views" / "admin.py")
        return "pages/admin.py"
    if layout == "symlinked pages folder":  # pages -> views: every gated view is a pages/ file
        (folder / "pages").symlink_to(folder / "views", target_is_directory=True)
        return "views/admin.py"
    (folder / "pages").mkdir()
    link = folder / "pages" / "report.py"
    if layout == "pages file linking to the gated script":
        link.symlink_to(Path("..") / "views" / "admin.py")
    elif layout == "hard link in pages":
        os.link(folder / "views" / "admin.py", link)
    else:  # the control: pages/ holds an unrelated, ungated script
        link.write_text(marker_script(marker, "report"))
    return "views/admin.py"


LINK_LAYOUTS = [
    "symlinked page",
    "symlinked pages folder",
    "pages file linking to the gated script",
    "hard link in pages",
]


@pytest.mark.parametrize("layout", LINK_LAYOUTS)
def test_a_gated_script_reachable_from_pages_by_a_link_is_refused_and_nothing_runs(
    alb_environment, signer, pool, tmp_path, layout
) -> None:
    gated = link_layout(tmp_path, layout)
    (tmp_path / "app.py").write_text(GATED_APP.format(gated=gated))
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=20)
    at.session_state["headers"] = signer.headers(USER, access_token=pool.access_token(USER["sub"], groups=[]))
    at.run()
    assert at.exception and "is this script" in at.exception[0].message, at.exception
    assert not (tmp_path / "ran.log").exists()  # neither the gated script nor any other page ran
    # Refused for the process: Streamlit stops running pages/ files by URL, as st.navigation would.
    assert PagesManager.uses_pages_directory is False


def test_an_unrelated_script_in_pages_does_not_refuse_a_gated_view(
    alb_environment, signer, pool, tmp_path
) -> None:
    gated = link_layout(tmp_path, "control")
    (tmp_path / "app.py").write_text(GATED_APP.format(gated=gated))
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=20)
    at.session_state["headers"] = signer.headers(USER, access_token=pool.access_token(USER["sub"], groups=[]))
    at.run()
    assert not at.exception, at.exception
    assert (tmp_path / "ran.log").read_text().split() == ["home"]


# --- a logout path that takes the app out of sign-in ------------------------------------------------

TEMPLATES = Path(__file__).resolve().parents[1] / "streamlit_alb_auth" / "templates"


@pytest.mark.parametrize("path", ["/", "/_stcore/stream", "/static/js/main.js", "//evil.example", "/x/../"])
def test_a_logout_path_the_app_serves_is_refused_by_the_templates_and_the_route(signer, path) -> None:
    """LogoutBy=app with LogoutPath=/ would forward the app's root unauthenticated (the rule allows)."""
    from cfn_resolve import resolve
    from cfnlint.decode import decode

    from streamlit_alb_auth.asgi import alb_auth
    from streamlit_alb_auth.errors import UnsafeLogoutPathError

    app_tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"
    for name, app_mode in (
        ("stack.yaml", {"LogoutBy": "app"}),
        ("logout.yaml", {"AppTargetGroupArn": app_tg}),
    ):
        template, problems = decode(str(TEMPLATES / name))
        assert not problems
        with pytest.raises(ValueError, match="LogoutPath"):
            resolve(template, LogoutPath=path, **app_mode)
    with pytest.raises(UnsafeLogoutPathError):
        alb_auth(alb_arn=signer.alb_arn, logout_path=path)
