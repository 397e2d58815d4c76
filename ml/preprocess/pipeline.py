"""Any image to MNIST's 28x28, with every stage kept for the window to show."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from ml.preprocess.boxes import remove_boxes
from ml.preprocess.components import MIN_GLYPH_FRACTION, remove_specks
from ml.preprocess.geometry import MNIST_GLYPH_SIZE, MNIST_SIZE
from ml.preprocess.glyph import center_by_mass, normalize_stroke_width, resize_glyph, scaled_to_glyph_size, unit_max
from ml.preprocess.gray import limit_size, to_gray
from ml.preprocess.marks import remove_marks
from ml.preprocess.paper import (
    LOCAL_MIN_INK_CONTRAST,
    LOCAL_MIN_SIDE,
    MIN_INK_CONTRAST,
    _border_ring,
    box_blur,
    detect_polarity,
    estimate_background,
    estimate_local_background,
    frame_cuts_ink,
    paper_noise,
    pixel_noise,
    suppress_background,
)
from ml.preprocess.read import read_image
from ml.preprocess.ruling import remove_ruled_lines
from ml.preprocess.shadow import relit_shadow
from ml.preprocess.sheet import find_sheet, isolate_sheet

WORKING_MAX_SIDE = 1024
"""Larger inputs are box-downscaled to this longer side first, for speed."""
POLARITIES = ("auto", "dark_on_light", "light_on_dark")
_NOISY = 0.01
_BIASED_PAPER = 4.0
"""The paper's side spreading this many times its pixel noise (and over the floor below): a biased paper surface."""
_BIASED_PAPER_FLOOR = 0.05
RULED_PAPER_ONLY = "only the paper's ruled lines, no writing"
"""The reason given for ruled or squared paper with nothing written on it."""
SMALL_MARKS_ONLY = (
    "only specks, shading or marks too small to read; a digit must span at least "
    f"{MIN_GLYPH_FRACTION * 100:g} % of the image, so crop closer to it"
)
"""The reason given when no piece of ink is digit-sized: grain and shading, but also clear writing photographed from
afar, or a page of small print (so it never says there is no ink)."""
_FAINT_FIND = 0.5
"""Ink found nowhere over this share of its own level was outshone by shading: it is read again on local paper."""


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline, as a 2-D float32 image in [0, 1], white ink on black."""

    name: str
    image: np.ndarray


@dataclass(frozen=True)
class PreprocessResult:
    """The MNIST-style image (None when blank) and every stage that led to it."""

    image: np.ndarray | None
    stages: tuple[Stage, ...]
    blank: bool
    reason: str | None
    inverted: bool


@dataclass(frozen=True)
class InkMap:
    """The soft ink of an image (white on black, the working image's size; None when blank) and its first stages.

    ``scale`` maps the working image back to the input: input pixels per working pixel (over 1 for large inputs).
    ``offset`` is where the working image's (0, 0) lies in the input, in working pixels (a retried tight crop is
    padded by a margin, so it is negative then). ``with_specks``: the soft ink before its specks were dropped (a pen's
    dot between a number's digits is one).
    """

    soft_ink: np.ndarray | None
    box: tuple[int, int, int, int] | None
    stages: tuple[Stage, ...]
    reason: str | None
    inverted: bool
    scale: float = 1.0
    offset: tuple[int, int] = (0, 0)
    with_specks: np.ndarray | None = None


def to_mnist(image: np.ndarray, *, polarity: str = "auto", canvas: bool = False) -> PreprocessResult:
    """A digit image (2-D gray, HxWx3 or HxWx4, any real dtype) as an MNIST-style 28x28, with every stage.

    ``polarity`` is "auto" (decide from which side of the paper the ink lies), "dark_on_light" or
    "light_on_dark". ``canvas``: the image is the canvas's own pen strokes: no form's printed boxes are looked for,
    and a tap of the pen over or under a stroke (the dot of an i, a ! or a ?) is ink, not a speck, whatever the pen;
    in an image such a piece is kept when it is a pen's dot (:func:`find_ink`'s ``dots``).
    Raises ValueError only for arrays that are not images (wrong rank, empty, not numbers).
    """
    ink = find_ink(image, polarity=polarity, canvas=canvas, dots=True)
    if ink.soft_ink is None or ink.box is None:
        return PreprocessResult(None, ink.stages, blank=True, reason=ink.reason, inverted=ink.inverted)
    top, bottom, left, right = ink.box
    image28, glyph_stages = crop_to_mnist(ink.soft_ink[top:bottom, left:right])
    stages = (*ink.stages, *glyph_stages)
    if image28 is None:
        return PreprocessResult(None, stages, blank=True, reason="no ink found", inverted=ink.inverted)
    return PreprocessResult(image28, stages, blank=False, reason=None, inverted=ink.inverted)


def find_ink(image: np.ndarray, *, polarity: str = "auto", canvas: bool = False, dots: bool = False) -> InkMap:
    """The ink of any image, paper and specks removed: :func:`to_mnist`'s first stages (number reading's too).
    ``dots``: keep a pen's dot over, under or inside a stroke in an image (one glyph, where it makes an i, a ! or a
    ?; a number's reader finds its points apart)."""
    if polarity not in POLARITIES:
        raise ValueError(f"Unknown polarity {polarity!r}; use one of {', '.join(POLARITIES)}.")
    original = to_gray(image)
    gray = limit_size(original, WORKING_MAX_SIDE)
    scale = max(original.shape) / max(gray.shape)
    sheet = find_sheet(gray) if polarity != "light_on_dark" else None
    relit = relit_shadow(gray, sheet) if sheet is not None else None
    if relit is not None:  # the "sheet" was the lit part of a page half in shadow: read the whole page, relit
        found = _ink_on_paper(relit, polarity, scale, canvas, dots)
        shown = np.float32(1.0) - gray if found.inverted else np.array(gray, dtype=np.float32, copy=True)
        relit_stage = replace(found.stages[0], name="shadow evened out")
        return replace(found, stages=(Stage("input (grayscale)", shown), relit_stage, *found.stages[1:]))
    if sheet is not None:  # a photo of a sheet on a desk: read the sheet alone (a blank sheet is blank)
        on_sheet = _ink_on_paper(isolate_sheet(gray, sheet), polarity, scale, canvas, dots)
        shown = np.float32(1.0) - gray if on_sheet.inverted else np.array(gray, dtype=np.float32, copy=True)
        photo = Stage("input (grayscale)", shown)  # a copy: the input may be the caller's own array
        sheet_only = replace(on_sheet.stages[0], name="the sheet alone")
        stages = (photo, sheet_only, *on_sheet.stages[1:])
        return replace(on_sheet, stages=stages, offset=(sheet.box[0], sheet.box[1]))
    result = _gray_to_ink(gray, polarity, scale, canvas=canvas, dots=dots)
    if result.reason == RULED_PAPER_ONLY:
        return result  # its lines run off the frame, but they are the paper's, not a digit cut by a tight crop
    if result.soft_ink is None and min(gray.shape) >= 4 and frame_cuts_ink(gray):
        # Ink on the frame: a tightly cropped digit whose paper level was misread. Retry with a paper margin.
        margin = max(4, max(gray.shape) // 4)
        padded = np.pad(gray, margin, mode="constant", constant_values=float(np.median(_border_ring(gray))))
        frame = (margin, margin + gray.shape[0], margin, margin + gray.shape[1])
        retried = _gray_to_ink(padded, polarity, scale, frame=frame, canvas=canvas, dots=dots)
        if retried.soft_ink is not None:  # the strip shows the input as it is, then with the margin it was read in
            shown = np.float32(1.0) - gray if retried.inverted else np.array(gray, dtype=np.float32, copy=True)
            with_margin = replace(retried.stages[0], name="margin added")
            stages = (Stage("input (grayscale)", shown), with_margin, *retried.stages[1:])
            return replace(retried, stages=stages, offset=(-margin, -margin))
    return _or_on_local_paper(result, gray, polarity, scale, canvas, dots)


def _ink_on_paper(gray: np.ndarray, polarity: str, scale: float, canvas: bool, dots: bool) -> InkMap:
    """:func:`_gray_to_ink`, read again against the local paper model when it finds nothing or only faint ink."""
    found = _gray_to_ink(gray, polarity, scale, canvas=canvas, dots=dots)
    return _or_on_local_paper(found, gray, polarity, scale, canvas, dots)


def _or_on_local_paper(
    result: InkMap, gray: np.ndarray, polarity: str, scale: float, canvas: bool, dots: bool
) -> InkMap:
    """``result``, or when it is blank or faint the ink against the local paper model: faint pencil and thin pen
    under a shadow's edge, which the quadratic surface leaves as shading as strong as the ink (the shading, dropped
    along the border, then sets the ink's level and what is kept is faint)."""
    if min(gray.shape) < LOCAL_MIN_SIDE or result.reason == RULED_PAPER_ONLY:
        return result
    if result.soft_ink is not None and float(result.soft_ink.max()) >= _FAINT_FIND:
        return result
    local = estimate_local_background(gray)
    contrast = LOCAL_MIN_INK_CONTRAST
    retried = _gray_to_ink(gray, polarity, scale, background=local, min_contrast=contrast, canvas=canvas, dots=dots)
    return retried if retried.soft_ink is not None else result


def _gray_to_ink(
    gray: np.ndarray,
    polarity: str,
    scale: float,
    *,
    background: np.ndarray | float | None = None,
    min_contrast: float = MIN_INK_CONTRAST,
    frame: tuple[int, int, int, int] | None = None,
    canvas: bool = False,
    dots: bool = False,
) -> InkMap:
    """:func:`find_ink` on a 2-D float image in [0, 1], against ``background`` (the quadratic paper when None);
    ``frame`` is where the photo lies in ``gray`` when it was padded (for its ruled lines); ``canvas``: as
    :func:`to_mnist` has it; ``dots``: as :func:`find_ink` has it."""
    refit = background is None
    background = estimate_background(gray) if background is None else background
    difference = gray - np.float32(background) if np.isscalar(background) else gray - background
    rough_noise = pixel_noise(difference)
    paper_level = float(np.mean(background))
    if polarity == "auto":
        inverted = detect_polarity(difference, paper_level, rough_noise)
    else:
        inverted = polarity == "dark_on_light"
    ink_display = np.float32(1.0) - gray if inverted else np.array(gray, dtype=np.float32, copy=True)
    stages: list[Stage] = [Stage("input (grayscale)", ink_display)]

    def blank(reason: str) -> InkMap:
        return InkMap(None, None, tuple(stages), reason=reason, inverted=inverted, scale=scale)

    soft_ink, noise = _ink_above_paper(-difference if inverted else difference, rough_noise, min_contrast)
    if refit and soft_ink is None and noise > max(_BIASED_PAPER * rough_noise, _BIASED_PAPER_FLOOR):
        # The paper's side spreads far more than its pixels do: thick ink pulled the surface into itself (the paper
        # then looks brighter than it is, and that "noise" hides the ink). Fit it again, clipping the ink's side.
        background = estimate_background(gray, ink_side=-1 if inverted else 1)
        difference = gray - np.float32(background) if np.isscalar(background) else gray - background
        soft_ink, noise = _ink_above_paper(-difference if inverted else difference, rough_noise, min_contrast)
    if soft_ink is None:
        return blank("no ink found")
    soft_ink, lines = remove_ruled_lines(soft_ink, frame)
    if lines:
        stages.append(Stage("ruled lines removed", soft_ink))
    soft_ink, unboxed = (soft_ink, 0) if canvas else remove_boxes(soft_ink)
    if unboxed:
        stages.append(Stage("boxes removed", soft_ink))
    soft_ink, unmarked = (soft_ink, 0) if canvas else remove_marks(soft_ink)
    if unmarked:
        stages.append(Stage("underline or circle removed", soft_ink))
    with_specks = soft_ink
    soft_ink, box = remove_specks(soft_ink, taps=canvas, dots=dots)
    if soft_ink is None or box is None:
        return blank(RULED_PAPER_ONLY if lines else SMALL_MARKS_ONLY)
    stages.append(Stage("background removed", soft_ink))
    return InkMap(soft_ink, box, tuple(stages), reason=None, inverted=inverted, scale=scale, with_specks=with_specks)


def _ink_above_paper(ink: np.ndarray, rough_noise: float, min_contrast: float) -> tuple[np.ndarray | None, float]:
    """The soft ink of ``ink`` (signed strength over the paper), blurred first when noisy; and the paper's noise."""
    noise = max(rough_noise, paper_noise(ink))
    if noise > _NOISY:
        ink = box_blur(ink, max(1, round(max(ink.shape) / 280)))
        noise = paper_noise(ink)
    return suppress_background(ink, noise, min_contrast), noise


def crop_to_mnist(crop: np.ndarray) -> tuple[np.ndarray | None, tuple[Stage, ...]]:
    """A cropped glyph (soft ink, white on black) as MNIST's 28x28 (None when no ink is left), with its stages."""
    stages: list[Stage] = [Stage("cropped", crop)]
    glyph = normalize_stroke_width(resize_glyph(crop), allow_erosion=max(crop.shape) >= 2 * MNIST_GLYPH_SIZE)
    glyph = unit_max(glyph)
    stages.append(Stage("stroke width normalised", glyph))
    stages.append(Stage(f"scaled to {MNIST_GLYPH_SIZE} px", scaled_to_glyph_size(glyph)))
    centred = unit_max(center_by_mass(glyph))
    if float(centred.max()) <= 0:
        return None, tuple(stages)
    stages.append(Stage(f"centred {MNIST_SIZE}x{MNIST_SIZE}", centred))
    return centred, tuple(stages)


def preprocess_file(source: str | os.PathLike | bytes, *, polarity: str = "auto") -> PreprocessResult:
    """Read an image file (path or encoded bytes) and run it through :func:`to_mnist`."""
    return to_mnist(read_image(source), polarity=polarity)


def render_mnist_on_canvas(
    image28: np.ndarray,
    size: int = 280,
    *,
    box: tuple[int, int, int, int] | None = None,
    ink_dark: bool = True,
) -> np.ndarray:
    """Paint a 28x28 white-on-black digit into ``box`` (x, y, w, h) of a ``size`` square uint8 canvas."""
    digit = np.clip(np.asarray(image28, dtype=np.float32), 0.0, 1.0)
    if box is None:
        margin = round(size / 14)
        box = (margin, margin, size - 2 * margin, size - 2 * margin)
    x, y, box_width, box_height = box
    picture = Image.fromarray(np.ascontiguousarray(digit), mode="F")
    scaled = np.clip(np.asarray(picture.resize((box_width, box_height), Image.Resampling.BICUBIC)), 0.0, 1.0)
    ink = np.zeros((size, size), dtype=np.float32)
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + box_height, size), min(x + box_width, size)
    if bottom > top and right > left:
        ink[top:bottom, left:right] = scaled[top - y : bottom - y, left - x : right - x]
    levels = 1.0 - ink if ink_dark else ink
    return np.round(levels * 255.0).astype(np.uint8)
