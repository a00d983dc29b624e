"""The Cognito side: a hosted-UI sign-in page, authorization codes, ``/logout``, ``/oauth2/userInfo``,
and the ``GlobalSignOut`` API call (on ``COGNITO_IDP_PATH``, the logout Lambda's ``COGNITO_IDP_ENDPOINT``).

It checks what Cognito checks (client id, registered callback and sign-out URLs) and keeps its own
sign-in session in a ``cognito`` cookie, so signing out of the app alone leaves you signed in
here, just as a logout that skips Cognito's ``/logout`` does in production.
"""

from __future__ import annotations

import html
import json
import secrets
import string
import time
from importlib import resources
from urllib.parse import urlencode

import jwt
from aiohttp import web

from streamlit_alb_auth.devserver.config import CALLBACK_PATH, COGNITO_IDP_PATH, DevConfig
from streamlit_alb_auth.devserver.session import Revocations
from streamlit_alb_auth.devserver.users import DevUser
from streamlit_alb_auth.localidp import LocalOidcProvider

SIGN_IN_COOKIE = "cognito"
CODE_SECONDS = 300
_PAGE = string.Template(resources.files(__package__).joinpath("signin.html").read_text("utf-8"))


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def error_page(status: int, message: str) -> web.Response:
    body = f"<!doctype html><title>Error</title><h1>{status}</h1><p>{html.escape(message)}</p>"
    return web.Response(status=status, text=body, content_type="text/html")


def _cognito_error(kind: str, message: str) -> web.Response:
    """How Cognito's JSON API refuses a call: 400, the exception name in a header and the body."""
    headers = {"x-amzn-ErrorType": f"{kind}:", "Content-Type": "application/x-amz-json-1.1"}
    body = json.dumps({"__type": kind, "message": message})
    return web.Response(status=400, text=body, headers=headers)


def invalid_token() -> web.Response:
    challenge = 'Bearer error="invalid_token", error_description="Access token is not valid"'
    return web.json_response({"error": "invalid_token"}, status=401, headers={"WWW-Authenticate": challenge})


