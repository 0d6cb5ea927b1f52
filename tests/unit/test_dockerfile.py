"""The Dockerfile keeps its promises (checked by reading it; no Docker daemon in the tests):
a pinned base image, a non-root user, exec-form commands so SIGTERM reaches furikaeri, a
build context that holds everything the wheel needs, and no secrets sent to the builder."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# python:3.11-slim-bookworm, python:3.11.9-slim, or any image pinned by digest.
PINNED = re.compile(
    r"^[\w./-]+:\d+\.\d+(\.\d+)?[\w.-]*(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$"
)


def instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, arguments))
    return result


def base_images() -> list[str]:
    args = dict(
        a.split("=", 1) for k, a in instructions() if k == "ARG" and "=" in a
    )  # ARG before the first FROM
    images = []
    for keyword, arguments in instructions():
        if keyword == "FROM":
            image = arguments.split()[0]
            images.append(re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], image))
    return images


def test_base_images_are_pinned() -> None:
    images = base_images()
    assert len(images) == 2  # build stage and runtime stage
    for image in images:
        assert PINNED.search(image), f"{image}: pin a version (python:3.11-slim-bookworm) or digest"
        assert ":latest" not in image


def test_the_runtime_stage_runs_as_a_non_root_user() -> None:
    final = stages()[-1]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    position = max(i for i, (keyword, _) in enumerate(final) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in final[position:]), "RUN after USER runs as it"
    created = " ".join(a for k, a in final if k == "RUN")
    assert f"useradd --create-home --uid 10001 {users[-1]}" in created


def test_the_process_is_started_in_exec_form_so_sigterm_reaches_it() -> None:
    final = dict(stages()[-1])
    entrypoint = json.loads(final["ENTRYPOINT"])  # a shell-form line is not JSON
    command = json.loads(final["CMD"])
    assert entrypoint + command == ["furikaeri", "run"]
    assert final.get("STOPSIGNAL", "SIGTERM") == "SIGTERM"
    health = final["HEALTHCHECK"]
    assert "/healthz" in health and "CMD [" in health


def test_the_build_context_holds_what_the_wheel_needs() -> None:
    build = stages()[0]
    copied = {
        source
        for keyword, arguments in build
        if keyword == "COPY" and "--from" not in arguments
        for source in arguments.split()[:-1]
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"], *wheel["packages"]}
    needed |= set(wheel["force-include"])
    assert needed <= copied, f"not copied into the build stage: {needed - copied}"


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".env", ".venv", "*.db*", ".git"):
        assert entry in ignored


def test_variables_set_in_the_image_are_settings() -> None:
    from bot.config import setting_names

    env = " ".join(a for k, a in stages()[-1] if k == "ENV")
    names = set(re.findall(r"(FURIKAERI_[A-Z0-9_]+)=", env))
    assert names and names <= set(setting_names())
