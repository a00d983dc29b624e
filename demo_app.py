"""The demo: ``streamlit-alb-auth dev`` (behind the local ALB stand-in) or ``streamlit run demo_app.py``.

Its pages live in the package (``streamlit_alb_auth/demo/``), the one copy that ``pip install`` also ships;
this file only runs them. With no ALB in front, the page says what is missing and the command to run.
"""

import runpy

from streamlit_alb_auth.demo import DEMO_APP

runpy.run_path(str(DEMO_APP), run_name="__main__")
