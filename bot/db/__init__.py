"""Persistence: SQLAlchemy 2 models, the unit of work and repositories (all SQL lives here)."""
