"""Benchmarks for streamlit-alb-auth; run ``python -m bench``."""
