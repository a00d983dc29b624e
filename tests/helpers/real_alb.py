"""Where the real ALB and Cognito fixtures live (tests/fixtures/real-alb/, origins in SOURCES.json)."""

from __future__ import annotations

from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real-alb"
