"""Pins of the logout Lambda (issue 14): the region syntax, the access-token size limit, sign-out's result.

The Lambda is loaded from its file as the runtime does (the helpers of test_logout_lambda/revoke).
"""

from __future__ import annotations

import logging

import pytest
from test_logout_lambda import assert_refused, configured_handler, multi_value_event
from test_logout_revoke import idp, signed_in  # noqa: F401 - idp is a fixture

ACCESS_TOKEN_LIMIT = 16 * 1024  # tokens this long or longer are never sent anywhere


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch):
    return configured_handler(monkeypatch)


@pytest.mark.parametrize(
    "region", ["EU-west-1", "e1-west-1", "e.-west-1", "eu-west-100", "eu--1", "eu-west-"]
)
def test_a_region_that_is_not_a_region_name_is_a_logged_500(configured, monkeypatch, caplog, region):
    monkeypatch.setenv("AWS_REGION", region)
    with caplog.at_level(logging.ERROR):
        response = configured(multi_value_event(), None)
    assert_refused(response, caplog, "AWS_REGION")


@pytest.mark.parametrize(("length", "revoked"), [(ACCESS_TOKEN_LIMIT - 1, True), (ACCESS_TOKEN_LIMIT, False)])
def test_an_access_token_under_16_kib_is_revoked_and_a_longer_one_is_not(configured, idp, length, revoked):  # noqa: F811
    token = "a" * (length - 4) + ".b.c"
    assert len(token) == length
    response = configured(signed_in(token=token), None)
    assert response["statusCode"] == 302
    assert len(idp.calls) == (1 if revoked else 0)


def test_global_sign_out_says_whether_it_worked(configured, idp):  # noqa: F811
    global_sign_out = configured.__globals__["global_sign_out"]  # the module the handler runs in
    assert global_sign_out(idp.url, "a.b.c") is True
    idp.mode = "fail"
    assert global_sign_out(idp.url, "a.b.c") is False
