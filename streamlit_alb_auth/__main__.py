"""``python -m streamlit_alb_auth ...`` is the ``streamlit-alb-auth`` command."""

from streamlit_alb_auth.cli import main

raise SystemExit(main())
