"""Probe: crafted model and data files through `digitlab predict`, `digitlab evaluate` and the loaders, each in a child
process with a timeout. Counts clear errors, correct results, tracebacks, crashes (signals), hangs and peak RSS.

    .venv/bin/python bench/bench_hostile_files.py [--timeout 60] [--jobs 2] [--entries loader,predict,evaluate]

A bad file must end in a clear error (exit 1/2, a message, no traceback); a good one in a correct result. A bad data
file that `evaluate` scores anyway (exit 0) is a silent wrong answer.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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
CLI = "import sys; from ml.cli.main import main; sys.exit(main(sys.argv[1:]))"
LOADER = (
    "import sys; from ml.errors import DigitLabError\n"
    "from ml.models.files import load_model\nfrom ml.inference.predictor import Predictor\n"
    "try:\n    Predictor(load_model(sys.argv[1])); print('loaded')\n"
    "except DigitLabError as e:\n    print('error:', e, file=sys.stderr); sys.exit(2)\n"
)
DATA_LOADER = (
    "import sys; from ml.errors import DigitLabError\nfrom ml.data.datasets import load_dataset\n"
    "try:\n    load_dataset('mnist', data_file=sys.argv[1]); print('loaded')\n"
    "except DigitLabError as e:\n    print('error:', e, file=sys.stderr); sys.exit(2)\n"
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
    return cases


def run_child(arguments: list[str], timeout: float) -> dict:
    """Run one child; its exit status, output, wall time and peak RSS (from wait4)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([sys.executable, *arguments], stdout=out, stderr=err, cwd=ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                return {"outcome": "hang", "rss_mb": usage.ru_maxrss / 1024, "seconds": timeout}
            time.sleep(0.05)
        process.returncode = 0
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    return {"code": code, "stdout": stdout, "stderr": stderr, "rss_mb": usage.ru_maxrss / 1024,
            "seconds": time.perf_counter() - started}  # fmt: skip


def classify(result: dict, should_work: bool) -> str:
    if result.get("outcome") == "hang":
        return "hang"
    if result["code"] < 0:
        return "crash"
    if "Traceback" in result["stderr"]:
        return "traceback"
    if result["code"] == 0:
        return "correct" if should_work else "silent wrong answer"
    if should_work:
        return "wrongly refused"
    return "clear error" if "error" in result["stderr"] else "unclear error"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--entries", default="loader,predict,evaluate")
    args = parser.parse_args()
    entries = args.entries.split(",")
    folder = Path(tempfile.mkdtemp(prefix="digitlab-hostile-"))
    (folder / "models").mkdir(), (folder / "data").mkdir()
    models, data = _keras_models(folder / "models"), _data_files(folder / "data")
    image = folder / "digit.png"
    from PIL import Image

    picture = np.full((60, 60), 255, np.uint8)
    picture[10:50, 27:33] = 0
    Image.fromarray(picture).save(image)
    good_data = data["good uint8"][0]
    jobs = []
    for name, (path, works) in models.items():
        if "loader" in entries:
            jobs.append(("model", "loader", name, ["-c", LOADER, str(path)], works))
        if "predict" in entries:
            jobs.append(
                ("model", "predict", name, ["-c", CLI, "predict", str(image), "--json", "--model", str(path)], works)
            )
        if "evaluate" in entries:
            jobs.append(
                (
                    "model",
                    "evaluate",
                    name,
                    ["-c", CLI, "evaluate", "--model", str(path), "--data", str(good_data)],
                    works,
                )
            )
    for name, (path, works) in data.items():
        if "loader" in entries:
            jobs.append(("data", "loader", name, ["-c", DATA_LOADER, str(path)], works))
        if "evaluate" in entries:
            jobs.append(("data", "evaluate", name, ["-c", CLI, "evaluate", "--data", str(path)], works))
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: (job, run_child(job[3], args.timeout)), jobs))
    table: dict[tuple[str, str], dict] = {}
    for (kind, entry, name, _argv, works), result in results:
        outcome = classify(result, works)
        if outcome not in ("correct", "clear error"):
            print(f"  {kind} {entry} {name}: {outcome}: {result.get('stderr', '')[-300:]!r}")
        row = table.setdefault((kind, entry), {"runs": 0, "rss": 0.0, "refused_rss": 0.0})
        row["runs"] += 1
        row[outcome] = row.get(outcome, 0) + 1
        row["rss"] = max(row["rss"], result["rss_mb"])
        if outcome == "clear error":
            row["refused_rss"] = max(row["refused_rss"], result["rss_mb"])
    print(f"{len(models)} model kinds, {len(data)} data kinds, timeout {args.timeout:g} s")
    columns = ("clear error", "correct", "traceback", "crash", "hang", "silent wrong answer", "wrongly refused",
               "unclear error")  # fmt: skip
    print("| files | entry | runs | " + " | ".join(columns) + " | peak RSS (MB) | peak RSS refused (MB) |")
    for (kind, entry), row in table.items():
        counts = " | ".join(str(row.get(column, 0)) for column in columns)
        print(f"| {kind} | {entry} | {row['runs']} | {counts} | {row['rss']:.0f} | {row['refused_rss']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
