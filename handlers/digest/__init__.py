"""The counselor's digest: built as data (build.py), rendered as text, CSV or JSON (render.py)."""
