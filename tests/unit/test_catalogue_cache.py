"""The lesson list's cache (tutor/lesson/listing.py): the second listing parses no lesson, a
changed lesson file is listed afresh, and a corrupt or tampered cache is rebuilt, never trusted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import tutor.lesson.listing as listing
import tutor.lesson.loading as loading


@pytest.fixture
def lessons(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped lessons and a cache of their own."""
    folder = tmp_path / "lessons"
    shutil.copytree(listing.lessons_dir(), folder)
    monkeypatch.setattr(listing, "lessons_dir", lambda: folder)  # lesson_paths() reads it
    monkeypatch.setenv("BACKPROP_TUTOR_CACHE", str(tmp_path / "cache"))
    return folder


def no_loading(monkeypatch) -> None:
    def refuse(path):
        raise AssertionError(f"parsed {path}: the cache was not used")

    monkeypatch.setattr(loading, "load", refuse)


def test_the_second_listing_comes_from_the_cache_and_equals_the_first(lessons, monkeypatch):
    first = listing.catalogue()
    assert (lessons.parent / "cache" / "catalogue.json").is_file()
    no_loading(monkeypatch)
    second = listing.catalogue()
    assert second == first
    assert [i.id for i in second][:2] == ["single-neuron", "linear-1d"]
    assert all(i.path.parent == lessons for i in second)


def test_a_changed_lesson_file_is_listed_afresh(lessons):
    listing.catalogue()
    path = lessons / "single-neuron.toml"
    text = path.read_text(encoding="utf-8")
    assert 'title = "' in text
    path.write_text(text.replace('title = "', 'title = "Renamed: ', 1), encoding="utf-8")
    stat = path.stat()
    os.utime(
        path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000)
    )  # a clock of coarse mtimes
    item = next(i for i in listing.catalogue() if i.id == "single-neuron")
    assert item.title.startswith("Renamed: ")


@pytest.mark.parametrize("damage", ["not json", '{"key": 1}', "tampered"])
def test_a_corrupt_or_tampered_cache_is_rebuilt(lessons, damage):
    first = listing.catalogue()
    cache = lessons.parent / "cache" / "catalogue.json"
    if damage == "tampered":  # the right key, a row naming a file outside the lessons
        data = json.loads(cache.read_text(encoding="utf-8"))
        data["items"][0]["path"] = "/etc/passwd"
        cache.write_text(json.dumps(data), encoding="utf-8")
    else:
        cache.write_text(damage, encoding="utf-8")
    assert listing.catalogue() == first
    assert json.loads(cache.read_text(encoding="utf-8"))["items"][0]["path"] == str(
        lessons / "single-neuron.toml"
    )


def test_an_unwritable_cache_still_lists(lessons, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("BACKPROP_TUTOR_CACHE", str(blocker / "cache"))  # a folder under a file
    assert [i.id for i in listing.catalogue()][0] == "single-neuron"


def test_a_lesson_added_to_the_paths_is_listed(lessons, tmp_path, monkeypatch):
    shipped = listing.lesson_paths()
    listing.catalogue()
    extra = tmp_path / "zz-broken.toml"
    extra.write_text('schema = 1\nid = "Bad"\n', encoding="utf-8")
    monkeypatch.setattr(listing, "lesson_paths", lambda: [*shipped, extra])
    items = listing.catalogue()
    assert items[-1].id == "zz-broken" and items[-1].error
