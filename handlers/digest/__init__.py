"""The counselor's digest: built as data (build.py), rendered for chat and files (render.py)."""
