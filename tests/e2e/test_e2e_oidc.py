"""The demo behind ``streamlit-alb-auth dev --idp oidc`` in a real browser: the non-Cognito path end to end.

The app is configured by the stand-in with ``oidc_issuer`` (discovery, then the JWKS) and
``groups_claim = groups``; the admin's group reaches the page only through that verification.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import DevServer
from playwright.sync_api import expect
from test_e2e_demo import FOOTER, menu, open_admin_page, refused_at_admin_url, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def oidc_server(start_dev_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with start_dev_server(tmp_path_factory.mktemp("dev-oidc"), "--idp", "oidc") as server:
        yield server


def test_the_admin_group_from_a_generic_oidc_token_opens_the_admin_page(oidc_server, context):
    page = context.new_page()
    sign_in(page, oidc_server.base_url, "admin@example.com")
    assert menu(page) == ["Home", "Admin"]
    # The access token column shows the verified generic token: groups in "groups", issued to our client.
    access = page.get_by_test_id("stJson").nth(1)
    expect(access).to_contain_text('"groups"')
    expect(access).not_to_contain_text("cognito:groups")
    open_admin_page(page, oidc_server.base_url)


def test_another_user_is_refused_at_the_admin_url(oidc_server, context):
    refused_at_admin_url(context.new_page(), oidc_server.base_url)


def test_logout_ends_the_session_at_the_providers_end_session_endpoint(oidc_server, context):
    page = context.new_page()
    sign_in(page, oidc_server.base_url, "user@example.com")
    with page.expect_request(re.compile(r"/_alb_dev/oidc/logout\?")) as end_session:
        page.get_by_role("button", name="Log out").click()
    assert "post_logout_redirect_uri=" in end_session.value.url
    expect(page).to_have_url(re.compile(r"/signed-out$"))
    page.goto(oidc_server.base_url + "/")
    expect(page).to_have_title(re.compile("Sign in"))  # the provider asks again: its sign-in ended
    expect(page.get_by_text(FOOTER)).to_have_count(0)
