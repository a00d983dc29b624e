"""bearer.py: a machine client's ``Authorization: Bearer`` token, verified by the app against a local issuer
(discovery and JWKS served on loopback), and each way a token is refused, with its precise error."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from streamlit_alb_auth.access_token import MAX_ACCESS_TOKEN_LENGTH
from streamlit_alb_auth.bearer import BearerVerifier, bearer_token, bearer_verifier_for, door_verified
from streamlit_alb_auth.config import resolve_settings
from streamlit_alb_auth.errors import (
    AccessTokenError,
    ClientMismatchError,
    ConfigurationError,
    InvalidSignatureError,
    IssuerMismatchError,
    MalformedTokenError,
    MissingHeaderError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTooLargeError,
    UnsupportedAlgorithmError,
)
from streamlit_alb_auth.localidp import LocalOidcProvider
from streamlit_alb_auth.testing import reset_state
from streamlit_alb_auth.user import AlbUser

CLIENT = "agent-client-1"
ALB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/0123456789abcdef"


class Issuer:
    """A client-credentials issuer on loopback: discovery and JWKS, counting what is fetched."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.provider = LocalOidcProvider(issuer=self.url, client_id=CLIENT)
        self.extra_keys: list[dict[str, Any]] = []
        self.fetched: list[str] = []

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetched.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = owner.provider.discovery()
                elif self.path == "/jwks.json":
                    body = {"keys": owner.provider.jwks["keys"] + owner.extra_keys}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def claims(self, **changes: Any) -> dict[str, Any]:
        """What Cognito puts in a client-credentials access token: no ``aud``, the client is the subject."""
        now = int(time.time())
        claims = {
            "sub": CLIENT,
            "iss": self.url,
            "client_id": CLIENT,
            "token_use": "access",
            "scope": "streamlit/agent reports/read",
            "iat": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, **changes: Any) -> str:
        return jwt.encode(
            self.claims(**changes),
            self.provider.private_key,
            algorithm="RS256",
            headers={"kid": self.provider.kid},
        )


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    reset_state()
    served = Issuer()
    thread = threading.Thread(target=served.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()
    reset_state()


@pytest.fixture
def verifier(issuer: Issuer) -> BearerVerifier:
    return BearerVerifier(issuer.url, audience=CLIENT)


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_client_credentials_token_is_a_machine_with_its_scopes_as_groups(issuer, verifier):
    machine = verifier.verify(issuer.token())
    assert machine.is_machine and machine.is_logged_in
    assert (machine.sub, machine.client_id) == (CLIENT, CLIENT)
    assert machine.groups == ("streamlit/agent", "reports/read")
    assert machine.email is None
    assert issuer.fetched == ["/.well-known/openid-configuration", "/jwks.json"]  # jwks_uri from discovery


def test_a_machine_copies_and_pickles_as_a_machine(issuer, verifier):
    machine = verifier.verify(issuer.token())
    for copied in (copy.deepcopy(machine), pickle.loads(pickle.dumps(machine))):
        assert copied.is_machine and copied.client_id == CLIENT and copied.groups == machine.groups
    assert "machine" in repr(machine) and "machine" not in repr(AlbUser({"sub": "person"}))


def test_an_audience_in_aud_or_azp_is_accepted_too(issuer, verifier):
    assert verifier.verify(issuer.token(client_id=None, aud=["other", CLIENT])).sub == CLIENT
    assert verifier.verify(issuer.token(client_id=None, azp=CLIENT)).sub == CLIENT


def test_groups_come_from_the_configured_claim(issuer):
    verifier = BearerVerifier(issuer.url, audience=CLIENT, groups_claim="roles")
    assert verifier.verify(issuer.token(roles=["ops", 7, "audit"])).groups == ("ops", "audit")
    assert verifier.verify(issuer.token()).groups == ()


def test_a_repeat_is_served_from_the_cache_until_exp(issuer):
    now = [time.time()]
    verifier = BearerVerifier(issuer.url, audience=CLIENT, leeway=0, clock=lambda: now[0])
    token = issuer.token(exp=int(now[0]) + 60)
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    assert door_verified(CLIENT, CLIENT, first.groups) is first  # what the page finds by st.user
    now[0] = float(int(now[0]) + 60)  # the instant of exp: still the cached machine
    assert verifier.verify(token) is first
    now[0] += 1
    with pytest.raises(TokenExpiredError):
        verifier.verify(token)


def test_the_page_finds_only_machines_a_verifier_verified_while_their_token_lives(issuer, verifier):
    groups = ("streamlit/agent", "reports/read")
    assert door_verified(CLIENT, CLIENT, groups) is None
    machine = verifier.verify(issuer.token())
    assert door_verified(CLIENT, CLIENT, groups) is machine
    assert door_verified(CLIENT, CLIENT, ("streamlit/agent", "admin")) is None  # other groups: not it
    assert door_verified("someone", CLIENT, groups) is None
    reset_state()
    assert door_verified(CLIENT, CLIENT, groups) is None
    verifier.verify(issuer.token(exp=int(time.time()) - 20))  # within the 30 s leeway
    assert door_verified(CLIENT, CLIENT, groups) is not None


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"iss": "https://other-issuer.example.com"}, IssuerMismatchError),
        ({"client_id": "another-client"}, ClientMismatchError),
        ({"client_id": None, "aud": "another-client"}, ClientMismatchError),
        ({"exp": int(time.time()) - 3600}, TokenExpiredError),
        ({"exp": None}, MalformedTokenError),
        ({"nbf": int(time.time()) + 3600}, TokenNotYetValidError),
        ({"iat": int(time.time()) + 3600}, TokenNotYetValidError),
        ({"sub": None}, MalformedTokenError),
    ],
    ids=["another-issuer", "another-client", "another-audience", "expired", "no-exp", "nbf", "iat", "no-sub"],
)
def test_claims_that_do_not_fit_are_refused(issuer, verifier, changes, error):
    with pytest.raises(error):
        verifier.verify(issuer.token(**changes))


