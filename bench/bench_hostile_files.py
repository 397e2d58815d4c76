"""Probe: crafted model and data files through `digitlab predict`, `digitlab evaluate` and the loaders, each run in a
child process with a timeout. Counts clear errors, correct results, tracebacks, crashes (signals), hangs, runs over
5 s and peak RSS.

Over 200 files: 45 model kinds and 24 data kinds, each with variants (JSON depths and sizes, truncation points,
flipped bytes, broken zips, wrong weight shapes, input shapes and class counts; data dtypes, shapes, object arrays,
missing keys, broken .npy headers, label encodings, a pickle that would run a command). TensorFlow's start-up is
paid once per batch child (``--jobs`` of them): each batch child imports it, then runs every job in a forked child of
its own, which ``os.wait4`` times, measures (peak RSS) and kills after ``--timeout``.

    .venv/bin/python bench/bench_hostile_files.py [--timeout 60] [--jobs 2] [--entries loader,predict,evaluate]
        [--every 1]

A bad file must end in a clear error (exit 1/2, a message, no traceback); a good one in a correct result. A bad data
file that `evaluate` scores anyway (exit 0) is a silent wrong answer.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _flipped(source: Path, target: Path, seed: int, flips: int) -> Path:
    """A copy of ``source`` with ``flips`` random bytes changed."""
    data = bytearray(source.read_bytes())
    rng = np.random.default_rng(seed)
    for position in rng.integers(0, len(data), flips):
        data[position] ^= int(rng.integers(1, 256))
    target.write_bytes(bytes(data))
    return target


def _zip_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {entry: archive.read(entry) for entry in archive.namelist()}


def _write_zip(path: Path, entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return path


def _more_models(folder: Path, cases: dict, save, rewrite, model) -> None:
    """Variants of each kind: depths, sizes, truncation points, flipped bytes, broken zips, shapes, class counts.

    ``True``: must load and run; ``False``: must be refused; ``None``: either is right (a flipped byte may fall in
    padding, or in a weight, which no file format can tell)."""
    layers = lambda config: config["config"]["layers"]  # noqa: E731
    good_keras, good_h5 = cases["good.keras"][0], cases["good.h5"][0]
    for depth in (101, 150, 1_000, 10_000, 1_000_000):
        for opener, closer, label in (("[", "]", "brackets"), ('{"a":', "}", "objects")):
            text = opener * depth + "1" + closer * depth
            cases[f"deep json {depth} {label}"] = (rewrite(f"deep-{depth}-{label}.keras", lambda c, t=text: t), False)
    cases["huge json: 30 MB string"] = (rewrite("huge-string.keras", lambda c: c.update(pad="x" * 30_000_000)), None)
    cases["huge json: 3M-number list"] = (
        rewrite("huge-list.keras", lambda c: c.update(pad=list(range(3_000_000)))),
        None,
    )
    cases["huge json: 20,000 layers"] = (
        rewrite("huge-layers.keras", lambda c: layers(c).extend([dict(layers(c)[-1])] * 20_000)),
        False,
    )
    for fraction in np.linspace(0.02, 0.98, 15):
        for good, suffix in ((good_keras, ".keras"), (good_h5, ".h5")):
            data = good.read_bytes()
            path = folder / f"cut-{fraction:.2f}{suffix}"
            path.write_bytes(data[: int(len(data) * fraction)])
            cases[f"truncated {suffix} at {fraction:.0%}"] = (path, False)
    for seed in range(15):
        flips = int(1 + seed % 5 * 4)
        cases[f"{flips} flipped bytes .keras (seed {seed})"] = (
            _flipped(good_keras, folder / f"flip-{seed}.keras", seed, flips),
            None,
        )
        cases[f"{flips} flipped bytes .h5 (seed {seed})"] = (
            _flipped(good_h5, folder / f"flip-{seed}.h5", seed, flips),
            None,
        )
    entries = _zip_entries(good_keras)
    data = good_keras.read_bytes()
    cases["zip: end record cut off"] = (folder / "no-eocd.keras", False)
    (folder / "no-eocd.keras").write_bytes(data[: data.rfind(b"PK\x05\x06")])
    wrong_crc = bytearray(data)
    central = wrong_crc.find(b"PK\x01\x02")
    wrong_crc[central + 16 : central + 20] = b"\xde\xad\xbe\xef"
    local = wrong_crc.find(b"PK\x03\x04")
    wrong_crc[local + 14 : local + 18] = b"\xde\xad\xbe\xef"
    (folder / "crc.keras").write_bytes(bytes(wrong_crc))
    cases["zip: wrong CRC"] = (folder / "crc.keras", False)
    method = bytearray(data)
    for start in (method.find(b"PK\x03\x04"), method.find(b"PK\x01\x02")):
        offset = 8 if method[start + 2] == 3 else 10
        method[start + offset : start + offset + 2] = struct.pack("<H", 99)  # an unknown compression method
    (folder / "method.keras").write_bytes(bytes(method))
    cases["zip: unknown compression method"] = (folder / "method.keras", False)
    encrypted = bytearray(data)
    for start in (encrypted.find(b"PK\x03\x04"), encrypted.find(b"PK\x01\x02")):
        offset = 6 if encrypted[start + 2] == 3 else 8
        encrypted[start + offset] |= 1  # the "encrypted" flag
    (folder / "encrypted.keras").write_bytes(bytes(encrypted))
    cases["zip: encrypted flag"] = (folder / "encrypted.keras", False)
    many = folder / "many.keras"
    with zipfile.ZipFile(many, "w") as archive:
        for entry, content in entries.items():
            archive.writestr(entry, content)
        for index in range(20_000):
            archive.writestr(f"pad/{index}", b"")
    cases["zip: 20,000 entries"] = (many, False)
    cases["zip: config is a zip"] = (_write_zip(folder / "nested.keras", {**entries, "config.json": data}), False)
    cases["zip: stored, not deflated"] = (_write_zip(folder / "stored.keras", entries, zipfile.ZIP_STORED), True)
    cases["zip: no weights file"] = (
        _write_zip(folder / "noweights.keras", {k: v for k, v in entries.items() if "weights" not in k}),
        False,
    )
    other = _zip_entries(save("other.keras", model((28, 28, 1), 7)))
    weights = next(k for k in entries if "weights" in k)
    cases["wrong shapes: weights of a 7-class model"] = (
        _write_zip(folder / "swapped.keras", {**entries, weights: other[weights]}),
        False,
    )
    flat = _zip_entries(cases["good 784 features"][0])
    cases["wrong shapes: weights of another input"] = (
        _write_zip(folder / "swapped-input.keras", {**flat, weights: other[weights]}),
        False,
    )
    for label, shape in {
        "input shape strings": [None, "28", "28", 1],
        "input 5-D": [None, 28, 28, 1, 1],
        "input 0x0": [None, 0, 0, 1],
        "input floats": [None, 28.5, 28, 1],
        "input 1x1": [None, 1, 1, 1],
        "input 100000x1": [None, 100_000, 1, 1],
    }.items():
        cases[label] = (
            rewrite(
                f"{label.replace(' ', '-')}.keras", lambda c, s=shape: layers(c)[0]["config"].update(batch_shape=s)
            ),
            False,
        )
    for classes in (2, 3, 100, 1000):
        # loads and predicts; evaluate on MNIST's ten classes rightly refuses the 2- and 3-class ones
        cases[f"{classes} classes"] = (
            save(f"classes-{classes}.keras", model((28, 28, 1), classes)),
            classes > 3 or None,
        )
    cases["100,000 classes"] = (
        rewrite("classes-1e5.keras", lambda c: layers(c)[-1]["config"].update(units=100_000)),
        None,
    )


def _keras_models(folder: Path) -> dict[str, tuple[Path, bool]]:
    """name -> (file, should load)."""
    import keras

    from ml.models.files import save_model
    from ml.models.metadata import ModelMetadata

    def model(shape=(28, 28, 1), classes=10):
        inputs = keras.Input(shape)
        flat = keras.layers.Flatten()(inputs) if len(shape) > 1 else inputs
        return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(flat))

    def save(name, built=None, **metadata):
        return save_model(built or model(), folder / name, ModelMetadata(**metadata))

    def rewrite(name, change):
        path = save(name)
        with zipfile.ZipFile(path) as archive:
            entries = {entry: archive.read(entry) for entry in archive.namelist()}
        config = json.loads(entries["config.json"])
        new = change(config)
        entries["config.json"] = (
            (new if isinstance(new, str | bytes) else json.dumps(config)).encode()
            if not isinstance(new, bytes)
            else new
        )
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for entry, data in entries.items():
                archive.writestr(entry, data)
        return path

    layers = lambda config: config["config"]["layers"]  # noqa: E731
    cases: dict[str, tuple[Path, bool]] = {}
    cases["good.keras"] = (save("good.keras"), True)
    cases["good.h5"] = (save("good.h5"), True)
    cases["good 784 features"] = (save("flat.keras", model((784,))), True)
    cases["good rgb 32x32"] = (save("rgb.keras", model((32, 32, 3))), True)
    cases["deep json 100000"] = (rewrite("deep.keras", lambda c: "[" * 100_000 + "]" * 100_000), False)

    def deepen(config):
        node = config["config"]
        for _ in range(250):
            node["x"] = {"class_name": "Dense", "config": {}}
            node = node["x"]["config"]

    cases["deep config 500"] = (rewrite("deep500.keras", deepen), False)
    for name, change in {
        "dense bomb 4e9 (build_config)": lambda c: layers(c)[-1].update(
            config={**layers(c)[-1]["config"], "units": 1_000_000}, build_config={"input_shape": [None, 4000]}
        ),
        "dense bomb 1e9 units": lambda c: layers(c)[-1]["config"].update(units=1_000_000_000),
        "input 12000x12000x3": lambda c: layers(c)[0]["config"].update(batch_shape=[None, 12000, 12000, 3]),
        "input 600x600x1": lambda c: layers(c)[0]["config"].update(batch_shape=[None, 600, 600, 1]),
        "input negative": lambda c: layers(c)[0]["config"].update(batch_shape=[None, -28, 28, 1]),
        "zero classes": lambda c: layers(c)[-1]["config"].update(units=0),
        "one class": lambda c: layers(c)[-1]["config"].update(units=1),
        "long error (200k activation)": lambda c: layers(c)[-1]["config"].update(activation="x" * 200_000),
        "config is a list": lambda c: "[1, 2, 3]",
        "config not json": lambda c: "{not json",
        "lambda layer": lambda c: layers(c)[-1].update(class_name="Lambda"),
        "custom class": lambda c: layers(c)[-1].update(class_name="Evil", module="evil.layers"),
        "string units": lambda c: layers(c)[-1]["config"].update(units="ten"),
        "embedding bomb": lambda c: layers(c).insert(
            1,
            {"class_name": "Embedding", "module": "keras.layers", "config": {"input_dim": 10**6, "output_dim": 10**4}},
        ),
    }.items():
        cases[name] = (rewrite(name.split()[0] + str(abs(hash(name)) % 1000) + ".keras", change), False)
    for channels in (2, 4, 5):
        cases[f"{channels} channels"] = (save(f"c{channels}.keras", model((28, 28, channels))), False)
    cases["3 features"] = (save("f3.keras", model((3,))), False)
    cases["2x2 input"] = (save("tiny.keras", model((2, 2))), False)
    cases["mean of wrong length"] = (
        save("mean.keras", model((784,)), input_scale="standardize", input_mean=[0.1] * 5),
        False,
    )
    cases["std of wrong length"] = (
        save("std.keras", model((784,)), input_scale="standardize", input_std=[1.0] * 3),
        False,
    )
    for label, value in (("nan", np.nan), ("inf", np.inf)):
        built = model()
        built.layers[-1].kernel.assign(np.full(built.layers[-1].kernel.shape, value, np.float32))
        cases[f"{label} weights"] = (save(f"{label}.keras", built), False)
    two = keras.Input((28, 28, 1)), keras.Input((28, 28, 1))
    merged = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(keras.layers.Add()(list(two))))
    cases["two inputs"] = (save("two.keras", keras.Model(list(two), merged)), False)
    h5 = save("bomb.h5")
    import h5py

    with h5py.File(h5, "a") as handle:
        handle["model_weights"].create_dataset("bomb", shape=(40_000, 25_000), dtype="float32")
    cases["h5 dataset 4 GB"] = (h5, False)
    deep_h5 = save("deep.h5")
    with h5py.File(deep_h5, "a") as handle:
        handle.attrs["model_config"] = "{" * 50_000
    cases["h5 deep config"] = (deep_h5, False)
    no_config = save("noconfig.h5")
    with h5py.File(no_config, "a") as handle:
        del handle.attrs["model_config"]
    cases["h5 without config"] = (no_config, False)
    lying = save("lying.keras")
    with zipfile.ZipFile(lying, "a") as archive:
        archive.writestr("pad.bin", b"\0" * 1000)
    data = bytearray(lying.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 0xF000_0000)
    lying.write_bytes(bytes(data))
    cases["zip entry declaring 4 GB"] = (lying, False)
    inflate = save("inflate.keras")
    with (
        zipfile.ZipFile(inflate, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("pad.bin", "w", force_zip64=True) as pad,
    ):
        chunk = b"\0" * (64 << 20)
        for _ in range(20):  # 1.3 GB of zeros, about 1.3 MB compressed
            pad.write(chunk)
    cases["zip inflating to 1.3 GB"] = (inflate, False)
    for name, content in (("text.keras", b"hello"), ("empty.keras", b""), ("text.h5", b"hello"),
                          ("png.keras", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)):  # fmt: skip
        (folder / name).write_bytes(content)
        cases[f"not a model: {name}"] = (folder / name, False)
    truncated = folder / "truncated.keras"
    truncated.write_bytes(cases["good.keras"][0].read_bytes()[:2000])
    cases["truncated .keras"] = (truncated, False)
    no_config_zip = folder / "noconfig.keras"
    with zipfile.ZipFile(no_config_zip, "w") as archive:
        archive.writestr("a.txt", "x")
    cases["zip without config"] = (no_config_zip, False)
    meta = save("deepmeta.keras")
    with zipfile.ZipFile(meta, "a") as archive:
        archive.writestr("digitlab.json", "[" * 100_000)
    cases["deep metadata (falls back)"] = (meta, True)
    (folder / "a-folder.keras").mkdir()
    cases["folder"] = (folder / "a-folder.keras", False)
    cases["missing file"] = (folder / "missing.keras", False)
    os.mkfifo(folder / "fifo.keras")
    cases["named pipe"] = (folder / "fifo.keras", False)
    _more_models(folder, cases, save, rewrite, model)
    return cases


def _data_files(folder: Path) -> dict[str, tuple[Path, bool]]:
    rng = np.random.default_rng(0)
    base = {"x_train": rng.integers(0, 256, (200, 28, 28), dtype=np.uint8), "y_train": np.arange(200) % 10,
            "x_test": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8), "y_test": np.arange(100) % 10}  # fmt: skip

    def npz(name, **changes):
        path = folder / f"{name}.npz"
        np.savez(path, **{**base, **changes})
        return path

    cases = {"good uint8": (npz("good"), True), "good float 0-1": (npz("f01", x_test=base["x_test"] / 255.0), True),
             "float 0-255 (rescaled)": (npz("f255", x_test=base["x_test"].astype(np.float32)), True),
             "whole float labels": (npz("flab", y_test=base["y_test"].astype(np.float32)), True)}  # fmt: skip
    bad = {
        "labels 12": {"y_test": np.full(100, 12)}, "labels -1": {"y_test": np.r_[base["y_test"][:-1], -1]},
        "labels 200": {"y_test": np.full(100, 200, np.uint8)}, "fraction labels": {"y_test": base["y_test"] + 0.5},
        "NaN labels": {"y_test": np.full(100, np.nan)}, "string labels": {"y_test": base["y_test"].astype(str)},
        "string images": {"x_test": base["x_test"].astype(str)}, "complex images": {"x_test": base["x_test"] + 1j},
        "NaN pixels": {"x_test": np.full((100, 28, 28), np.nan)},
        "inf pixels": {"x_test": np.full((100, 28, 28), np.inf)},
        "negative pixels": {"x_test": -base["x_test"].astype(np.float32)},
        "pixels 4000": {"x_test": np.full((100, 28, 28), 4000)},
        "empty test split": {"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, np.int64)},
        "label count mismatch": {"y_test": base["y_test"][:50]}, "4-D labels": {"y_test": np.zeros((100, 2))},
        "object labels": None,
    }  # fmt: skip
    for name, changes in bad.items():
        if changes is None:
            path = folder / "objects.npz"
            np.savez(path, **{**base, "y_test": np.array([object()] * 100, dtype=object)})
        else:
            path = npz(name.replace(" ", "_"), **changes)
        cases[name] = (path, False)
    for name, content in (("text.npz", b"x,y\n1,2\n"), ("empty.npz", b""), ("pickle.npz", b"\x80\x04K\x01.")):
        (folder / name).write_bytes(content)
        cases[f"not an npz: {name}"] = (folder / name, False)
    bomb = folder / "bomb.npz"
    header = repr({"descr": "|u1", "fortran_order": False, "shape": (3000, 1024, 1024)}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in ("y_train", "x_test", "y_test"):
            buffer = io.BytesIO()
            np.save(buffer, base[key])
            archive.writestr(f"{key}.npy", buffer.getvalue())
        with archive.open("x_train.npy", "w", force_zip64=True) as member:
            member.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
            for _ in range(16):
                member.write(b"\0" * (64 << 20))  # 1 GB written, 3 GB declared
    cases["npz bomb (3 GB declared, deflated)"] = (bomb, False)
    _more_data(folder, cases, base, npz)
    return cases


def _more_data(folder: Path, cases: dict, base: dict, npz) -> None:
    """Variants: dtypes, shapes, object arrays, missing keys, truncation points, random bytes, broken .npy headers,
    label encodings, and a pickle that would write a file if it were ever unpickled."""
    marker = folder / "pickle-ran"
    x_test, y_test = base["x_test"], base["y_test"]
    for dtype, works in (("float16", True), ("int64", True), ("uint16", None), ("int8", None), ("bool", None),
                         ("S4", False), ("datetime64[s]", False), ("timedelta64[s]", False)):  # fmt: skip
        values = (x_test.astype(np.float32) / 255.0).astype(dtype) if dtype == "float16" else x_test.astype(dtype)
        cases[f"images of dtype {dtype}"] = (npz(f"dtype-{dtype.replace('[s]', '')}", x_test=values), works)
    for label, shape, works in (("28x28x1", (100, 28, 28, 1), None), ("28x28x3", (100, 28, 28, 3), None),
                                ("32x32", (100, 32, 32), None), ("784 flat", (100, 784), None),
                                ("1-D", (100 * 784,), False), ("5-D", (100, 28, 28, 1, 1), False),
                                ("zero width", (100, 28, 0), False), ("8x8", (100, 8, 8), None)):  # fmt: skip
        size = int(np.prod(shape))
        values = np.resize(x_test, size).reshape(shape) if size else np.zeros(shape, np.uint8)
        cases[f"images {label}"] = (npz(f"shape-{label.replace(' ', '-')}", x_test=values), works)
    for key in ("x_test", "x_train", "y_train"):
        objects = np.empty(len(base[key]), dtype=object)
        objects[:] = list(base[key])
        path = folder / f"objects-{key}.npz"
        np.savez(path, **{**base, key: objects})
        cases[f"object array {key}"] = (path, False)
    ragged = np.empty(100, dtype=object)
    ragged[:] = [np.zeros((i % 5 + 1, 3)) for i in range(100)]
    np.savez(folder / "ragged.npz", **{**base, "x_test": ragged})
    cases["ragged object images"] = (folder / "ragged.npz", False)
    missing = {"no y_test": ("y_test",), "no x_test": ("x_test",), "only x_train": ("y_train", "x_test", "y_test"),
               "no test split": ("x_test", "y_test")}  # fmt: skip
    for label, keys in missing.items():
        path = folder / f"missing-{label.replace(' ', '-')}.npz"
        np.savez(path, **{k: v for k, v in base.items() if k not in keys})
        cases[f"missing keys: {label}"] = (path, False)
    cases["extra keys"] = (npz("extra", notes=np.arange(3), x_valid=x_test), True)
    good = cases["good uint8"][0].read_bytes()
    for fraction in np.linspace(0.03, 0.97, 12):
        path = folder / f"cut-{fraction:.2f}.npz"
        path.write_bytes(good[: int(len(good) * fraction)])
        cases[f"truncated .npz at {fraction:.0%}"] = (path, False)
    for seed in range(6):
        path = folder / f"random-{seed}.npz"
        path.write_bytes(np.random.default_rng(seed).integers(0, 256, 1000 * (seed + 1), dtype=np.uint8).tobytes())
        cases[f"random bytes .npz (seed {seed})"] = (path, False)
    for label, header in {
        "negative shape": {"descr": "|u1", "fortran_order": False, "shape": (-100, 28, 28)},
        "unknown dtype": {"descr": "<x9", "fortran_order": False, "shape": (100, 28, 28)},
        "fortran order text": {"descr": "|u1", "fortran_order": "yes", "shape": (100, 28, 28)},
        "shape 10^12 (stored)": {"descr": "|u1", "fortran_order": False, "shape": (10**6, 1000, 1000)},
        "header not a dict": None,
    }.items():
        text = repr(header).encode() if header is not None else f"__import__('os').system('touch {marker}')".encode()
        text += b" " * (63 - (10 + len(text)) % 64) + b"\n"
        path = folder / f"header-{label.split()[0]}-{len(cases)}.npz"
        with zipfile.ZipFile(path, "w") as archive:
            for key in ("x_train", "y_train", "y_test"):
                buffer = io.BytesIO()
                np.save(buffer, base[key])
                archive.writestr(f"{key}.npy", buffer.getvalue())
            archive.writestr("x_test.npy", b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + bytes(784))
        cases[f".npy header: {label}"] = (path, False)
    for label, labels, works in (("bool", y_test % 2 == 0, None), ("one-hot", np.eye(10)[y_test], None),
                                 ("inf", np.r_[y_test[:-1], np.inf], False), ("2^40", np.full(100, 2**40), False),
                                 ("uint8 10", np.full(100, 10, np.uint8), False),
                                 ("int8 -128", np.full(100, -128, np.int8), False)):  # fmt: skip
        cases[f"labels {label}"] = (npz(f"labels-{label.replace(' ', '-').replace('^', '')}", y_test=labels), works)
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    path = folder / "pickle-payload.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("x_train", "y_train", "x_test"):
            buffer = io.BytesIO()
            np.save(buffer, base[key])
            archive.writestr(f"{key}.npy", buffer.getvalue())
        header = repr({"descr": "|O", "fortran_order": False, "shape": (100,)}).encode()
        header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
        archive.writestr("y_test.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload)
    cases["pickle that runs a command"] = (path, False)


def _entry(kind: str, entry: str, argv: list[str]) -> int:
    """Run one entry point in this (forked) process; its exit status."""
    from ml.errors import DigitLabError

    if entry == "loader":
        try:
            if kind == "model":
                from ml.inference.predictor import Predictor
                from ml.models.files import load_model

                Predictor(load_model(argv[0]))
            else:
                from ml.data.datasets import load_dataset

                load_dataset("mnist", data_file=argv[0])
        except DigitLabError as error:
            print("error:", error, file=sys.stderr)
            return 2
        print("loaded")
        return 0
    from ml.cli.main import main

    return main(argv) or 0


def _run_forked(kind: str, entry: str, argv: list[str], timeout: float) -> dict:
    """One job in a forked child of the warmed-up batch process: exit status, output, seconds, peak RSS."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                code = _entry(kind, entry, argv)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            except BaseException:  # noqa: BLE001 - an escaped exception is a traceback, as Python would print it
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush(), sys.stderr.flush()
                os._exit(code)
        deadline = started + timeout
        while True:
            finished, status, usage = os.wait4(pid, os.WNOHANG)
            if finished:
                break
            if time.perf_counter() > deadline:
                os.kill(pid, 9)
                _, status, usage = os.wait4(pid, 0)
                return {"outcome": "hang", "rss_mb": usage.ru_maxrss / 1024, "seconds": timeout}
            time.sleep(0.01)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return {"code": os.waitstatus_to_exitcode(status), "stdout": stdout[-2000:], "stderr": stderr[-4000:],
            "rss_mb": usage.ru_maxrss / 1024, "seconds": time.perf_counter() - started}  # fmt: skip


