"""Profiles load from data files with clear errors; geometry follows the documented table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playground.core.geometry import GeometryError, nearest_ratio, output_size, size_for_media
from playground.core.profile import ProfileError, builtin_profiles, load_profile


def test_builtin_profiles() -> None:
    """Both shipped profiles load; guide-page is the stricter one."""
    assert {"wan-2.7", "guide-page"} <= set(builtin_profiles())
    wan, guide = load_profile("wan-2.7"), load_profile("guide-page")
    assert wan.resolutions == ("720P", "1080P") and guide.resolutions == ("720P",)
    assert guide.mode("text-to-video").duration.values() == [6, 10]
    assert wan.mode("video-edit").duration.values()[0] == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"extends": "nope"}', "no built-in profile"),
        ('{"extends": "wan-2.7", "resolutions": []}', "resolutions"),
        ('{"extends": "wan-2.7", "default_resolution": "4K"}', "default_resolution"),
    ],
)
def test_bad_profile_files_say_why(tmp_path: Path, content: str, words: str) -> None:
    """A broken profile file is reported in one line that names the problem."""
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ProfileError, match=words):
        load_profile(str(path))


def test_missing_profile() -> None:
    with pytest.raises(ProfileError, match=r"wan-2\.7"):
        load_profile("no-such-profile")


def test_self_extending_profile(tmp_path: Path) -> None:
    path = tmp_path / "loop.json"
    path.write_text(json.dumps({"extends": str(path)}))
    with pytest.raises(ProfileError, match="extends itself"):
        load_profile(str(path))


@pytest.mark.parametrize(
    ("resolution", "ratio", "size"),
    [
        ("720P", "16:9", (1280, 720)),
        ("720P", "9:16", (720, 1280)),
        ("720P", "1:1", (960, 960)),
        ("720P", "4:3", (1104, 832)),
        ("720P", "3:4", (832, 1104)),
        ("1080P", "16:9", (1920, 1080)),
        ("1080P", "9:16", (1080, 1920)),
        ("1080P", "1:1", (1440, 1440)),
        ("1080P", "4:3", (1648, 1248)),
        ("1080P", "3:4", (1248, 1648)),
    ],
)
def test_documented_sizes(resolution: str, ratio: str, size: tuple[int, int]) -> None:
    """Every resolution x ratio gives the documented pixel size."""
    assert output_size(resolution, ratio) == size


def test_media_aspect_picks_nearest_ratio() -> None:
    """Image-to-video takes the documented size nearest the first frame's aspect."""
    assert nearest_ratio(1000, 1000) == "1:1"
    assert nearest_ratio(1920, 1200) == "16:9"
    assert nearest_ratio(600, 800) == "3:4"
    assert size_for_media("720P", 300, 1000) == (720, 1280)
    with pytest.raises(GeometryError):
        output_size("4K", "16:9")
    with pytest.raises(GeometryError):
        nearest_ratio(0, 10)