class HostedUi:
    """Sign-in sessions and one-time codes for the users of ``config``, kept in memory."""

    def __init__(self, config: DevConfig, pool: LocalOidcProvider) -> None:
        self.config = config
        self.pool = pool
        self._users = {user.email: user for user in config.users}
        self._sign_ins: dict[str, DevUser] = {}
        self._codes: dict[str, tuple[DevUser, str, float]] = {}
        self.revocations = Revocations()

    def allowed_callback_urls(self) -> frozenset[str]:
        hosts = {self.config.public_host, "127.0.0.1"}
        return frozenset(f"http://{host}:{self.config.port}{CALLBACK_PATH}" for host in hosts)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/oauth2/authorize", self.authorize),
            web.post("/login", self.login),
            web.get("/logout", self.logout),
            web.route("*", "/oauth2/userInfo", self.user_info),
            web.post(COGNITO_IDP_PATH, self.cognito_idp),
        ]

    def redeem(self, code: str, redirect_uri: str) -> DevUser | None:
        """The token endpoint's check: a code works once, before it expires, for its own callback."""
        found = self._codes.pop(code, None)
        if found is None:
            return None
        user, bound_uri, expires_at = found
        return user if bound_uri == redirect_uri and time.time() < expires_at else None

    def _check_client(self, client_id: str, redirect_uri: str) -> str | None:
        if client_id != self.config.client_id:
            return "unknown client_id"
        if redirect_uri not in self.allowed_callback_urls():
            return "redirect_mismatch: redirect_uri is not a registered callback URL"
        return None

    def _redirect_with_code(self, user: DevUser, redirect_uri: str, state: str) -> web.Response:
        now = time.time()
        self._codes = {code: found for code, found in self._codes.items() if found[2] > now}
        code = secrets.token_urlsafe(24)
        self._codes[code] = (user, redirect_uri, now + CODE_SECONDS)
        return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if query.get("response_type") != "code":
            return error_page(400, "unsupported response_type")
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        problem = self._check_client(query.get("client_id", ""), redirect_uri)
        if problem:
            return error_page(400, problem)
        signed_in = self._sign_ins.get(request.cookies.get(SIGN_IN_COOKIE, ""))
        if signed_in is not None:
            return self._redirect_with_code(signed_in, redirect_uri, state)
        fields = {"client_id": self.config.client_id, "redirect_uri": redirect_uri, "state": state}
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
            for name, value in fields.items()
        )
        forms = "".join(
            f'<form method="post" action="/login">{hidden}'
            f'<button name="email" value="{html.escape(user.email)}">Sign in as {html.escape(user.email)}'
            f"<br><span>groups: {html.escape(', '.join(user.groups) or 'none')}</span></button></form>"
            for user in self.config.users
        )
        page = _PAGE.substitute(forms=forms)
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        redirect_uri, state = str(form.get("redirect_uri", "")), str(form.get("state", ""))
        problem = self._check_client(str(form.get("client_id", "")), redirect_uri)
        if problem:
            return error_page(400, problem)
        user = self._users.get(str(form.get("email", "")))
        if user is None:
            return error_page(400, "unknown user")
        sign_in = secrets.token_urlsafe(32)
        self._sign_ins[sign_in] = user
        answer = self._redirect_with_code(user, redirect_uri, state)
        answer.set_cookie(SIGN_IN_COOKIE, sign_in, path="/", httponly=True, samesite="Lax")
        return answer

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Cognito's ``/logout``: end the sign-in, then go to ``logout_uri`` (the registered one)."""
        return self.sign_out(request, "logout_uri")

    def sign_out(self, request: web.Request, return_parameter: str) -> web.Response:
        """End the sign-in session, then go to the URL in ``return_parameter``, which must be the
        registered sign-out URL; the next sign-in asks who you are again."""
        if request.query.get("client_id") != self.config.client_id:
            return error_page(400, "unknown client_id")
        back = request.query.get(return_parameter, "")
        if back != self.config.as_opened(request.host).sign_out_url:
            return error_page(400, f"{return_parameter} is not the registered sign-out URL")
        self._sign_ins.pop(request.cookies.get(SIGN_IN_COOKIE, ""), None)
        answer = redirect(back)
        answer.del_cookie(SIGN_IN_COOKIE, path="/")
        return answer

    def live_claims(
        self, token: str, *, audience: str | None = None, require: tuple[str, ...] = ()
    ) -> dict | None:
        """The claims of a live access token of ours: signed by the provider, unexpired, not revoked."""
        try:
            claims = jwt.decode(
                token,
                self.pool.private_key.public_key(),
                algorithms=["RS256"],
                issuer=self.pool.issuer,
                audience=audience,
                options={"require": ["exp", "iat", "iss", "sub", *require]},
            )
        except jwt.InvalidTokenError:
            return None
        return claims if self.revocations.allows(claims["sub"], claims["iat"]) else None

    def _access_claims(self, token: str) -> dict | None:
        """A live Cognito access token's claims (its ID tokens say ``token_use`` = id)."""
        claims = self.live_claims(token, require=("token_use",))
        if claims is None or claims["token_use"] != "access":  # noqa: S105 - a claim value
            return None
        return claims

    async def user_info(self, request: web.Request) -> web.StreamResponse:
        """Cognito's userInfo: a valid access token of ours buys the user's attributes as JSON."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        claims = self._access_claims(token) if scheme.lower() == "bearer" else None
        user = next((user for user in self.config.users if claims and user.sub == claims["sub"]), None)
        if user is None:
            return invalid_token()
        return web.json_response(
            {"sub": user.sub, "email_verified": "true", "email": user.email, "username": user.username}
        )

    async def cognito_idp(self, request: web.Request) -> web.StreamResponse:
        """``GlobalSignOut``: every token and ALB session of the token's user ends now."""
        target = request.headers.get("X-Amz-Target", "")
        if target != "AWSCognitoIdentityProviderService.GlobalSignOut":
            return _cognito_error("UnknownOperationException", "only GlobalSignOut is served here")
        try:
            token = json.loads(await request.read())["AccessToken"]
            claims = self._access_claims(token) if isinstance(token, str) else None
        except (ValueError, KeyError, TypeError):
            return _cognito_error("InvalidParameterException", "AccessToken is required")
        if claims is None:
            return _cognito_error("NotAuthorizedException", "Access Token has been revoked")
        self.revocations.revoke(claims["sub"])
        return web.Response(text="{}", content_type="application/x-amz-json-1.1")
