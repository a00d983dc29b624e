"""The demo's home page, open to everyone signed in: what was verified, and the IdP's userinfo."""

from __future__ import annotations

import os
from typing import Any

import requests
import streamlit as st

from streamlit_alb_auth import get_alb_user

USERINFO_URL_ENV = "COGNITO_USERINFO_URL"


def fetch_user_info(url: str, access_token: str) -> dict[str, Any] | str:
    """Cognito's userInfo for this token, or why it could not be had (shown instead of the JSON)."""
    try:
        answer = requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
    except requests.RequestException as exc:
        return f"userInfo request failed: {type(exc).__name__}"
    if answer.status_code != 200:
        return f"userInfo answered {answer.status_code}"
    return answer.json()


user = get_alb_user()

st.title(f"Hello, {user.username or user.email}")
st.caption(
    f"Signed in with {user.idp or 'an identity provider'}. Every value below was verified on the server: "
    "the ALB's ES256 signature on `x-amzn-oidc-data`, and the identity provider's signature on the "
    "access token (or its userinfo answer)."
)

identity, access, info = st.columns(3)
with identity:
    st.subheader("Identity")
    st.caption("`x-amzn-oidc-data`, signed by the ALB")
    st.json(dict(user.claims))
with access:
    st.subheader("Access token")
    st.caption("`x-amzn-oidc-accesstoken`, signed by the identity provider")
    if user.access_token_claims:
        st.json(dict(user.access_token_claims))
    elif user.userinfo:
        st.info("Checked through userinfo instead (next column).")
    else:
        st.info(
            "Not verified (set `ALB_AUTH_USER_POOL_ID` or `ALB_AUTH_OIDC_ISSUER`), so no groups are trusted."
        )
with info:
    st.subheader("userInfo")
    st.caption("The identity provider's userinfo endpoint, asked with the access token")
    userinfo_url = os.environ.get(USERINFO_URL_ENV)
    token = st.context.headers.get("x-amzn-oidc-accesstoken")
    if user.userinfo:  # the package asked it (ALB_AUTH_USERINFO=1), and checked its sub
        st.json(dict(user.userinfo))
    elif not userinfo_url:
        st.info(
            f"Set `ALB_AUTH_USERINFO=1`, or for Cognito `{USERINFO_URL_ENV}` to "
            "`https://YOUR-COGNITO-DOMAIN/oauth2/userInfo`."
        )
    elif not (token and user.access_token_claims):
        # Only a token that verified is sent anywhere.
        st.info("No verified access token to ask with.")
    else:
        result = fetch_user_info(userinfo_url, token)
        if isinstance(result, str):
            st.error(result)
        else:
            st.json(result)
