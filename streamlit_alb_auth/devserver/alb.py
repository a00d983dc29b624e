"""The ALB's ``authenticate-cognito`` action: redirect to sign in, take the callback, hold the session.

The ``state`` sent to the hosted UI carries the path to return to, signed with a key of this
process; the path is checked to be same-origin both when the state is made and when it is used,
so neither a crafted first request nor a crafted callback can redirect off-site.

A session is good until its access token expires (``access_token_seconds``); then, as the ALB does,
the stand-in asks the IdP again with the refresh token (ALB user guide, "Authenticate users using an
Application Load Balancer", Authentication logout) and either renews the session cookie or, when the
refresh token was revoked, sends the browser to sign in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import replace
from urllib.parse import urlencode, urlsplit

import jwt
from aiohttp import web

from streamlit_alb_auth.devserver.config import CALLBACK_PATH, DevConfig
from streamlit_alb_auth.devserver.proxy import is_websocket
from streamlit_alb_auth.devserver.session import (
    AlbSession,
    SessionSealer,
    opaque_refresh_token,
    reassemble_cookie,
    shard_cookie,
    shard_names,
)
from streamlit_alb_auth.devserver.signin import HostedUi, error_page, redirect
from streamlit_alb_auth.devserver.users import DevUser
from streamlit_alb_auth.localidp import LocalOidcProvider
from streamlit_alb_auth.testing.signing import LocalAlbSigner

STATE_SECONDS = 600
IDENTITY_HEADERS = ("x-amzn-oidc-data", "x-amzn-oidc-accesstoken", "x-amzn-oidc-identity")
RENEWED = web.RequestKey("alb_dev_renewed_session", AlbSession)


def safe_return_path(target: str) -> str | None:
    """``target`` if it is a path on this origin (``/x?y``), else ``None``: no scheme, host, or ``//``."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return None
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StateSigner:
    """Make and check the OAuth ``state``: a signed, expiring return path."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def make(self, return_path: str, *, now: float | None = None) -> str:
        issued = time.time() if now is None else now
        fields = {"r": return_path, "x": int(issued + STATE_SECONDS), "n": secrets.token_hex(8)}
        body = _b64(json.dumps(fields).encode())
        return f"{body}.{_b64(self._mac(body))}"

    def read(self, state: str) -> str | None:
        """The return path of a state we made that has not expired and is still same-origin."""
        body, _, mac = state.partition(".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(body)):
                return None
            fields = json.loads(_unb64(body))
            if time.time() >= fields["x"]:
                return None
            return safe_return_path(fields["r"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest()


class AlbAuthenticate:
    """Turns a browser with a session cookie into the three ``x-amzn-oidc-*`` headers, or signs it in."""

    def __init__(
        self, config: DevConfig, hosted_ui: HostedUi, signer: LocalAlbSigner, pool: LocalOidcProvider
    ) -> None:
        self.config = config
        self.hosted_ui = hosted_ui
        self.signer = signer
        self.pool = pool
        self.sealer = SessionSealer()
        self.states = StateSigner()

    def session_of(self, request: web.Request) -> AlbSession | None:
        """The request's session, sealed by us and within SessionTimeout; refreshed when its access
        token has expired (``request[RENEWED]`` is then the session to write back), ``None`` when that
        refresh is refused: the browser signs in again."""
        session = self.sealer.open(reassemble_cookie(request.cookies, self.config.cookie_name))
        if session is None or not session.needs_refresh():
            return session
        if not self.hosted_ui.refresh(session):
            return None
        renewed = self.renewed(session)
        request[RENEWED] = renewed
        return renewed

    def renewed(self, session: AlbSession) -> AlbSession:
        """The session with what a refresh grant returns: new access and ID tokens, the same refresh token."""
        user = next(user for user in self.config.users if user.sub == session.sub)
        access_token, expires_at = self._access_token(user, session.scope)
        return replace(
            session,
            groups=user.groups,
            access_token=access_token,
            access_expires_at=expires_at,
            id_token=self._id_token(user, self.config.access_token_seconds),
        )

    def _access_token(self, user: DevUser, scope: str) -> tuple[str, float]:
        seconds = self.config.access_token_seconds
        token = self.pool.access_token(
            user.sub, groups=user.groups, username=user.username, expires_in=seconds, claims={"scope": scope}
        )
        return token, time.time() + seconds

    def identity_headers(self, session: AlbSession) -> dict[str, str]:
        """Fresh headers for one request, signed now, as the ALB signs each request it forwards."""
        claims = {
            "sub": session.sub,
            "email_verified": "true",
            "email": session.email,
            "username": session.username,
        }
        return self.signer.headers(
            claims,
            access_token=session.access_token,
            identity=session.sub,
            expires_in=self.config.data_token_seconds,
        )

    def start_sign_in(self, request: web.Request) -> web.Response:
        """A browser navigation goes to the hosted UI; anything else cannot follow a redirect: 401."""
        if request.method not in ("GET", "HEAD") or is_websocket(request):
            return error_page(401, "not signed in")
        return_path = safe_return_path(request.raw_path) or "/"
        opened = self.config.as_opened(request.host)
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": opened.callback_url,
            "scope": self.config.sign_in_scope,
            "state": self.states.make(return_path),
        }
        if self.config.force_sign_in_prompt:  # the rule's AuthenticationRequestExtraParams
            query["prompt"] = "login"
        # The hosted UI shares the app's origin here, so its cookie and the session's stay together.
        return redirect(f"{opened.public_url}/oauth2/authorize?{urlencode(query)}")

    async def callback(self, request: web.Request) -> web.StreamResponse:
        """``/oauth2/idpresponse``: trade the code for a user, set the session shards, go back."""
        return_path = self.states.read(request.query.get("state", ""))
        if return_path is None:
            return error_page(401, "invalid or expired state")
        granted = self.hosted_ui.redeem(
            request.query.get("code", ""), f"http://{request.host}{CALLBACK_PATH}"
        )
        if granted is None:
            return error_page(401, "invalid or expired authorization code")
        answer = redirect(return_path)
        self.set_session(answer, self.new_session(*granted))
        return answer

    def new_session(self, user: DevUser, scope: str) -> AlbSession:
        """What the token endpoint would return, kept (as the ALB keeps it) in the session."""
        now = time.time()
        access_token, access_expires_at = self._access_token(user, scope)
        return AlbSession(
            sub=user.sub,
            email=user.email,
            username=user.username,
            groups=user.groups,
            access_token=access_token,
            expires_at=now + self.config.session_seconds,
            id_token=self._id_token(user, self.config.access_token_seconds),
            refresh_token=opaque_refresh_token(),
            issued_at=now,
            scope=scope,
            access_expires_at=access_expires_at,
        )

    def _id_token(self, user: DevUser, seconds: int) -> str:
        now = int(time.time())
        claims = {
            "sub": user.sub,
            "aud": self.config.client_id,
            "iss": self.pool.issuer,
            "token_use": "id",
            "email": user.email,
            "email_verified": True,
            "cognito:username": user.username,
            "cognito:groups": list(user.groups),
            "auth_time": now,
            "iat": now,
            "exp": now + seconds,
        }
        return jwt.encode(claims, self.pool.private_key, algorithm="RS256", headers={"kid": self.pool.kid})

    def set_session(self, response: web.StreamResponse, session: AlbSession) -> None:
        """Write every shard, and expire the ones a larger, older session may have left behind.
        A renewed session keeps its SessionTimeout: the cookies live only as long as it has left."""
        shards = shard_cookie(self.config.cookie_name, self.sealer.seal(session))
        seconds = max(1, round(session.expires_at - time.time()))
        for name, value in shards:
            response.set_cookie(name, value, path="/", httponly=True, samesite="Lax", max_age=seconds)
        for name in shard_names(self.config.cookie_name)[len(shards) :]:
            response.del_cookie(name, path="/", httponly=True, samesite="Lax")
