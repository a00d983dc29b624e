"""Settings of one stand-in run, and the environment they give the app and the logout Lambda."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace

from streamlit_alb_auth.cognito import user_pool_issuer
from streamlit_alb_auth.devserver.users import DEFAULT_USERS, DevUser
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE, SIGN_OUT_SCOPE

LOCAL_ALB_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/alb-auth-dev/0000000000000000"
)
# Cognito app client ids are letters and digits only (the logout Lambda checks this).
LOCAL_CLIENT_ID = "albauthdevlocalclient"
LOCAL_USER_POOL_ID = "us-east-1_LocalPool"
# `.invalid` never resolves: if a Location to it ever escaped the stand-in, the browser would fail
# loudly instead of reaching a real host.
LOCAL_COGNITO_DOMAIN = "auth.alb-dev.invalid"
KEYS_PATH = "/_alb_dev/keys"
JWKS_PATH = "/_alb_dev/jwks.json"
USERINFO_PATH = "/oauth2/userInfo"
CALLBACK_PATH = "/oauth2/idpresponse"
# The names a browser may use for the stand-in (it listens on 127.0.0.1 only).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})
# Cognito's API endpoint (cognito-idp.REGION.amazonaws.com) as the stand-in serves it: GlobalSignOut.
COGNITO_IDP_PATH = "/_alb_dev/cognito-idp/"
SIGNED_OUT_PATH = "/signed-out"
DEFAULT_SESSION_SECONDS = 28800
"""The templates' SessionTimeout default: 8 hours."""
DEFAULT_SCOPE = f"openid email profile {SIGN_OUT_SCOPE}"
"""What stack.yaml's authenticate-cognito rules ask for (a test holds the two equal)."""
OIDC_SCOPE = "openid email profile"
"""What its authenticate-oidc rules ask for: the Cognito scope means nothing to other providers."""
DEFAULT_ACCESS_TOKEN_SECONDS = 15 * 60
"""stack.yaml's AccessTokenMinutes default, in seconds."""
MANAGED_LOGIN_SECONDS = 3600
"""How long Cognito's managed login reuses a sign-in without asking again: 60 minutes by default
(Cognito API reference, ClientSSOSessionConfigType.MaxValidityMinutes; the 1-hour "cognito" cookie of
the AWS knowledge center article on the logout endpoint and GlobalSignOut)."""
COGNITO_ISSUERS = ("original", "updated")
_SCOPE = re.compile(r"[!#-\[\]-~]+( [!#-\[\]-~]+)*")  # RFC 6749 scope-token characters, space-separated
LAMBDA_HEADER_MODES = ("multi", "single")
# The templates' LogoutBy: the logout rule forwards to the Lambda, or to the app's own route.
LOGOUT_BY = ("lambda", "app")
IDPS = ("cognito", "oidc")
# The generic OIDC provider of `--idp oidc`: its issuer URL is this path on the stand-in.
OIDC_PATH = "/_alb_dev/oidc"
OIDC_GROUPS_CLAIM = "groups"