def run_batch(jobs_file: str, results_file: str, timeout: float) -> int:
    """The batch child: import TensorFlow and Digit Lab once, then run each job in a forked child."""
    import keras  # noqa: F401 - loaded once here, so each forked job starts warm

    import ml.cli.main  # noqa: F401
    import ml.data.datasets  # noqa: F401
    import ml.inference.predictor  # noqa: F401
    import ml.models.files  # noqa: F401

    with open(results_file, "w") as results:
        for job in json.loads(Path(jobs_file).read_text()):
            result = _run_forked(job["kind"], job["entry"], job["argv"], timeout)
            results.write(json.dumps({**job, **result}) + "\n")
            results.flush()
    return 0


def run_batches(jobs: list[dict], workers: int, timeout: float, folder: Path) -> list[dict]:
    """Spread the jobs over ``workers`` batch children (one TensorFlow start-up each); a batch child that dies
    loses only the job it was running, which is counted as a crash, and the rest go on in a new child."""
    shares = [jobs[start::workers] for start in range(workers)]

    def run_share(number: int, share: list[dict]) -> list[dict]:
        done: list[dict] = []
        while len(done) < len(share):
            jobs_file, results_file = folder / f"jobs-{number}.json", folder / f"results-{number}.jsonl"
            jobs_file.write_text(json.dumps(share[len(done) :]))
            results_file.unlink(missing_ok=True)
            arguments = [
                sys.executable,
                __file__,
                "--batch",
                str(jobs_file),
                str(results_file),
                "--timeout",
                str(timeout),
            ]
            with open(folder / f"batch-{number}.log", "ab") as log:  # TensorFlow's start-up notices
                subprocess.run(arguments, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, check=False)
            lines = results_file.read_text().splitlines() if results_file.exists() else []
            done += [json.loads(line) for line in lines]
            if len(done) < len(share):  # the batch child itself died on this job
                done.append(
                    {**share[len(done)], "code": -9, "stderr": "batch child died", "rss_mb": 0.0, "seconds": 0.0}
                )
        return done

    with ThreadPoolExecutor(workers) as pool:
        return [result for results in pool.map(run_share, range(workers), shares) for result in results]


