"""``streamlit-alb-auth doctor`` against the local ALB stand-in: it passes, and broken set-ups fail by name.

The stand-in (``build_app``) runs on a loopback port in a thread of its own, in front of a small
aiohttp app playing Streamlit (``/_stcore/health`` answers ``ok``); doctor's requests are the
package's bounded fetcher, blocking, from the test's thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from helpers.doctor import Handler, doctor_cli, live, stand_in

from streamlit_alb_auth.devserver.config import DevConfig
from streamlit_alb_auth.devserver.lambda_target import load_handler
from streamlit_alb_auth.devserver.runner import free_port
from streamlit_alb_auth.doctor import Check, doctor_fetcher
from streamlit_alb_auth.doctor.local import check_configuration
from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE

COOKIE = SESSION_COOKIE


def statuses(checks: dict[str, Check]) -> dict[str, str]:
    return {name: check.status for name, check in checks.items()}


# --- doctor --url ----------------------------------------------------------------------------------


def test_the_stand_in_passes() -> None:
    with stand_in() as url:
        checks = live(url)
    assert statuses(checks) == {**dict.fromkeys(checks, "ok"), "tls": "warn", "hsts": "warn"}, checks
    assert set(checks) == {"tls", "sign-in", "revocation", "health", "logout", "signed-out", "hsts"}
    assert "client_id=albauthdevlocalclient" in checks["sign-in"].reason
    assert f"callback={url}oauth2/idpresponse" in checks["sign-in"].reason
    assert f"{COOKIE}-0..3 in one answer" in checks["logout"].reason
    assert checks["signed-out"].reason.startswith("/signed-out is public")
    # Loopback HTTP: TLS and HSTS cannot be checked, and doctor says so instead of passing them.
    assert checks["tls"].status == checks["hsts"].status == "warn"
    assert "loopback" in checks["tls"].reason


def test_a_single_value_logout_chain_passes_when_it_expires_every_shard() -> None:
    with stand_in({"lambda_headers": "single"}) as url:
        checks = live(url)
    assert checks["logout"].status == "ok", checks["logout"]
    assert "a chain of 4 single-value answers" in checks["logout"].reason


def only_first_shard(handler: Handler) -> Handler:
    def run(event: dict[str, Any], env: Any) -> dict[str, Any]:
        answer = handler(event, env)
        answer["multiValueHeaders"]["Set-Cookie"] = answer["multiValueHeaders"]["Set-Cookie"][:1]
        return answer

    return run


def to_app_root(handler: Handler) -> Handler:
    def run(event: dict[str, Any], env: Any) -> dict[str, Any]:
        answer = handler(event, env)
        answer["multiValueHeaders"]["Location"] = ["/"]
        return answer

    return run


def back_to(path: str) -> Callable[[Handler], Handler]:
    """The logout URL the Lambda names (where the IdP sends users back) becomes ``path`` on the app."""

    def wrap(handler: Handler) -> Handler:
        def run(event: dict[str, Any], env: Any) -> dict[str, Any]:
            answer = handler(event, env)
            (location,) = answer["multiValueHeaders"]["Location"]
            parts = urlsplit(location)
            query = dict(parse_qsl(parts.query))
            query["logout_uri"] = urljoin(query["logout_uri"], path)
            answer["multiValueHeaders"]["Location"] = [parts._replace(query=urlencode(query)).geturl()]
            return answer

        return run

    return wrap


@pytest.mark.parametrize(
    ("broken", "name", "says"),
    [
        ({"config": {"exempt_paths": frozenset()}}, "health", "redirects to sign in"),
        ({"config": {"exempt_paths": frozenset({"/", "/_stcore/health"})}}, "sign-in", "open to anyone"),
        ({"handler": only_first_shard}, "logout", f"leaves {COOKIE}-1, {COOKIE}-2, {COOKIE}-3 alive"),
        ({"config": {"cookie_name": "MyCookie"}}, "logout", "is the cookie name AWSELBAuthSessionCookie?"),
        ({"handler": to_app_root}, "logout", "not the IdP's logout endpoint"),
        ({"config": {"logout_path": "/logout-elsewhere"}}, "logout", "redirects to sign in"),
    ],
    ids=["health-behind-sign-in", "app-open", "one-shard", "cookie-name", "no-idp-logout", "no-logout-route"],
)
def test_a_broken_stand_in_fails_the_right_check(broken, name, says) -> None:
    handler = broken["handler"](load_handler()) if "handler" in broken else None
    with stand_in(broken.get("config"), handler) as url:
        checks = live(url)
    failed = [check.name for check in checks.values() if check.status == "fail"]
    assert failed == [name], checks
    assert says in checks[name].reason
    assert checks[name].fix


def test_a_signed_out_page_behind_sign_in_fails() -> None:
    with stand_in(handler=back_to("/signed-out-but-private")(load_handler())) as url:
        checks = live(url)
    assert checks["signed-out"].status == "fail", checks["signed-out"]
    assert "/signed-out-but-private requires sign-in" in checks["signed-out"].reason


def test_logout_back_to_the_sign_in_page_is_a_warning() -> None:
    with stand_in(handler=back_to("/")(load_handler())) as url:
        checks = live(url)
    assert checks["signed-out"].status == "warn", checks["signed-out"]
    assert "straight to the sign-in page" in checks["signed-out"].reason


def test_plain_http_off_loopback_fails_tls_without_a_request() -> None:
    checks = live("http://app.example.com/")
    assert statuses(checks) == {"tls": "fail"}
    assert "plain HTTP" in checks["tls"].reason


def test_nothing_listening_fails_reach() -> None:
    checks = live(f"http://127.0.0.1:{free_port()}/")
    assert statuses(checks) == {"reach": "fail"}


# --- doctor (configuration where the app runs) --------------------------------------------------------


@pytest.fixture(scope="module")
def app_environment() -> Iterator[dict[str, str]]:
    config = DevConfig(port=free_port(), streamlit_port=free_port())
    with stand_in({"port": config.port, "streamlit_port": config.streamlit_port}):
        yield config.app_environment()


def local(env: dict[str, str], **options: Any) -> dict[str, Check]:
    options.setdefault("trusted_user_headers", dict)
    checks = check_configuration(cookie_name=COOKIE, fetcher=doctor_fetcher(), environ=env, **options)
    return {check.name: check for check in checks}


def test_the_stand_in_configuration_passes(app_environment) -> None:
    checks = local(app_environment)
    assert statuses(checks) == dict.fromkeys(
        ["alb-arn", "key-service", "jwks", "clock", "trusted-user-headers", "cookie-name"], "ok"
    ), checks
    assert "1 key(s)" in checks["jwks"].reason


@pytest.mark.parametrize(
    ("change", "name", "says"),
    [
        ({"ALB_AUTH_ALB_ARN": "arn:aws:elasticloadbalancing:nowhere"}, "alb-arn", "not an Application Load"),
        ({"ALB_AUTH_ALB_ARN": ""}, "alb-arn", "no ALB ARN"),
        ({"ALB_AUTH_KEY_URL": "http://127.0.0.1:{closed}/keys"}, "key-service", "does not answer"),
        ({"ALB_AUTH_JWKS_URL": "{stand_in}/no-such-jwks.json"}, "jwks", "HTTP 302"),
        ({"SESSION_COOKIE_NAME": "OtherCookie"}, "cookie-name", "logout would expire the wrong cookie"),
    ],
    ids=["bad-arn", "no-arn", "key-service-down", "jwks-missing", "cookie-name"],
)
def test_broken_configuration_fails_the_right_check(app_environment, change, name, says) -> None:
    stand_in_url = app_environment["ALB_AUTH_KEY_URL"].rsplit("/_alb_dev", 1)[0]
    env = {**app_environment}
    for key, value in change.items():
        env[key] = value.format(closed=free_port(), stand_in=stand_in_url)
    checks = local(env)
    assert [check.name for check in checks.values() if check.status == "fail"] == [name], checks
    assert says in checks[name].reason


def test_a_key_url_that_redirects_to_sign_in_fails_not_ok(app_environment) -> None:
    stand_in_url = app_environment["ALB_AUTH_KEY_URL"].rsplit("/_alb_dev", 1)[0]
    checks = local({**app_environment, "ALB_AUTH_KEY_URL": stand_in_url + "/an-app-page"})
    assert checks["key-service"].status == "fail", checks["key-service"]
    assert "redirects (HTTP 302 to " in checks["key-service"].reason
    assert "/oauth2/authorize)" in checks["key-service"].reason  # where it went: sign-in
    assert "ALB_AUTH_KEY_URL" in checks["key-service"].fix


def test_the_stand_in_key_service_answers_without_a_redirect(app_environment) -> None:
    assert local(app_environment)["key-service"].reason.endswith("answers (HTTP 404)")


def test_the_fixes_name_the_settings_that_enable_the_group_check(app_environment) -> None:
    no_groups = {
        k: v for k, v in app_environment.items() if k not in ("ALB_AUTH_USER_POOL_ID", "ALB_AUTH_JWKS_URL")
    }
    assert "ALB_AUTH_ISSUER" in no_groups  # set, and still no group check: it pins the data token's iss
    checks = local(no_groups)
    assert checks["jwks"].status == "warn", checks["jwks"]
    assert "users get no groups" in checks["jwks"].reason
    no_arn = local({**app_environment, "ALB_AUTH_ALB_ARN": ""})["alb-arn"]
    for fix in (checks["jwks"].fix, no_arn.fix):
        assert "ALB_AUTH_USER_POOL_ID" in fix and "ALB_AUTH_OIDC_ISSUER" in fix, fix
        assert "ALB_AUTH_ISSUER" not in fix, fix


def test_an_oidc_issuer_s_jwks_comes_from_its_discovery_document() -> None:
    config = DevConfig(port=free_port(), streamlit_port=free_port(), idp="oidc")
    with stand_in({"port": config.port, "streamlit_port": config.streamlit_port, "idp": "oidc"}):
        env = config.app_environment()
        checks = local(env)
        broken = local({**env, "ALB_AUTH_OIDC_ISSUER": env["ALB_AUTH_OIDC_ISSUER"] + "/nowhere"})
    assert checks["jwks"].status == "ok", checks["jwks"]
    assert "1 key(s)" in checks["jwks"].reason
    assert broken["jwks"].status == "fail", broken["jwks"]
    assert "names no jwks_uri" in broken["jwks"].reason


def test_a_skewed_clock_fails(app_environment) -> None:
    import time

    checks = local(app_environment, clock=lambda: time.time() + 90)
    assert checks["clock"].status == "fail"
    assert re.search(r"\+9[01] s off", checks["clock"].reason), checks["clock"]  # Date has 1 s steps


def test_trusted_user_headers_mapping_an_oidc_header_fails(app_environment) -> None:
    checks = local(
        app_environment, trusted_user_headers=lambda: {"X-Amzn-Oidc-Identity": "sub", "x-user": "u"}
    )
    assert checks["trusted-user-headers"].status == "fail"
    assert "X-Amzn-Oidc-Identity" in checks["trusted-user-headers"].reason


# --- the command -------------------------------------------------------------------------------------


def test_cli_exit_status_and_json(tmp_path) -> None:
    with stand_in() as url:
        good = doctor_cli("--url", url, "--json", cwd=tmp_path)
    with stand_in({"exempt_paths": frozenset()}) as url:
        bad = doctor_cli("--url", url, cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    report = json.loads(good.stdout)
    assert report["ok"] is True
    assert {check["name"] for check in report["checks"]} >= {"sign-in", "health", "logout"}
    assert bad.returncode == 1
    assert any(line.startswith("fail  health") for line in bad.stdout.splitlines()), bad.stdout
    assert "fix:" in bad.stdout


def test_cli_reads_streamlit_config_toml_for_trusted_user_headers(tmp_path, app_environment) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text(
        '[server]\ntrustedUserHeaders = { "x-amzn-oidc-data" = "token" }\n'
    )
    result = doctor_cli("--json", cwd=tmp_path, env=app_environment)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [check["name"] for check in json.loads(result.stdout)["checks"] if check["status"] == "fail"]
    assert failed == ["trusted-user-headers"]
