"""PNGs decoded in the graph only where TensorFlow gives the safe reader's pixels; all else to the safe reader."""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from ml.data import streaming
from ml.data.datasets import load_image_folder, read_folder_image
from ml.data.graph_decoding import png_decodes_exactly, read_graph_decodable, read_small_regular_file
from ml.data.streaming import open_image_folder

SIZE = 16


def digit_like(seed: int, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (SIZE, SIZE, channels), dtype=np.uint8)
    return pixels[..., 0] if channels == 1 else pixels


def png_bytes(picture: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", **options)
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade_png(rows: bytes, size: int = SIZE) -> bytes:
    """A gray 8-bit PNG whose compressed data is ``rows``, compressed as given, every checksum right."""
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def graph_pixels(data: bytes, channels: int) -> np.ndarray:
    import tensorflow as tf

    return (tf.cast(tf.io.decode_png(data, channels=channels), tf.float32) / 255.0).numpy()


@pytest.mark.parametrize(
    ("picture", "options", "color_mode"),
    [
        (Image.fromarray(digit_like(0)), {}, "grayscale"),
        (Image.fromarray(digit_like(1)), {"compress_level": 9, "dpi": (300, 300)}, "grayscale"),
        (Image.fromarray(digit_like(2)), {}, "rgb"),
        (Image.fromarray(digit_like(3, 3)), {}, "rgb"),
    ],
)
def test_a_plain_png_of_the_size_decodes_in_the_graph_to_the_safe_readers_pixels(
    tmp_path: Path, picture: Image.Image, options: dict, color_mode: str
) -> None:
    path = tmp_path / "digit.png"
    path.write_bytes(png_bytes(picture, **options))
    channels = 3 if color_mode == "rgb" else 1
    contents, decodable = read_graph_decodable([str(path)], SIZE, channels)
    assert decodable == [True]
    np.testing.assert_array_equal(graph_pixels(contents[0], channels), read_folder_image(path, SIZE, color_mode))


def test_gamma_and_text_chunks_leave_the_pixels_alone(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a scanner")
    info.add(b"gAMA", struct.pack(">I", 45455))
    path = tmp_path / "digit.png"
    path.write_bytes(png_bytes(Image.fromarray(digit_like(4)), pnginfo=info))
    contents, decodable = read_graph_decodable([str(path)], SIZE, 1)
    assert decodable == [True]
    np.testing.assert_array_equal(graph_pixels(contents[0], 1), read_folder_image(path, SIZE, "grayscale"))


def with_transparency() -> bytes:
    return png_bytes(Image.fromarray(digit_like(5)), transparency=0)


def with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the safe reader turns it upright
    return png_bytes(Image.fromarray(digit_like(6)), exif=exif)


def with_exif_in_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", "exif\n 10\n4578696600004d4d002a")
    return png_bytes(Image.fromarray(digit_like(7)), pnginfo=info)


def flipped_checksum() -> bytes:
    data = bytearray(png_bytes(Image.fromarray(digit_like(8))))
    data[40] ^= 0xFF  # inside IDAT: its CRC no longer matches
    return bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_bytes(Image.fromarray(digit_like(9)).resize((SIZE + 1, SIZE + 1))), id="another size"),
        pytest.param(png_bytes(Image.fromarray(digit_like(9).astype(np.uint16) * 200)), id="16-bit"),
        pytest.param(png_bytes(Image.fromarray(digit_like(9)).convert("P")), id="palette"),
        pytest.param(png_bytes(Image.fromarray(digit_like(9, 3))), id="RGB in a grayscale stream"),
        pytest.param(png_bytes(Image.fromarray(digit_like(9)).convert("LA")), id="gray with alpha"),
        pytest.param(with_transparency(), id="a transparent colour"),
        pytest.param(with_exif(), id="EXIF orientation"),
        pytest.param(with_exif_in_text(), id="EXIF in a text chunk"),
        pytest.param(flipped_checksum(), id="a wrong checksum"),
        pytest.param(png_bytes(Image.fromarray(digit_like(9)))[:-20], id="truncated"),
        pytest.param(png_bytes(Image.fromarray(digit_like(9))) + b"more", id="bytes after IEND"),
        pytest.param(handmade_png(zlib.compress(b"\x00" * 10)), id="too few rows"),
        pytest.param(handmade_png(zlib.compress(bytes([7] + [0] * SIZE) * SIZE)), id="a bad row filter"),
        pytest.param(handmade_png(b"not zlib at all, checksums right"), id="broken compressed data"),
        pytest.param(b"GIF89a" + b"\x00" * 64, id="a GIF"),
        pytest.param(b"", id="empty"),
    ],
)
def test_anything_else_goes_to_the_safe_reader(data: bytes) -> None:
    assert not png_decodes_exactly(data, SIZE, 1)