def classify(result: dict, should_work: bool) -> str:
    if result.get("outcome") == "hang":
        return "hang"
    if result["code"] < 0:
        return "crash"
    if "Traceback" in result["stderr"]:
        return "traceback"
    if result["code"] == 0:
        return "silent wrong answer" if should_work is False else "correct"
    if should_work:
        return "wrongly refused"
    return "clear error" if "error" in result["stderr"] else "unclear error"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a run is killed as a hang")
    parser.add_argument("--jobs", type=int, default=2, help="batch children at a time (one TensorFlow start-up each)")
    parser.add_argument("--entries", default="loader,predict,evaluate")
    parser.add_argument("--every", type=int, default=1, help="keep every n-th file only (a quick run)")
    parser.add_argument("--batch", nargs=2, metavar=("JOBS", "RESULTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.batch:
        return run_batch(*args.batch, args.timeout)
    entries = args.entries.split(",")
    folder = Path(tempfile.mkdtemp(prefix="digitlab-hostile-"))
    (folder / "models").mkdir(), (folder / "data").mkdir()
    print("Writing the files…", file=sys.stderr)
    models, data = _keras_models(folder / "models"), _data_files(folder / "data")
    models = dict(list(models.items())[:: args.every])
    data = {"good uint8": data["good uint8"], **dict(list(data.items())[:: args.every])}
    image = folder / "digit.png"
    from PIL import Image

    picture = np.full((60, 60), 255, np.uint8)
    picture[10:50, 27:33] = 0
    Image.fromarray(picture).save(image)
    good_data = str(data["good uint8"][0])
    arguments = {
        ("model", "loader"): lambda path: [path],
        ("model", "predict"): lambda path: ["predict", str(image), "--json", "--model", path],
        ("model", "evaluate"): lambda path: ["evaluate", "--model", path, "--data", good_data],
        ("data", "loader"): lambda path: [path],
        ("data", "evaluate"): lambda path: ["evaluate", "--data", path],
    }
    jobs = [
        {"kind": kind, "entry": entry, "name": name, "argv": make(str(path)), "works": works}
        for (kind, entry), make in arguments.items()
        if entry in entries
        for name, (path, works) in (models if kind == "model" else data).items()
    ]
    print(f"{len(models)} model files, {len(data)} data files: {len(jobs)} runs…", file=sys.stderr)
    started = time.perf_counter()
    results = run_batches(jobs, args.jobs, args.timeout, folder)
    total = time.perf_counter() - started
    pickle_ran = (folder / "data" / "pickle-ran").exists()
    shutil.rmtree(folder, ignore_errors=True)
    table: dict[tuple[str, str], dict] = {}
    for result in results:
        outcome = classify(result, result["works"])
        if outcome not in ("correct", "clear error"):
            print(
                f"  {result['kind']} {result['entry']} {result['name']}: {outcome}: {result.get('stderr', '')[-300:]!r}"
            )
        row = table.setdefault((result["kind"], result["entry"]), {"runs": 0, "rss": 0.0, "refused_rss": 0.0})
        row["runs"] += 1
        row[outcome] = row.get(outcome, 0) + 1
        row["over 5 s"] = row.get("over 5 s", 0) + (result["seconds"] > 5)
        row["seconds"] = max(row.get("seconds", 0.0), result["seconds"])
        row["rss"] = max(row["rss"], result["rss_mb"])
        if outcome == "clear error":
            row["refused_rss"] = max(row["refused_rss"], result["rss_mb"])
    print(
        f"{len(models)} model files, {len(data)} data files, {len(results)} runs in {total:.0f} s "
        f"({args.jobs} batch children); timeout {args.timeout:g} s; "
        f"the pickle's command ran: {'yes' if pickle_ran else 'no'}"
    )
    columns = ("clear error", "correct", "traceback", "crash", "hang", "over 5 s", "silent wrong answer",
               "wrongly refused", "unclear error")  # fmt: skip
    print("| files | entry | runs | " + " | ".join(columns) + " | max time | peak RSS (MB) | peak RSS refused (MB) |")
    print("|---|---|" + "--:|" * (len(columns) + 4))
    for (kind, entry), row in table.items():
        counts = " | ".join(str(row.get(column, 0)) for column in columns)
        print(
            f"| {kind} | {entry} | {row['runs']} | {counts} | {row['seconds']:.1f} s | {row['rss']:.0f} "
            f"| {row['refused_rss']:.0f} |"
        )
    slowest = sorted(results, key=lambda result: -result["seconds"])[:5]
    for result in slowest:
        print(f"- slowest: {result['kind']} {result['entry']} {result['name']}: {result['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
