"""The demo's home page, open to everyone signed in: what was verified, and Cognito's userInfo."""

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
    "Every value below was verified on the server: the ALB's ES256 signature on `x-amzn-oidc-data`, "
    "and the user pool's RS256 signature on the access token."
)

identity, access, info = st.columns(3)
with identity:
    st.subheader("Identity")
    st.caption("`x-amzn-oidc-data`, signed by the ALB")
    st.json(dict(user.claims))
with access:
    st.subheader("Access token")
    st.caption("`x-amzn-oidc-accesstoken`, signed by Cognito")
    if user.access_token_claims:
        st.json(dict(user.access_token_claims))
    else:
        st.info("Not verified (set `ALB_AUTH_USER_POOL_ID`), so no groups are trusted.")
with info:
    st.subheader("userInfo")
    st.caption("Cognito's `/oauth2/userInfo`, asked with the access token")
    userinfo_url = os.environ.get(USERINFO_URL_ENV)
    token = st.context.headers.get("x-amzn-oidc-accesstoken")
    if not userinfo_url:
        st.info(f"Set `{USERINFO_URL_ENV}` to `https://YOUR-COGNITO-DOMAIN/oauth2/userInfo`.")
    elif not (token and user.access_token_claims):
        # Only a token that verified is sent anywhere.
        st.info("No verified access token to ask with.")
    else:
        result = fetch_user_info(userinfo_url, token)
        if isinstance(result, str):
            st.error(result)
        else:
            st.json(result)
