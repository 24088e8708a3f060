"""Your own 32x32 RGB images: the ResNet (hinge, spectral norm) recipe vs DCGAN.

The data is "colour MNIST-5k": the 5,000 MNIST-5k digits (train and test splits),
padded to 32 x 32, drawn in one of three foreground colours (red, green, blue,
brightness jittered in [0.7, 1]) on a random dark background (each channel
uniform in [0, 0.3]), written once as PNGs into 30 class folders `<digit>-<colour>`
(seed 0). Both recipes train on it as a user's folder, with the CLI, one training
at a time, each stopped by `--time-limit` (equal training wall-clock):

    python benchmarks/own_images_gan.py --seeds 0 1 2 --time-limit 360
    python benchmarks/own_images_gan.py --report

    dcgan:  train gan --dataset folder:DATA --image-size 32 --channels 3 \
                --width 64 --batch-size 64 --learning-rate 2e-4 --ema 0
    resnet: ... --arch resnet --loss hinge --beta1 0 --batch-size 64 \
                --learning-rate 2e-4 --ema 0      (the documented recipe)

Runs alternate between the recipes (dcgan s0, resnet s0, dcgan s1, ...), so a
slower period of the machine hits both. Each saves a snapshot every epoch; the
one read is the last whose `train_seconds` is within the limit. It is scored by
`evaluate_generator` in the features of a classifier trained on the 30 classes
(digit and colour), 2,000 samples against 2,000 training images: FID, KID and
classes covered (of 30). The real-vs-real floor is two disjoint halves of 2,000
training images in the same features. A second table reads each run at the first
epoch end after the limit (the model `--time-limit` leaves), which favours the
recipe with the longer epochs.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = pathlib.Path(__file__).resolve().parent
# Batch 64, Adam(2e-4) for both and no EMA (the previous CLI GAN defaults).
MEASURED = ["--batch-size", "64", "--learning-rate", "2e-4", "--ema", "0"]
RECIPES = {
    "dcgan": ["--width", "64", *MEASURED],
    "resnet": ["--arch", "resnet", "--loss", "hinge", "--beta1", "0", *MEASURED],
}
COLOURS = {"red": (1.0, 0.15, 0.1), "green": (0.1, 1.0, 0.2), "blue": (0.2, 0.4, 1.0)}
IMAGE = ["--image-size", "32", "--channels", "3"]
OPTIONS = {"image_size": (32, 32), "channels": 3}
NUM_SAMPLES = 2000


def write_colour_digits(root: pathlib.Path) -> pathlib.Path:
    """Writes colour MNIST-5k as PNG class folders (once); returns the folder."""
    import numpy as np
    from PIL import Image

    from keras_genmodels.data import load_arrays

    done = root / ".complete"
    if done.is_file():
        return root
    arrays = load_arrays("mnist5k")
    x = np.concatenate([arrays.x_train, arrays.x_test])[..., 0]
    y = np.concatenate([arrays.y_train, arrays.y_test])
    rng = np.random.default_rng(0)
    names = list(COLOURS)
    for index, (grey, digit) in enumerate(zip(x, y, strict=True)):
        grey = np.pad(grey, 2)[..., None]
        name = names[rng.integers(len(names))]
        colour = np.asarray(COLOURS[name]) * rng.uniform(0.7, 1.0)
        background = rng.uniform(0.0, 0.3, size=3)
        rgb = grey * colour + (1.0 - grey) * background
        folder = root / f"{digit}-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.clip(np.round(rgb * 255), 0, 255).astype("uint8")
        Image.fromarray(pixels).save(folder / f"{index:04d}.png")
    done.write_text(f"{len(x)} images\n")
    return root


def extractor_of(data: pathlib.Path):
    from keras_genmodels.evaluation import FeatureExtractor

    return FeatureExtractor.from_dataset(f"folder:{data}", data_options=OPTIONS)


def train(folder: pathlib.Path, data: pathlib.Path, recipe: str, seed: int, limit):
    """One CLI run (unless finished); returns its folder."""
    if (folder / "metrics.json").is_file():
        return folder
    if folder.exists():  # a killed run starts over
        shutil.rmtree(folder)
    command = [sys.executable, "-m", "keras_genmodels", "train", "gan"]
    command += ["--dataset", f"folder:{data}", *IMAGE, *RECIPES[recipe]]
    command += ["--epochs", "1000", "--time-limit", str(limit), "--snapshot-every"]
    command += ["1", "--seed", str(seed), "--verbose", "0", "--output-dir", str(folder)]
    load = os.getloadavg()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    (folder / "load.json").write_text(json.dumps([load, os.getloadavg()]))
    return folder


def score(
    folder: pathlib.Path, data: pathlib.Path, limit: float, extractor, past=False
) -> dict:
    """Scores the last snapshot within the limit (with `past`, the first one after
    it: the model `--time-limit` ends with); cached in score[-past].json."""
    path = folder / ("score-past.json" if past else "score.json")
    if path.is_file():
        return json.loads(path.read_text())
    from keras_genmodels import load_model
    from keras_genmodels.evaluation import evaluate_generator

    seconds = json.loads((folder / "history.json").read_text())["train_seconds"]
    inside = [i for i, s in enumerate(seconds) if s <= limit] or [0]
    epoch = len(seconds) if past else inside[-1] + 1
    model = load_model(folder / "snapshots" / f"epoch-{epoch:04d}.keras")
    report = evaluate_generator(
        model, f"folder:{data}", NUM_SAMPLES, extractor=extractor, seed=0, **OPTIONS
    )
    record = {
        "epoch": epoch,
        "train_seconds": seconds[epoch - 1],
        "seconds_per_epoch": seconds[-1] / len(seconds),
        "fid": report["fid"],
        "kid_mean": report["kid_mean"],
        "classes": report["mode_coverage"]["num_covered"],
        "num_classes": len(report["mode_coverage"]["histogram"]),
        "load": json.loads((folder / "load.json").read_text()),
        "parameters": int(model.count_params()),
    }
    path.write_text(json.dumps(record, indent=1))
    return record


def floor(data: pathlib.Path, extractor, seeds) -> list[float]:
    import numpy as np

    from keras_genmodels.data import load_arrays
    from keras_genmodels.evaluation import frechet_distance

    features, _ = extractor(load_arrays(f"folder:{data}", **OPTIONS).x_train)
    values = []
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(len(features))
        half = min(NUM_SAMPLES, len(features) // 2)
        a, b = features[order[:half]], features[order[half : 2 * half]]
        values.append(frechet_distance(a, b))
    return values


def spread(values) -> str:
    values = list(values)
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def report(runs: pathlib.Path, data: pathlib.Path, extractor, limit: float) -> None:
    values = floor(data, extractor, [0, 1, 2])
    print(f"\ntime limit {limit:g} s; real-vs-real FID floor {spread(values)}")
    print(f"classifier: {json.dumps(extractor.protocol)}")
    for past in (False, True):
        table(runs, data, extractor, limit, past)


def table(runs, data, extractor, limit, past) -> None:
    rows = {}
    for recipe in RECIPES:
        for folder in sorted(runs.glob(f"{recipe}-s*")):
            if (folder / "metrics.json").is_file():
                rows.setdefault(recipe, []).append(
                    (folder.name, score(folder, data, limit, extractor, past))
                )
    when = "first epoch end after" if past else "last epoch end within"
    print(f"\nread at the {when} {limit:g} s of training:\n")
    print(
        "| recipe | options | seeds | FID | KID | classes of 30 "
        "| epochs read | train s read | s/epoch | weights | load start/end |"
    )
    print("| --- " * 11 + "|")
    for recipe, group in rows.items():
        records = [r for _, r in group]
        cells = [
            recipe,
            " ".join(RECIPES[recipe]),
            " ".join(name.rsplit("-s", 1)[1] for name, _ in group),
            spread(r["fid"] for r in records),
            spread(r["kid_mean"] for r in records),
            " ".join(str(r["classes"]) for r in records),
            " ".join(str(r["epoch"]) for r in records),
            spread(r["train_seconds"] for r in records),
            f"{statistics.median(r['seconds_per_epoch'] for r in records):.1f}",
            f"{records[0]['parameters']:,}",
            ", ".join(f"{r['load'][0][0]:.1f}/{r['load'][1][0]:.1f}" for r in records),
        ]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--time-limit", type=float, default=360.0)
    parser.add_argument("--runs", type=pathlib.Path, default=HERE.parent / "runs")
    parser.add_argument("--report", action="store_true", help="score and tabulate")
    args = parser.parse_args()
    runs = args.runs / "own_images"
    data = write_colour_digits(runs / "colour_mnist5k")
    extractor = extractor_of(data)
    if not args.report:
        for seed in args.seeds:
            for recipe in RECIPES:
                started = time.perf_counter()
                folder = train(runs / f"{recipe}-s{seed}", data, recipe, seed,
                               args.time_limit)  # fmt: skip
                record = score(folder, data, args.time_limit, extractor)
                print(
                    f"{folder.name}: FID {record['fid']:.1f}, {record['classes']}/"
                    f"{record['num_classes']} classes at epoch {record['epoch']} "
                    f"({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    report(runs, data, extractor, args.time_limit)


if __name__ == "__main__":
    main()
