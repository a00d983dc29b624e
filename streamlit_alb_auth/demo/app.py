"""Demo: the verified ALB identity, the access token's groups, Cognito's userInfo, and a real logout.

Run it behind the local ALB stand-in (no AWS needed)::

    pip install "streamlit-alb-auth[dev]"
    streamlit-alb-auth dev

(``dev`` with no script runs ``./demo_app.py`` if the current folder has one, else this file.)
Behind a real ALB, set ``ALB_AUTH_ALB_ARN`` (and the other ``ALB_AUTH_*`` settings) and
``COGNITO_USERINFO_URL=https://YOUR-COGNITO-DOMAIN/oauth2/userInfo``.
"""

from __future__ import annotations

import os
from typing import Any

import requests
import streamlit as st

from streamlit_alb_auth import get_alb_user, logout_button

USERINFO_URL_ENV = "COGNITO_USERINFO_URL"

st.set_page_config(page_title="streamlit-alb-auth demo", page_icon=":material/lock:", layout="wide")

user = get_alb_user(required=False)

if not user.is_logged_in:
    st.title("streamlit-alb-auth demo")
    st.warning(user.problem or "Nobody is signed in.", icon=":material/lock:")
    st.markdown(
        "This page shows the identity an AWS Application Load Balancer vouches for, so it only "
        "makes sense behind one. To try it without AWS, start it behind the local ALB stand-in:"
    )
    st.code('pip install "streamlit-alb-auth[dev]"\nstreamlit-alb-auth dev', language="bash")
    st.stop()


def fetch_user_info(url: str, access_token: str) -> dict[str, Any] | str:
    """Cognito's userInfo for this token, or why it could not be had (shown instead of the JSON)."""
    try:
        answer = requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=5)
    except requests.RequestException as exc:
        return f"userInfo request failed: {type(exc).__name__}"
    if answer.status_code != 200:
        return f"userInfo answered {answer.status_code}"
    return answer.json()


with st.sidebar:
    st.caption("Signed in as")
    st.badge(user.email or user.sub or "", icon=":material/person:")
    st.caption("Groups: " + (", ".join(user.groups) or "none"))
    logout_button()

st.title(f"Hello, {user.username or user.email}")
st.caption(
    "Every value below was verified on the server: the ALB's ES256 signature on `x-amzn-oidc-data`, "
    "and the user pool's RS256 signature on the access token."
)

if "admin" in user.groups:
    st.subheader("Admin area")
    st.success(
        "Only members of the `admin` group see this section: the group comes from the verified "
        "access token's `cognito:groups`, never from anything the browser can set.",
        icon=":material/shield_person:",
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

st.divider()
st.caption("Sign-in, verified identity and logout by streamlit-alb-auth.")
