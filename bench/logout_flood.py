"""Another user's plain logout while junk-token logouts flood the in-app route: before and after.

Run: ``PYTHONPATH=. python -m bench.logout_flood``. A loopback ``GlobalSignOut`` endpoint answers
after 2 s (as a slow or hostile Cognito might); 16 logouts carrying JWT-shaped junk access tokens
start at once, then one user logs out with no token. Printed: that user's latency with the route
as it was (the whole Lambda handler on asyncio's default pool, any JWT-shaped token revoked) and
as it is (``logout_route``: ``handle`` on the event loop, tokens checked, revocation on the
package's own bounded executor), and with unsigned tokens that pass the shape check (nothing to
verify them with: they reach the bounded executor). Not part of ``python -m bench``: a "before" run
takes seconds by design. Same process, same loop, so the figures compare.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLOOD = 16
DELAY = 2.0
# JWT-shaped, but junk: not JSON inside (as the review sent).
JUNK = "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl"
# Shaped right (a sub, an exp in 2100), signed by nobody: only a verifier would refuse it.
SHAPED = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1IiwiZXhwIjo0MTAyNDQ0ODAwfQ.{}"


def slow_cognito() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(DELAY)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the caller gave up at its timeout: that is the point

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def before_route(path: str) -> Any:
    """The route as it was: ``lambda_handler`` on asyncio's default pool, reading ``os.environ``."""
    from starlette.responses import Response
    from starlette.routing import Route

    from streamlit_alb_auth.asgi.logout_route import alb_event
    from streamlit_alb_auth.templates.logout_lambda import handle

    async def log_out(request: Any) -> Response:
        answer = await asyncio.to_thread(handle, alb_event(request), os.environ)
        return Response(status_code=answer["statusCode"])

    return Route(path, log_out, methods=["GET", "POST"])


async def call(app: Any, path: str, headers: dict[str, str]) -> int:
    """One GET through the ASGI app, as the server would make it; the answer's status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"app.example.com")]
        + [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("203.0.113.7", 50000),
        "server": ("app.example.com", 443),
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def plain_logout_latency(route: Any, tokens: list[str]) -> float:
    from starlette.applications import Starlette

    app = Starlette(routes=[route])
    flood = [
        asyncio.create_task(call(app, route.path, {"x-amzn-oidc-accesstoken": token})) for token in tokens
    ]
    await asyncio.sleep(0.05)  # the flood is in
    start = time.perf_counter()
    status = await call(app, route.path, {})
    latency = time.perf_counter() - start
    assert status == 302, status
    await asyncio.gather(*flood)
    return latency


def main() -> None:
    from streamlit_alb_auth.asgi.logout_route import logout_route
    from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH

    logging.disable(logging.WARNING)  # each refused or timed-out GlobalSignOut logs a line
    server = slow_cognito()
    os.environ.update(
        {
            "COGNITO_DOMAIN": "auth.example.com",
            "COGNITO_CLIENT_ID": "appclient1",
            "APP_LOGOUT_URL": "https://app.example.com/",
            "COGNITO_IDP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}/",
        }
    )
    junk = [JUNK.format(f"junk{n}") for n in range(FLOOD)]
    shaped = [SHAPED.format(f"sig{n}") for n in range(FLOOD)]
    rows = [
        ("before: default pool, junk tokens revoked", before_route(LOGOUT_PATH), junk),
        ("after: logout_route, junk tokens", logout_route(), junk),
        ("after: logout_route, shaped unsigned tokens", logout_route(), shaped),
    ]
    print(f"another user's plain logout while {FLOOD} token logouts hit a {DELAY:g} s revoke endpoint")
    for name, route, tokens in rows:
        latency = asyncio.run(plain_logout_latency(route, tokens))
        print(f"  {name:48} {latency * 1000:9.1f} ms")
    server.shutdown()


if __name__ == "__main__":
    main()
