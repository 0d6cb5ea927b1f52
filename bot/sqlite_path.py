"""Whether SQLite can create or open a database file: a bad path is a bad setting."""

from __future__ import annotations

import os
from pathlib import Path


def sqlite_path_problem(database: str) -> str | None:
    """Why SQLite could not create or open the file at `database`, or None if it can.

    Checked while the settings load (bot/config.py), before any connection: aiosqlite
    reports a failed open from its worker thread after the command has ended.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).expanduser().resolve()
    folder = path.parent
    where = f"cannot open the SQLite file {path}"
    if not folder.is_dir():
        return f"{where}: the folder {folder} does not exist; create it or use another path"
    if path.is_dir():
        return f"{where}: it is a folder; name a file inside it"
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{where}: not writable by this user; fix the permissions of {folder}"
    return None