def test_a_small_clock_skew_is_within_the_leeway(issuer, verifier):
    assert verifier.verify(issuer.token(iat=int(time.time()) + 10)).is_machine


def test_alg_none_is_refused(issuer, verifier):
    token = f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(issuer.claims())}."
    with pytest.raises(UnsupportedAlgorithmError):
        verifier.verify(token)


def test_hs256_signed_with_the_rsa_public_key_is_refused(issuer, verifier):
    """Key confusion: the public key (which anyone can fetch) used as an HMAC secret."""
    public_pem = issuer.provider.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_segment({'alg': 'HS256', 'kid': issuer.provider.kid})}.{_segment(issuer.claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(UnsupportedAlgorithmError):
        verifier.verify(token)


def test_es256_is_refused_even_with_its_key_in_the_jwks(issuer, verifier):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    issuer.extra_keys.append({**jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"})
    es256 = jwt.encode(issuer.claims(), ec_key, algorithm="ES256", headers={"kid": "ec-1"})
    with pytest.raises(UnsupportedAlgorithmError):
        verifier.verify(es256)
    # An RS256 header naming the EC key: the key is not an RS256 key, so nothing is tried with it.
    _header, payload, signature = es256.split(".")
    relabelled = f"{_segment({'alg': 'RS256', 'kid': 'ec-1'})}.{payload}.{signature}"
    with pytest.raises(UnsupportedAlgorithmError):
        verifier.verify(relabelled)


def test_a_token_signed_by_another_key_under_the_same_kid_is_refused(issuer, verifier):
    impostor = LocalOidcProvider(issuer=issuer.url, client_id=CLIENT, kid=issuer.provider.kid)
    token = jwt.encode(
        issuer.claims(), impostor.private_key, algorithm="RS256", headers={"kid": impostor.kid}
    )
    with pytest.raises(InvalidSignatureError):
        verifier.verify(token)


def test_an_unknown_kid_is_refused(issuer, verifier):
    token = jwt.encode(
        issuer.claims(), issuer.provider.private_key, algorithm="RS256", headers={"kid": "nope"}
    )
    with pytest.raises(AccessTokenError):
        verifier.verify(token)


def test_oversized_and_malformed_tokens_are_refused_before_parsing(issuer, verifier):
    with pytest.raises(TokenTooLargeError):
        verifier.verify("a" * (MAX_ACCESS_TOKEN_LENGTH + 1))
    readable_header = _segment({"alg": "RS256", "kid": issuer.provider.kid})
    for junk in (
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a b.c.d",
        "a.b.c\n",
        "é.b.c",
        f"{readable_header}.pay!load.sig",
    ):
        with pytest.raises(MalformedTokenError):
            verifier.verify(junk)
    assert issuer.fetched == []  # nothing was fetched for any of them


def test_an_rsa_key_the_jwks_marks_for_another_algorithm_is_not_used(issuer, verifier):
    """The JWKS says the key is for RS384: an RS256 token naming it is refused, though the RSA
    signature itself would verify."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer.provider.private_key.public_key()))
    issuer.extra_keys.append({**jwk, "kid": "rs384", "alg": "RS384", "use": "sig"})
    token = jwt.encode(
        issuer.claims(), issuer.provider.private_key, algorithm="RS256", headers={"kid": "rs384"}
    )
    with pytest.raises(UnsupportedAlgorithmError):
        verifier.verify(token)


def test_an_explicit_jwks_url_skips_discovery(issuer):
    verifier = BearerVerifier(issuer.url, audience=CLIENT, jwks_url=issuer.url + "/jwks.json")
    assert verifier.verify(issuer.token()).is_machine
    assert issuer.fetched == ["/jwks.json"]


def test_the_authorization_header_holds_exactly_one_bearer_token():
    assert bearer_token(["Bearer abc.def.ghi"]) == "abc.def.ghi"
    assert bearer_token(["bearer  abc.def.ghi "]) == "abc.def.ghi"
    with pytest.raises(MissingHeaderError):
        bearer_token([])
    for values in (["Bearer a.b.c", "Bearer a.b.c"], ["Basic dXNlcjpwdw=="], ["Bearer "], ["Bearer"]):
        with pytest.raises(MalformedTokenError):
            bearer_token(values)


def test_settings_come_from_variables_and_secrets_like_every_setting(issuer):
    environ = {
        "ALB_AUTH_ALB_ARN": ALB_ARN,
        "ALB_AUTH_BEARER_ISSUER": issuer.url,
        "ALB_AUTH_BEARER_AUDIENCE": CLIENT,
    }
    settings = resolve_settings({}, environ=environ, secrets={"bearer_groups_claim": "roles"})
    assert (settings.bearer_issuer, settings.bearer_audience) == (issuer.url, CLIENT)
    assert (settings.bearer_groups_claim, settings.bearer_jwks_url) == ("roles", None)
    verifier = bearer_verifier_for(settings)
    assert verifier is not None and verifier is bearer_verifier_for(settings)
    assert resolve_settings({"alb_arn": ALB_ARN}, environ={}, secrets={}).bearer_groups_claim == "scope"
    assert bearer_verifier_for(resolve_settings({"alb_arn": ALB_ARN}, environ={}, secrets={})) is None


@pytest.mark.parametrize(
    ("arguments", "setting"),
    [
        ({"bearer_issuer": "https://idp.example.com"}, "bearer_audience"),
        ({"bearer_audience": CLIENT}, "bearer_issuer"),
        ({"bearer_jwks_url": "https://idp.example.com/jwks.json"}, "bearer_issuer"),
    ],
)
def test_half_a_bearer_configuration_is_refused(arguments, setting):
    with pytest.raises(ConfigurationError) as caught:
        bearer_verifier_for(resolve_settings({"alb_arn": ALB_ARN, **arguments}, environ={}, secrets={}))
    assert caught.value.setting == setting


@pytest.mark.parametrize(
    ("arguments", "setting"),
    [
        ({"bearer_issuer": "http://idp.example.com"}, "bearer_issuer"),  # plain HTTP off loopback
        ({"bearer_jwks_url": "file:///etc/passwd"}, "bearer_jwks_url"),
        ({"bearer_groups_claim": "two words"}, "bearer_groups_claim"),
    ],
)
def test_bearer_settings_are_checked_when_read(arguments, setting):
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({"alb_arn": ALB_ARN, **arguments}, environ={}, secrets={})
    assert caught.value.setting == setting


def test_dev_machine_clients_gives_the_app_a_working_bearer_configuration():
    from streamlit_alb_auth.devserver.config import DevConfig
    from streamlit_alb_auth.devserver.machines import MACHINE_CLIENT_ID

    for idp in ("cognito", "oidc"):
        environ = DevConfig(8080, 8501, machine_clients=True, idp=idp).app_environment()
        verifier = bearer_verifier_for(resolve_settings({}, environ=environ, secrets={}))
        assert verifier is not None and verifier.audience == MACHINE_CLIENT_ID, idp
    assert "ALB_AUTH_BEARER_ISSUER" not in DevConfig(8080, 8501).app_environment()
