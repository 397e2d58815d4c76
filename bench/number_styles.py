"""Digits in other styles for bench_numbers.py's numbers: each number is written in one style, none of which the
number reader was fitted or tuned on.

- **another hand**: the not-a-digit benchmark's own digit shapes (``ml.doubt.templates.DIGITS_OTHER``), drawn by a
  jittered pen 5-48 pixels wide, slanted up to 0.4, squashed or stretched;
- **MNIST test redrawn**: MNIST test digits drawn large and made 2 pixels thinner to 4 pixels bolder;
- **MNIST test slanted**: sheared 0.25-0.5 left or right;
- **scikit-learn 8x8**: scikit-learn's 8x8 digits (other writers, scanned in 1998), upscaled.

Every digit goes through the single-digit preprocessing first (``to_mnist``: its own stroke width, 20 pixels, centred),
so that the number is composed from 28x28 digits the way the MNIST numbers are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from ml.doubt.drawing import digit_on_canvas
from ml.doubt.material import hand_drawn
from ml.doubt.templates import DIGITS_OTHER
from ml.preprocess.pipeline import to_mnist

STYLES = ("another hand", "MNIST test redrawn", "MNIST test slanted", "scikit-learn 8x8")


def style_drawers(test_images: np.ndarray, test_labels: np.ndarray) -> dict[str, Callable]:
    """Per style, ``draw(label, rng) -> (28, 28) float32 in [0, 1]`` (white ink on black), or None when blank."""
    from sklearn.datasets import load_digits

    from ml.data.datasets import upscale_digits

    digits8 = load_digits()
    sklearn28 = upscale_digits((digits8.images.astype(np.float32) / 16.0)[..., None])[..., 0]
    test_by_class = {digit: np.flatnonzero(test_labels == digit) for digit in range(10)}
    sklearn_by_class = {digit: np.flatnonzero(digits8.target == digit) for digit in range(10)}
    hands = {
        digit: hand_drawn(DIGITS_OTHER, (str(digit),), widths=(5.0, 48.0), slant=0.4, aspect=(0.4, 0.95), photo_share=0)
        for digit in range(10)
    }

    def another_hand(label: int, rng: np.random.Generator) -> np.ndarray:
        return hands[label](rng)[0]

    def redrawn(label: int, rng: np.random.Generator) -> np.ndarray:
        image = test_images[rng.choice(test_by_class[label])]
        return digit_on_canvas(image, rng, width_change=int(rng.choice([-2, -1, 2, 4])))

    def slanted(label: int, rng: np.random.Generator) -> np.ndarray:
        image = test_images[rng.choice(test_by_class[label])]
        shear = float(rng.choice([-1, 1]) * rng.uniform(0.25, 0.5))
        picture = Image.fromarray(image.astype(np.float32), mode="F")
        sheared = picture.transform((28, 28), Image.Transform.AFFINE, (1, shear, -14 * shear, 0, 1, 0), Image.BILINEAR)
        return digit_on_canvas(np.asarray(sheared), rng)

    def scanned(label: int, rng: np.random.Generator) -> np.ndarray:
        return digit_on_canvas(sklearn28[rng.choice(sklearn_by_class[label])], rng)

    def as_digit(draw: Callable) -> Callable:
        def draw_digit(label: int, rng: np.random.Generator) -> np.ndarray | None:
            return to_mnist(draw(label, rng)).image

        return draw_digit

    return {name: as_digit(draw) for name, draw in zip(STYLES, (another_hand, redrawn, slanted, scanned), strict=True)}
