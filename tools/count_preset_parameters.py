"""Write ml/models/preset_parameter_counts.py: every preset's parameter count for the inputs the training panel
offers without a folder (MNIST-sized images, 784 and 64 features; 10 classes), each from a built model.

The panel then shows these counts without building VGG16, MobileNetV2 and the rest in a thread while the user
draws (1.8 s of CPU holding Python's GIL after every launch). Run it after changing a preset's architecture; a
test fails until then.

    python tools/count_preset_parameters.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TABLE = ROOT / "ml" / "models" / "preset_parameter_counts.py"
HEADER = '''"""Every preset's parameter count for the panel's fixed inputs, written by tools/count_preset_parameters.py
from built models (a test rebuilds each and compares): read instead of building the models at each launch."""

from __future__ import annotations

KNOWN_PARAMETER_COUNTS: dict[tuple[str, tuple[int, ...], int], int] = {
'''


def shipped_inputs() -> list[tuple[str, tuple[int, ...], int]]:
    """(preset, input shape, classes) for MNIST, Fashion-MNIST and the 8x8 digits, as the panel asks for them."""
    from app.train.parameter_counter import model_input
    from ml.models.presets import PRESETS

    keys = []
    for dataset in ("mnist", "sklearn-digits"):
        for name in PRESETS:
            shape, classes = model_input(name, dataset)
            keys.append((name, tuple(shape), classes))
    return list(dict.fromkeys(keys))


def main() -> int:
    """Build each preset for each input and write the table."""
    from ml.models.presets import built_parameter_count

    lines = [HEADER]
    for name, shape, classes in shipped_inputs():
        count = built_parameter_count(name, shape, classes)
        lines.append(f'    ("{name}", {shape!r}, {classes}): {count},\n')
        print(f"{name} {shape} {classes}: {count:,}")
    lines.append("}\n")
    TABLE.write_text("".join(lines))
    print(f"wrote {TABLE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
