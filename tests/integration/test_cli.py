"""The admin's command line: every command works with --json and refuses what it must."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


@pytest.fixture
def cli(database_url: str):  # type: ignore[no-untyped-def]
    def invoke(*args: str, ok: bool = True) -> object:
        result = runner.invoke(
            app,
            list(args),
            env={"FURIKAERI_DATABASE_URL": database_url, "FURIKAERI_DEFAULT_LOCALE": "en"},
        )
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def as_json(result: object) -> object:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_every_command_has_help() -> None:
    for command in (
        ["--help"],
        ["db", "upgrade", "--help"],
        ["counselor", "add", "--help"],
        ["invite", "--help"],
        ["students", "--help"],
        ["session", "--help"],
        ["digest", "--help"],
        ["run", "--help"],
        ["demo", "--help"],
        ["outbox", "--help"],
        ["inbox", "--help"],
        ["inbox", "retry", "--help"],
        ["export", "--help"],
        ["forget", "--help"],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)


def test_admin_flow_from_counselor_to_digest(cli) -> None:  # type: ignore[no-untyped-def]
    cli("db", "upgrade")
    added = as_json(cli("counselor", "add", "Sato", "--locale", "en", "--json"))
    assert added["id"] == 1 and len(added["link_code"]) == 11  # "K7QMZ-3XHPW"
    invite = as_json(cli("invite", "--counselor", "1", "--name", "Linh", "--json"))
    assert len(invite["invite_code"]) == 11
    assert as_json(cli("students", "--counselor", "1", "--json")) == []
    digest = as_json(cli("digest", "--counselor", "1", "--format", "json"))
    assert digest["students"] == []
    csv_out = cli("digest", "--counselor", "1", "--format", "csv", "--since", "7d")
    assert csv_out.stdout.startswith("\ufeffstudent_id,")
    status = as_json(cli("outbox", "--json"))
    assert "counts" in status


def test_invite_json_carries_the_telegram_link_when_the_bot_has_a_username(
    database_url: str,
) -> None:
    env = {"FURIKAERI_DATABASE_URL": database_url, "FURIKAERI_DEFAULT_LOCALE": "en"}
    assert runner.invoke(app, ["counselor", "add", "Sato"], env=env).exit_code == 0
    plain = as_json(runner.invoke(app, ["invite", "--counselor", "1", "--json"], env=env))
    assert plain["link"] is None
    env["FURIKAERI_TELEGRAM_BOT_USERNAME"] = "furikaeri_bot"
    result = runner.invoke(app, ["invite", "--counselor", "1", "--json"], env=env)
    assert result.exit_code == 0, result.output
    invite = as_json(result)
    assert invite["link"] == f"https://t.me/furikaeri_bot?start={invite['invite_code']}"
    text = runner.invoke(app, ["invite", "--counselor", "1"], env=env).stdout
    assert "https://t.me/furikaeri_bot?start=" in text


def test_a_counselor_cannot_reach_another_counselors_student(cli) -> None:  # type: ignore[no-untyped-def]
    cli("counselor", "add", "Sato", "--locale", "en")
    cli("counselor", "add", "Tanaka", "--locale", "en")
    result = cli("session", "1", "--counselor", "2", "--topics", "visa", ok=False)
    assert result.exit_code == 1
    result = cli("session", "1", "--counselor", "9", ok=False)
    assert result.exit_code == 1


def test_unknown_topic_and_bad_format_are_refused(cli) -> None:  # type: ignore[no-untyped-def]
    cli("counselor", "add", "Sato", "--locale", "en")
    assert cli("digest", "--counselor", "1", "--format", "xml", ok=False).exit_code == 2
    assert cli("digest", "--counselor", "1", "--since", "soon", ok=False).exit_code == 2
    assert cli("counselor", "add", "X", "--locale", "fr", ok=False).exit_code == 2


def test_run_without_channels_exits_2_naming_the_variables(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("run", ok=False)
    assert result.exit_code == 2
    assert "FURIKAERI_TELEGRAM_TOKEN" in result.output and "furikaeri demo" in result.output


def test_counselor_list_relink_and_remove(cli) -> None:  # type: ignore[no-untyped-def]
    first = as_json(cli("counselor", "add", "Sato", "--locale", "ja", "--json"))
    cli("counselor", "add", "Tanaka", "--locale", "en")
    table = cli("counselor", "list").stdout.splitlines()
    assert table[0].split() == ["id", "name", "language", "linked", "students", "status"]
    assert table[1].split()[:3] == ["1", "Sato", "ja"] and "not linked" in table[1]
    relinked = as_json(cli("counselor", "relink", "1", "--json"))
    assert relinked["link_code"] != first["link_code"] and len(relinked["link_code"]) == 11

    assert cli("counselor", "remove", "1", ok=False).exit_code == 2  # keep or hand over?
    flags = ("--keep-students", "--hand-over-to", "2")
    assert cli("counselor", "remove", "1", *flags, ok=False).exit_code == 2
    assert cli("counselor", "remove", "1", "--hand-over-to", "1", ok=False).exit_code == 1
    removed = as_json(cli("counselor", "remove", "1", "--hand-over-to", "2", "--json"))
    assert removed["to"] == 2
    listed = as_json(cli("counselor", "list", "--json"))
    assert [c["removed_at"] is not None for c in listed] == [True, False]
    assert cli("invite", "--counselor", "1", ok=False).exit_code == 1  # removed: no invites
    assert cli("counselor", "relink", "1", ok=False).exit_code == 1


def test_students_prints_a_table_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    cli("counselor", "add", "Sato", "--locale", "en")
    assert cli("students", "--counselor", "1").stdout.strip() == "no students yet"
    assert as_json(cli("students", "--counselor", "1", "--json")) == []
