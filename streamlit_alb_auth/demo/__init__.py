"""The demo app shipped in the package: what ``streamlit-alb-auth dev`` runs when given no script."""

from __future__ import annotations

from pathlib import Path

DEMO_APP = Path(__file__).with_name("app.py")
