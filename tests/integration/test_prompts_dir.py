"""FURIKAERI_PROMPTS_DIR: a deployment's own prompts files replace the shipped ones of the
same name (safety contacts and phrases, topics, question sets, schedule), and are checked
at start like the shipped ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.i18n import translator
from bot.paths import data_dir
from bot.prompts import PromptError, load_prompts
from tests.harness import Harness

CAMPUS = {
    "id": "campus_counseling",
    "local": True,
    "name": {"en": "Student Counseling Center", "ja": "学生相談室"},
    "phone": "06-1234-5678",
    "hours": {"en": "Weekdays 9:00-17:00", "ja": "平日 9:00〜17:00"},
    "source": "https://www.example-u.ac.jp/counseling/",
}


def shipped(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((data_dir("prompts") / name).read_text("utf-8"))
    return data


def write(folder: Path, name: str, data: dict[str, Any]) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def local_safety(folder: Path, **extra: Any) -> Path:
    data = shipped("safety.yaml")
    data["contacts"].insert(0, {**CAMPUS, **extra})
    return write(folder, "safety.yaml", data)


def test_a_file_in_the_folder_replaces_the_shipped_one_of_the_same_name(tmp_path: Path) -> None:
    topics = shipped("topics.yaml")
    topics["topics"] = topics["topics"][:3]
    write(tmp_path, "topics.yaml", topics)
    local_safety(tmp_path)
    book = load_prompts(overrides=tmp_path)
    assert [t.id for t in book.topics] == [t["id"] for t in topics["topics"]]
    assert book.safety.has_local_contact and book.safety.contacts[0].id == "campus_counseling"
    assert book.sets == load_prompts().sets  # what the folder lacks comes from prompts/
    assert not load_prompts().safety.has_local_contact


def test_a_local_contact_is_shown_as_written_or_per_language(tmp_path: Path) -> None:
    local_safety(tmp_path)
    contact = load_prompts(overrides=tmp_path).safety.contacts[0]
    assert contact.text("name", translator("ja")) == "学生相談室"
    assert contact.text("name", translator("vi")) == "Student Counseling Center"  # en for the rest


@pytest.mark.parametrize(
    ("file", "change", "field", "problem"),
    [
        ("safety.yaml", lambda d: d["contacts"][0].pop("phone"), "contacts.0.phone", "required"),
        (
            "safety.yaml",
            lambda d: d["contacts"][0].update(local=False, name="Campus Center", hours="24 hours"),
            "contacts.0.name",
            "mark the contact `local: true`",
        ),
        (
            "reflection.yaml",
            lambda d: d["steps"][1]["pool"][0].update(text="What did you learn today?"),
            "steps.1.pool.0.text",
            "no translation in the catalogs",
        ),
        ("schedule.yaml", lambda d: d.update(expire_after="P0D"), "expire_after", "longer than"),
        ("topics.yaml", lambda d: d.update(topics=[]), "topics", "at least 1 item"),
    ],
)
def test_a_broken_file_in_the_folder_is_refused_naming_it(
    tmp_path: Path, file: str, change: Any, field: str, problem: str
) -> None:
    data = shipped(file)
    if file == "safety.yaml":
        data["contacts"].insert(0, dict(CAMPUS))
    change(data)
    path = write(tmp_path, file, data)
    with pytest.raises(PromptError) as caught:
        load_prompts(overrides=tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path.as_posix()}: {field}: "), message
    assert problem in message


async def test_the_engine_shows_the_deployments_contact_first(
    sqlite_url: str, tmp_path: Path
) -> None:
    local_safety(tmp_path / "prompts")
    harness = await Harness.create(sqlite_url, prompts_dir=tmp_path / "prompts")
    try:
        counselor = await harness.counselor()
        await harness.student(counselor, "s1", locale="ja")
        [help_, *_] = await harness.say("s1", "もう死にたい")
        lines = help_.text.splitlines()
        assert lines[1] == "• 学生相談室：06-1234-5678（平日 9:00〜17:00）"  # first, in Japanese
        assert any("：119（" in line for line in lines[2:])  # the shipped ones follow
    finally:
        await harness.close()
