"""Fixtures of the logout Lambda's tests: a fresh handler, one configured for Cognito, and a local Cognito."""

from helpers.logout_lambda import configured, handler, idp  # noqa: F401 - fixtures for every test here
