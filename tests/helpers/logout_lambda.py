"""The logout Lambda loaded from its file as the runtime loads it, ALB-shaped events, and a local Cognito."""

from __future__ import annotations

import http.server
import importlib.util
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE

TEMPLATES = Path(__file__).resolve().parents[2] / "streamlit_alb_auth" / "templates"


LAMBDA_PATH = TEMPLATES / "logout_lambda.py"


TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/logout/6d0ecf831eec9f09"


CLIENT_ID = "4d8g9m2k1q0r7s5t3v6w8x9y1z"


APP_URL = "https://app.example.com/"


CONFIG_NAMES = (
    "COGNITO_USER_POOL_DOMAIN_PREFIX",
    "COGNITO_DOMAIN",
    "COGNITO_CLIENT_ID",
    "APP_LOGOUT_URL",
    "SESSION_COOKIE_NAME",
    "AWS_REGION",
    "IDP_LOGOUT_URL",
    "IDP_REDIRECT_PARAM",
    "IDP_CLIENT_ID",
    "COGNITO_IDP_ENDPOINT",
)


# Port 1 on loopback refuses connections: a test that sends a token by mistake never leaves the host.
CLOSED_ENDPOINT = "http://127.0.0.1:1/"


EXPECTED_LOCATION = (
    "https://my-app.auth.eu-west-1.amazoncognito.com/logout"
    f"?client_id={CLIENT_ID}&logout_uri=https%3A%2F%2Fapp.example.com%2F"
)


SESSION_COOKIES = f"{SESSION_COOKIE}-0=abc; {SESSION_COOKIE}-1=def; other=1"


def expired(name: str) -> str:
    return f"{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly"


def fresh_handler(monkeypatch: pytest.MonkeyPatch):
    """A fresh copy of the module, imported from its file as ``index`` (the ZipFile name)."""
    for name in CONFIG_NAMES:
        monkeypatch.delenv(name, raising=False)
    spec = importlib.util.spec_from_file_location("index", LAMBDA_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def configured_handler(monkeypatch: pytest.MonkeyPatch):
    """A fresh handler with a complete Cognito configuration whose GlobalSignOut goes nowhere."""
    handler = fresh_handler(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("COGNITO_USER_POOL_DOMAIN_PREFIX", "my-app")
    monkeypatch.setenv("COGNITO_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("APP_LOGOUT_URL", APP_URL)
    monkeypatch.setenv("COGNITO_IDP_ENDPOINT", CLOSED_ENDPOINT)
    return handler


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch):
    return fresh_handler(monkeypatch)


def single_value_event(query: dict | None = None, headers: dict | None = None, **fields) -> dict:
    """What the ALB sends when the target group's multi-value headers setting is off."""
    event = {
        "requestContext": {"elb": {"targetGroupArn": TARGET_GROUP}},
        "httpMethod": "GET",
        "path": LOGOUT_PATH,
        "queryStringParameters": query or {},
        "headers": {
            "accept": "text/html,application/xhtml+xml",
            "cookie": SESSION_COOKIES,
            "host": "app.example.com",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "x-amzn-trace-id": "Root=1-5bdb40ca-556d8b0c50dc66f0511bf520",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
            **(headers or {}),
        },
        "body": "",
        "isBase64Encoded": False,
    }
    return {**event, **fields}


def multi_value_event(query: dict | None = None, headers: dict | None = None, **fields) -> dict:
    """What the ALB sends when multi-value headers are on: every value is a list."""
    event = single_value_event(query, headers, **fields)
    event["multiValueQueryStringParameters"] = {
        k: v if isinstance(v, list) else [v] for k, v in event.pop("queryStringParameters").items()
    }
    event["multiValueHeaders"] = {k: [v] for k, v in event.pop("headers").items()}
    return event


def cookies_of(response: dict) -> list[str]:
    if "multiValueHeaders" in response:
        return response["multiValueHeaders"].get("Set-Cookie", [])
    cookie = response["headers"].get("Set-Cookie")
    return [cookie] if cookie else []


def header(response: dict, name: str) -> str | None:
    if "multiValueHeaders" in response:
        values = response["multiValueHeaders"].get(name)
        assert values is None or len(values) == 1, f"{name} should appear once"
        return values[0] if values else None
    return response["headers"].get(name)


def assert_refused(response: dict, caplog, mention: str) -> None:
    assert response["statusCode"] == 500
    assert response["statusDescription"] == "500 Internal Server Error"
    assert response["isBase64Encoded"] is False
    assert header(response, "Location") is None
    assert cookies_of(response) == []
    assert header(response, "Content-Type").startswith("text/html")
    assert header(response, "Cache-Control") == "no-store"
    assert "<h1>" in response["body"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(mention in message for message in errors), errors


ACCESS_TOKEN = (
    "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiJ1c2VyLTEiLCJ0b2tlbl91c2UiOiJhY2Nlc3MifQ.c2lnbmF0dXJl"
)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch):
    return configured_handler(monkeypatch)


class CognitoIdp(http.server.ThreadingHTTPServer):
    """A loopback stand-in for cognito-idp that records calls and answers as ``mode`` says."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.error: tuple[str, str] = ("", "")  # mode "cognito": the __type and message it answers with
        self.calls: list[dict] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: CognitoIdp

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
        mode = self.server.mode
        if mode == "hang":
            self.server.release.wait(10)
            return
        if mode == "garbage":
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
            return
        if mode == "redirect":
            self.send_response(307)
            self.send_header("Location", self.server.url + "elsewhere")
        elif mode == "fail":
            self.send_response(400)
            self.send_header("x-amzn-ErrorType", "NotAuthorizedException:http://internal.amazon.com/")
        elif mode == "cognito":  # as Cognito answers: the type in a header and the body, with a message
            self.send_response(400)
            self.send_header("x-amzn-ErrorType", f"{self.server.error[0]}:")
        else:
            self.send_response(200)
        answer = b"{}" if mode == "ok" else json.dumps({"message": "token " + ACCESS_TOKEN}).encode()
        if mode == "cognito":
            kind, message = self.server.error
            answer = json.dumps({"__type": kind, "message": f"{message} {ACCESS_TOKEN}"}).encode()
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def idp(configured, monkeypatch) -> Iterator[CognitoIdp]:
    server = CognitoIdp()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("COGNITO_IDP_ENDPOINT", server.url)
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def signed_in(make_event=multi_value_event, token: str = ACCESS_TOKEN, **fields) -> dict:
    return make_event(headers={"x-amzn-oidc-accesstoken": token}, **fields)
