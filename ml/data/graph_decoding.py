"""Which image files TensorFlow's own PNG decoder may decode in a streamed pipeline, found without decoding them.

Decoding in the graph (``tf.io.decode_png``) runs in parallel without Python's GIL, where the safe reader
(:mod:`ml.preprocess.read`) holds it for about 0.2 ms a file. A file goes to the graph only when the graph gives
exactly the safe reader's pixels: a PNG (the signature, whatever the name) of the stream's size, 8-bit gray (or RGB for
colour), not interlaced, nothing that the safe reader would change (no transparency, no EXIF orientation, no
animation), every chunk whole with its checksum right, and a compressed image that inflates to exactly its rows with
valid row filters, so the graph decoder never fails. The file is opened as the safe reader opens it (non-blocking,
regular files only) and read whole here; TensorFlow gets its bytes, never the path. Every other file, and anything
unusual, goes to the safe reader, which decides: same pixels, same refusals, same skipped-file count.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_GRAPH_FILE_BYTES = 4 * 1024 * 1024
"""Bigger files go to the safe reader (a PNG of a stream's size is a few kilobytes)."""
_GRAY, _RGB = 0, 2  # PNG colour types
_PLAIN_CHUNKS = frozenset(
    (b"IHDR", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs", b"sBIT", b"tIME")
    + (b"tEXt", b"zTXt", b"iTXt")
)
"""Chunks after which both decoders give the stored pixels (tRNS, eXIf, acTL and the like make the safe reader
composite, rotate or pick a frame, so such files go to it)."""
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_EXIF_IN_TEXT = b"Raw profile type exif"  # Pillow reads EXIF (and so an orientation) from this text chunk too


def graph_channels(color_mode: str) -> int:
    """Channels the graph decodes to: 1 for grayscale, 3 for rgb."""
    return 3 if color_mode == "rgb" else 1


def read_graph_decodable(names: list[str], size: int, channels: int) -> tuple[list[bytes], list[bool]]:
    """Each file's bytes and whether the graph may decode it (``b""`` and False for the safe reader's files)."""
    contents, decodable = [], []
    for name in names:
        data = read_small_regular_file(name)
        usable = data is not None and png_decodes_exactly(data, size, channels)
        contents.append(data if usable else b"")
        decodable.append(usable)
    return contents, decodable


def read_small_regular_file(name: str) -> bytes | None:
    """The bytes of a regular file of at most ``MAX_GRAPH_FILE_BYTES``, opened without blocking; else None."""
    try:
        descriptor = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_GRAPH_FILE_BYTES:
            return None
        parts, left = [], status.st_size + 1  # one byte more: a file that grew since fstat is noticed
        while left > 0:
            part = os.read(descriptor, left)
            if not part:
                break
            parts.append(part)
            left -= len(part)
        data = b"".join(parts)
        return data if len(data) == status.st_size else None
    except OSError:
        return None
    finally:
        os.close(descriptor)


def png_decodes_exactly(data: bytes, size: int, channels: int) -> bool:
    """True when ``data`` is a PNG that ``tf.io.decode_png`` decodes, without error, to the safe reader's pixels."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return False
    width, height, depth, color, compression, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    allowed_colors = (_GRAY, _RGB) if channels == 3 else (_GRAY,)
    if (width, height, depth) != (size, size, 8) or color not in allowed_colors:
        return False
    if compression or filtering or interlace:
        return False
    compressed = _checked_image_data(data)
    if compressed is None:
        return False
    row_bytes = 1 + width * (3 if color == _RGB else 1)  # a filter byte, then the row's samples
    inflater = zlib.decompressobj()
    try:
        rows = inflater.decompress(compressed, height * row_bytes + 1)
    except zlib.error:
        return False
    if len(rows) != height * row_bytes or not inflater.eof or inflater.unused_data:
        return False
    return max(rows[::row_bytes]) <= 4  # filter types 0-4


def _checked_image_data(data: bytes) -> bytes | None:
    """The joined IDAT data when every chunk is whole, plain and checksummed right, and IEND ends the file."""
    position, parts, previous = 8, [], b""
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 12 + length
        kind = data[position + 4 : position + 8]
        if end > len(data) or kind not in _PLAIN_CHUNKS:
            return None
        body = data[position + 8 : end - 4]
        if zlib.crc32(data[position + 4 : end - 4]) != int.from_bytes(data[end - 4 : end], "big"):
            return None
        if kind == b"IEND":
            return b"".join(parts) if parts and end == len(data) else None
        if kind == b"IDAT" and parts and previous != b"IDAT":
            return None  # the IDAT chunks must follow one another
        if kind == b"IDAT":
            parts.append(body)
        elif kind in _TEXT_CHUNKS and _EXIF_IN_TEXT in body:
            return None
        previous = kind
        position = end
    return None
