"""Decompression bombs: an image small on disk that claims a huge picture is refused from its
header, before a single pixel is decoded.

A PNG of a few KB can say 13000x13000; decoding it takes ~170 MB and a second or more of the
thread that probes it. The proof that nothing was decoded is the code path, not a stopwatch:
Pillow's decoding entry points are replaced by ones that fail the test if they are called.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from playground.client.attach import check_files
from playground.client.files import LocalFile
from playground.core.profile import load_profile
from playground.media.probe import MAX_IMAGE_PIXELS, MediaError, probe
from playground.media.samples import make_image

SIDE = 13000
# Pillow's open() warns about such a header before the probe refuses it; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, width: int = SIDE, height: int = SIDE) -> Path:
    """A valid, all-black 1-bit PNG of width x height, written row by row (a few KB on disk,
    and never held whole in memory here)."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none", then the packed pixels
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))
    return path


class Decoded(AssertionError):
    """Raised by the stand-in decoders: the probe reached the pixels."""


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every way Pillow decodes pixels fails the test (ImageFile.load is what PNG and JPEG use)."""
    def refuse(self: Image.Image) -> None:
        raise Decoded(f"{self.size} was decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    yield


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = bomb_png(tmp_path_factory.mktemp("bomb") / "kite.png")
    assert path.stat().st_size < 100 * 1024  # small on disk: the byte limit does not catch it
    with Image.open(path) as image:
        assert image.size == (SIDE, SIDE) and image.format == "PNG"
    return path


def test_the_stand_in_decoders_do_catch_decoding(tmp_path: Path, no_decoding: None) -> None:
    """The control: an ordinary image does reach the pixels, so the fixture would notice."""
    small = bomb_png(tmp_path / "small.png", 320, 240)
    with pytest.raises(Decoded):
        probe(small)


def test_a_bomb_over_the_profiles_sides_is_refused_unread(bomb: Path, no_decoding: None) -> None:
    with pytest.raises(MediaError) as caught:
        probe(bomb, max_side=8000)
    message = str(caught.value)
    assert message.startswith(f"kite.png is {SIDE}x{SIDE}, over the limit of 8000 px a side")
    assert "it was not decoded" in message


def test_a_bomb_is_refused_unread_even_without_a_profile(
    bomb: Path, no_decoding: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Callers that probe without a limit (the UI's attach, the sandbox) get the pixel cap; it is
    the playground's own, so code that switched Pillow's guard off does not switch it off."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(MediaError, match=r"169 megapixels\), over the 67\.1 megapixels limit") as caught:
        probe(bomb)
    assert SIDE * SIDE > MAX_IMAGE_PIXELS and "it was not decoded" in str(caught.value)


def test_a_local_file_bomb_is_refused_before_upload_without_decoding(bomb: Path, no_decoding: None) -> None:
    """The client's path: a request naming the file is checked against first_frame's limits."""
    profile = load_profile()
    limit = profile.media["first_frame"]
    lines = check_files([LocalFile(bomb, "first_frame", "https://local-file.invalid/0/kite.png", str(bomb))],
                        profile)
    assert lines == [f"{bomb}: kite.png is {SIDE}x{SIDE}, over the limit of {limit.max_side} px a side; scale it "
                     f"down so its longer side is at most {limit.max_side} px (it was not decoded)"]


def test_an_image_within_the_limits_is_still_decoded_and_measured(tmp_path: Path) -> None:
    picture = make_image(tmp_path / "frame.png", 640, 360, seed=2)
    info = probe(picture, max_side=8000)
    assert (info.kind, info.width, info.height) == ("image", 640, 360)
