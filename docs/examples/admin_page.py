"""The page under test in docs/testing-your-app.md: admins see the tools, everyone else is refused."""

import streamlit as st

from streamlit_alb_auth import get_alb_user, logout_button, require_groups

user = get_alb_user()  # settings from ALB_AUTH_* or secrets, as in production
st.title("Admin")
with st.sidebar:
    if logout_button():
        st.write("Signing you out...")
require_groups("admin")
st.markdown(f"Welcome, {user.email}: here are the admin tools.")
