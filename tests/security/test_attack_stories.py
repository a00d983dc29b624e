"""Attack stories from the second security review (issue 21), each kept with the safe outcome asserted.

Each story is what an attacker does and what they get: another site forcing a logout, a junk-token
flood on the logout route, a hostile deployment writing terminal escapes through ``doctor --url``,
gated scripts reached through symlinks in a ``pages/`` folder, a logout path that would leave the
app unauthenticated. Everything runs on loopback against real parts: a raw TCP
server that answers as a hostile deployment, real Streamlit scripts, the templates' own parameters.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.rawhttp import RawServer, read_request
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from streamlit_alb_auth.asgi.revocation import Revocations
from streamlit_alb_auth.doctor import run_doctor
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE, SHARDS

USER = {"sub": "sub-user", "email": "user@example.com", "username": "user"}

# --- doctor --url prints what a hostile deployment sends --------------------------------------------

OSC_TITLE = "\x1b]0;PWNED\x07"  # set the window title
CSI_CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
FORGED_SUMMARY = "\x1b[1A\x1b[2K6 ok, 0 warning(s), 0 failure(s)"  # overwrite the line above
C1_CSI = "\x9b2J"  # the 8-bit CSI some terminals obey
HOSTILE = OSC_TITLE + CSI_CLEAR + FORGED_SUMMARY + C1_CSI
SHARD_NAMES = [f"{SESSION_COOKIE}-{n}" for n in range(SHARDS)]


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
    if path.startswith(LOGOUT_PATH):
        idp = f"https://idp.example/logout{OSC_TITLE}?client_id={hostile}&logout_uri=https://evil.example/{hostile}"
        return "302 Found", [*map(_expire, SHARD_NAMES), _expire(f"X{CSI_CLEAR}Y"), ("Location", idp)]
    return "404 Not Found", []


def escapes_in_failures(base: str, path: str) -> tuple[str, list[tuple[str, str]]]:
    """Sign-in goes elsewhere and logout expires only cookies named with escapes: failures quote them."""
    if path == "/":
        return "302 Found", [("Location", f"{base}/elsewhere{HOSTILE}")]
    if path == "/_stcore/health":
        return "200 OK", []
    if path.startswith(LOGOUT_PATH):
        return "302 Found", [_expire(f"A{OSC_TITLE}B"), ("Location", f"{base}/done{CSI_CLEAR}")]
    return "404 Not Found", []


def doctor_text(url: str) -> tuple[int, str]:
    args = argparse.Namespace(
        url=url,
        logout_path=LOGOUT_PATH,
        health_path="/_stcore/health",
        cookie_name=SESSION_COOKIE,
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

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"


@pytest.mark.parametrize("path", ["/", "/_stcore/stream", "/static/js/main.js", "//evil.example", "/x/../"])
def test_a_logout_path_the_app_serves_is_refused_by_the_templates_and_the_route(signer, path) -> None:
    """LogoutBy=app with LogoutPath=/ would forward the app's root unauthenticated (the rule allows)."""
    from cfnlint.decode import decode
    from helpers.cfn_resolve import resolve

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


# --- logout forced from another site ------------------------------------------------------------------

LOGOUT_ENV = {
    "COGNITO_DOMAIN": "auth.example.com",
    "COGNITO_CLIENT_ID": "appclient1",
    "APP_LOGOUT_URL": "https://app.example.com/signed-out",
    "COGNITO_IDP_ENDPOINT": "http://127.0.0.1:1/",  # never reached: revocations are recorded instead
}
# {"sub": "victim", "exp": 4102444800}: a live-looking access token the ALB would attach
VICTIM_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2aWN0aW0iLCJleHAiOjQxMDI0NDQ4MDB9.c2ln"
FORCED = {
    "a form on evil.example posts": (
        "POST",
        {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    ),
    "a link on evil.example": ("GET", {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}),
    "a sibling subdomain's form": (
        "POST",
        {"sec-fetch-site": "same-site", "origin": "https://x.example.com"},
    ),
    "a sandboxed frame's form (Origin: null)": ("POST", {"origin": "null"}),
}


@contextmanager
def app_logout(**options: object) -> Iterator[tuple[object, list[str]]]:
    """The app's logout route on https://app.example.com; yields the client and the revoked tokens."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from streamlit_alb_auth.asgi.logout_route import logout_route

    revoked: list[str] = []
    revocations = Revocations(sign_out=lambda url, token: revoked.append(token) or True, **options)
    app = Starlette(routes=[logout_route(env=LOGOUT_ENV, revocations=revocations)])
    with TestClient(app, base_url="https://app.example.com", follow_redirects=False) as client:
        yield client, revoked
    revocations.shutdown()


@pytest.mark.parametrize(("method", "headers"), FORCED.values(), ids=FORCED.keys())
def test_another_site_cannot_end_a_session_through_the_lambda_or_the_app_route(method, headers) -> None:
    from streamlit_alb_auth.templates.logout_lambda import handle

    headers = {**headers, "host": "app.example.com", "x-forwarded-proto": "https"}
    event = {
        "httpMethod": method,
        "multiValueHeaders": {
            k: [v] for k, v in {**headers, "x-amzn-oidc-accesstoken": VICTIM_TOKEN}.items()
        },
    }
    lambda_revoked: list[str] = []
    answer = handle(event, LOGOUT_ENV, revoke=lambda url, token: lambda_revoked.append(token))
    assert (answer["statusCode"], lambda_revoked) == (200, [])
    assert "Set-Cookie" not in answer["multiValueHeaders"]
    with app_logout() as (client, revoked):
        page = client.request(
            method, LOGOUT_PATH, headers={**headers, "x-amzn-oidc-accesstoken": VICTIM_TOKEN}
        )
    assert (page.status_code, revoked, page.headers.get_list("set-cookie")) == (200, [], [])
    # The page cannot be framed to trick the click (its form is the only way on, and same-origin).
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_a_flood_of_junk_tokens_costs_no_global_sign_out_and_a_full_queue_costs_the_user_nothing() -> None:
    junk = [f"eyJhbGciOiJSUzI1NiJ9.junk{n}.c2ln" for n in range(16)]
    with app_logout() as (client, revoked):
        for token in junk:
            answer = client.get(LOGOUT_PATH, headers={"x-amzn-oidc-accesstoken": token})
            assert answer.status_code == 302 and len(answer.headers.get_list("set-cookie")) == 4
    assert revoked == []
    # Unsigned tokens shaped right do reach the executor (no issuer configured to verify them), but
    # only as many as it holds; past that the logout completes and the revocation is skipped.
    gate, calls = threading.Event(), []
    revocations = Revocations(
        workers=1, queue=1, sign_out=lambda url, token: calls.append(token) or gate.wait(10)
    )
    try:
        futures = [revocations.submit("u", VICTIM_TOKEN) for _ in range(16)]
        assert sum(future is not None for future in futures) == 2
        gate.set()
        assert [future.result(10) for future in futures if future is not None] == [True, True]
        assert calls == [VICTIM_TOKEN, VICTIM_TOKEN]
    finally:
        gate.set()
        revocations.shutdown()