@dataclass(frozen=True)
class DevConfig:
    """Where the stand-in listens and whom it knows; everything else is derived from these."""

    port: int
    streamlit_port: int
    users: tuple[DevUser, ...] = DEFAULT_USERS
    public_host: str = "localhost"
    client_id: str = LOCAL_CLIENT_ID
    user_pool_id: str = LOCAL_USER_POOL_ID
    alb_arn: str = LOCAL_ALB_ARN
    cognito_domain: str = LOCAL_COGNITO_DOMAIN
    logout_path: str = LOGOUT_PATH
    cookie_name: str = SESSION_COOKIE
    session_seconds: int = DEFAULT_SESSION_SECONDS
    lambda_headers: str = "multi"
    data_token_seconds: int = 120
    idp: str = "cognito"
    logout_by: str = "lambda"
    scope: str = ""
    """The scopes the ALB rule asks for; empty: what stack.yaml asks for with ``idp``."""
    access_token_seconds: int = DEFAULT_ACCESS_TOKEN_SECONDS
    managed_login_seconds: int = MANAGED_LOGIN_SECONDS
    cognito_issuer: str = "original"
    force_sign_in_prompt: bool = False
    machine_clients: bool = False
    """stack.yaml's MachineClients cognito: the jwt-validation rule and a client-credentials client."""
    machine_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    exempt_paths: frozenset[str] = field(default_factory=lambda: frozenset({"/_stcore/health"}))

    @property
    def public_url(self) -> str:
        """The URL to open; sign-in callbacks and the sign-out URL are registered on it."""
        return f"http://{self.public_host}:{self.port}"

    def as_opened(self, host: str) -> DevConfig:
        """This run as seen from the ``Host`` the browser opened, if it is one of our loopback names.

        Cookies belong to one host name: sign-in, callback and sign-out must all stay on the one
        the user typed (``localhost`` or ``127.0.0.1``). Any other ``Host`` gets ``public_url``.
        """
        name, _, port = host.rpartition(":")
        if name in LOOPBACK_HOSTS and port == str(self.port):
            return replace(self, public_host=name)
        return self

    @property
    def loopback_url(self) -> str:
        """How the app's server reaches the stand-in's key and userInfo endpoints."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.streamlit_port}"

    @property
    def callback_url(self) -> str:
        return self.public_url + CALLBACK_PATH

    def __post_init__(self) -> None:
        if self.idp not in IDPS:
            raise ValueError(f"idp must be one of {', '.join(IDPS)}")
        if self.logout_by not in LOGOUT_BY:
            raise ValueError(f"logout_by must be one of {', '.join(LOGOUT_BY)}")
        if self.lambda_headers not in LAMBDA_HEADER_MODES:
            raise ValueError(f"lambda_headers must be one of {', '.join(LAMBDA_HEADER_MODES)}")
        if not 1 <= self.session_seconds <= 604800:
            raise ValueError("the session timeout is 1 to 604800 seconds, as on the ALB")
        if self.scope and not _SCOPE.fullmatch(self.scope):
            raise ValueError("the scope is space-separated scope names, e.g. 'openid email profile'")
        if not 1 <= self.access_token_seconds <= 86400:
            raise ValueError("the access token lifetime is 1 to 86400 seconds (Cognito: 5 minutes to a day)")
        if not 0 <= self.managed_login_seconds <= 129600 * 60:
            raise ValueError("the managed login session is 0 to 90 days, as Cognito allows")
        if self.cognito_issuer not in COGNITO_ISSUERS:
            raise ValueError(f"cognito_issuer must be one of {', '.join(COGNITO_ISSUERS)}")

    @property
    def sign_out_url(self) -> str:
        """Cognito's one allowed sign-out URL for this client: the signed-out page."""
        return self.public_url + SIGNED_OUT_PATH

    @property
    def oidc_issuer(self) -> str:
        """The generic provider's issuer (``--idp oidc``), where the app's server reaches it."""
        return self.loopback_url + OIDC_PATH

    @property
    def sign_in_scope(self) -> str:
        return self.scope or (OIDC_SCOPE if self.idp == "oidc" else DEFAULT_SCOPE)

    @property
    def cognito_issuer_url(self) -> str:
        """The user pool's issuer in the format ``cognito_issuer`` names."""
        return user_pool_issuer(self.user_pool_id, updated=self.cognito_issuer == "updated")

    def app_environment(self) -> dict[str, str]:
        """What the Streamlit app needs to verify tokens exactly as it would behind a real ALB."""
        return {**self._browser_environment(), **self._machine_environment()}

    def _machine_environment(self) -> dict[str, str]:
        """With ``machine_clients``: the bearer settings for the stand-in's client-credentials tokens,
        so an ``st.App`` built with ``alb_auth()`` verifies them itself, as it would behind the ALB."""
        if not self.machine_clients:
            return {}
        from streamlit_alb_auth.devserver.machines import MACHINE_CLIENT_ID

        issuer = self.oidc_issuer if self.idp == "oidc" else self.cognito_issuer_url
        jwks = {} if self.idp == "oidc" else {"ALB_AUTH_BEARER_JWKS_URL": self.loopback_url + JWKS_PATH}
        return {"ALB_AUTH_BEARER_ISSUER": issuer, "ALB_AUTH_BEARER_AUDIENCE": MACHINE_CLIENT_ID, **jwks}

    def _browser_environment(self) -> dict[str, str]:
        if self.idp == "oidc":
            return {
                "ALB_AUTH_ALB_ARN": self.alb_arn,
                "ALB_AUTH_CLIENT_ID": self.client_id,
                "ALB_AUTH_ISSUER": self.oidc_issuer,
                "ALB_AUTH_KEY_URL": self.loopback_url + KEYS_PATH,
                "ALB_AUTH_OIDC_ISSUER": self.oidc_issuer,
                "ALB_AUTH_AUDIENCE": self.client_id,
                "ALB_AUTH_GROUPS_CLAIM": OIDC_GROUPS_CLAIM,
            }
        return {
            "ALB_AUTH_ALB_ARN": self.alb_arn,
            "ALB_AUTH_CLIENT_ID": self.client_id,
            "ALB_AUTH_ISSUER": self.cognito_issuer_url,
            "ALB_AUTH_KEY_URL": self.loopback_url + KEYS_PATH,
            "ALB_AUTH_USER_POOL_ID": self.user_pool_id,
            "ALB_AUTH_JWKS_URL": self.loopback_url + JWKS_PATH,
            "COGNITO_USERINFO_URL": self.loopback_url + USERINFO_PATH,
            "ALB_AUTH_SHOW_DETAILS": "1",  # the developer sees configuration problems on the page
        }

    def lambda_environment(self) -> dict[str, str]:
        """The logout Lambda's configuration, as the CloudFormation template would set it.

        The app gets it too, as stack.yaml gives it to the tasks with ``LogoutBy: app``: an ``st.App``
        built with ``alb_auth()`` has its own logout route, which runs the Lambda's code.
        """
        if self.idp == "oidc":
            # On the never-resolving domain, as Cognito's is: the stand-in points it at itself.
            return {
                "IDP_LOGOUT_URL": f"https://{self.cognito_domain}{OIDC_PATH}/logout",
                "IDP_REDIRECT_PARAM": "post_logout_redirect_uri",
                "IDP_CLIENT_ID": self.client_id,
                "APP_LOGOUT_URL": self.sign_out_url,
                "SESSION_COOKIE_NAME": self.cookie_name,
            }
        return {
            "COGNITO_DOMAIN": self.cognito_domain,
            "COGNITO_CLIENT_ID": self.client_id,
            "APP_LOGOUT_URL": self.sign_out_url,
            "SESSION_COOKIE_NAME": self.cookie_name,
            "COGNITO_IDP_ENDPOINT": self.loopback_url + COGNITO_IDP_PATH,
        }