def test_a_handmade_png_with_valid_rows_is_for_the_graph() -> None:
    assert png_decodes_exactly(handmade_png(zlib.compress(bytes([0] + [9] * SIZE) * SIZE)), SIZE, 1)


def test_a_named_pipe_is_not_read_and_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)
    result = []
    reader = threading.Thread(target=lambda: result.append(read_small_regular_file(str(fifo))), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive() and result == [None]
    assert read_small_regular_file(str(tmp_path)) is None
    assert read_small_regular_file(str(tmp_path / "missing.png")) is None


def write_mixed_folder(root: Path) -> Path:
    """Two classes: PNGs of the stream's size (graph), JPEGs, other sizes, a palette PNG (safe reader), bad files."""
    for label, name in enumerate(("ink", "paper")):
        folder = root / name
        folder.mkdir(parents=True)
        for number in range(10):
            picture = Image.fromarray(digit_like(10 * label + number))
            if number == 7:
                picture.save(folder / f"{number}.jpg", quality=90)
            elif number == 8:
                picture.resize((SIZE * 2, SIZE * 2)).save(folder / f"{number}.png")
            elif number == 9:
                picture.convert("P").save(folder / f"{number}.png")
            else:
                picture.save(folder / f"{number}.png")
        (folder / "broken.png").write_bytes(handmade_png(b"checksums right, data wrong"))
        (folder / "text.png").write_text("not an image")
    return root


def test_a_mixed_folder_streams_the_in_memory_images_and_counts_the_bad_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_mixed_folder(tmp_path / "mixed")
    for name in ("ink", "paper"):
        for bad in ("broken.png", "text.png"):
            (folder / name / bad).rename(tmp_path / f"{name}-{bad}")  # the in-memory loader refuses bad files
    in_memory = load_image_folder(folder, image_size=SIZE, validation_size=0)
    for name in ("ink", "paper"):
        for bad in ("broken.png", "text.png"):
            (tmp_path / f"{name}-{bad}").rename(folder / name / bad)
    safe_reads = []
    safe_reader = streaming.read_folder_image
    monkeypatch.setattr(
        streaming, "read_folder_image", lambda path, *args: safe_reads.append(path.name) or safe_reader(path, *args)
    )
    streamed = open_image_folder(folder, image_size=SIZE, validation_size=0)
    images, labels = [], []
    for split in ("train", "test"):
        for x, y in streamed.pipeline(split, batch_size=4).as_numpy_iterator():
            images.append(x)
            labels.append(y)
    images, labels = np.concatenate(images), np.concatenate(labels)
    expected = np.concatenate([in_memory.x_train, in_memory.x_test])
    assert len(images) == len(expected) == 20
    order = lambda x: np.lexsort(x.reshape(len(x), -1).T)  # noqa: E731 - the splits differ with the bad files
    np.testing.assert_array_equal(images[order(images)], expected[order(expected)])
    assert sorted(labels.tolist()) == [0] * 10 + [1] * 10
    assert streamed.skipped.count == 4
    assert sorted(set(safe_reads)) == ["7.jpg", "8.png", "9.png", "broken.png", "text.png"]
