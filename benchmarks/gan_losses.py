"""Mode collapse per GAN loss on MNIST-5k with the CLI's default networks.

Run: python benchmarks/gan_losses.py [--epochs 3] [--seeds 0 1 2 3 4] [--before]
     python benchmarks/gan_losses.py --report   # the table of every run in --output

For each loss (non_saturating, minimax, wasserstein with a gradient penalty of
10, hinge, least_squares) and seed, trains `GAN` with the DCGAN generator and
discriminator at `--width` for `--epochs` epochs on MNIST-5k (latent 64, batch
`--batch-size`, Adam(`--learning-rate`, beta_1=0.5) for both networks; width,
batch and learning rate default to `keras-genmodels train gan`'s), then reports:

- the diversity ratio: mean pairwise L2 distance of 500 generated images over
  that of 500 training images (1 = as diverse as the data, 0 = one image);
- the classes covered and the largest class fraction among 500 samples, and the
  FID, from `evaluate_generator` in the features of the cached MNIST-5k
  classifier (500 generated vs 500 training images);
- collapse: one class > 50% of the samples or a diversity ratio < 0.5.

It first prints the floor: the FID of 500 held-out vs 500 training images in the
same features, and the held-out images' diversity ratio.

`--before` adds least_squares with `build_generator(..., normalization=None)`,
the generator without normalisation. One JSON line per run is appended to
`--output`; the Markdown table printed at the end (and by `--report`) groups
every run in that file by setting, so seeds added later join their group.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_genmodels import GAN, cli, networks  # noqa: E402
from keras_genmodels.data import load_arrays  # noqa: E402
from keras_genmodels.evaluation import (  # noqa: E402
    FeatureExtractor,
    evaluate_generator,
    frechet_distance,
)
from keras_genmodels.gan.cli import DCGAN_WIDTH  # noqa: E402

LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")
SHAPE, LATENT, NUM_SAMPLES = (28, 28, 1), 64, 500
GROUP = ("loss", "generator", "width", "learning_rate", "batch_size", "epochs")


def mean_pairwise_distance(images) -> float:
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    squares = (x**2).sum(axis=1)
    d2 = np.maximum(squares[:, None] + squares[None, :] - 2.0 * x @ x.T, 0.0)
    return float(np.sqrt(d2[np.triu_indices(len(x), k=1)]).mean())


def train_one(x, loss, seed, args, normalization, extractor, data_distance):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    gan = GAN(
        generator=networks.build_generator(
            SHAPE, LATENT, normalization=normalization, width=args.width
        ),
        discriminator=networks.build_discriminator(SHAPE, width=args.width),
        seed=seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=0.5),
        loss=loss,
    )
    start = time.perf_counter()
    gan.fit(x, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    seconds = time.perf_counter() - start
    samples = np.asarray(gan.generate(NUM_SAMPLES, seed=1000 + seed))
    ratio = mean_pairwise_distance(samples) / data_distance
    report = evaluate_generator(
        gan, "mnist5k", num_samples=NUM_SAMPLES, extractor=extractor, seed=seed
    )
    coverage = report["mode_coverage"]
    largest = float(max(coverage["histogram"]))
    return {
        "loss": loss,
        "generator": "batch norm" if normalization else "no normalisation",
        "width": args.width,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "seed": seed,
        "epochs": args.epochs,
        "train_seconds": round(seconds, 1),
        "diversity_ratio": round(ratio, 3),
        "classes_covered": coverage["num_covered"],
        "largest_class_fraction": round(largest, 3),
        "fid": round(float(report["fid"]), 2),
        "collapsed": bool(largest > 0.5 or ratio < 0.5),
    }


def table(rows) -> str:
    """One Markdown row per setting: means over its seeds, with the minimum of the
    diversity ratio and classes, and the standard deviation of the FID."""
    lines = [
        "| loss | generator | width | lr | batch | epochs | seeds "
        "| diversity ratio (min) | classes covered (min) | FID | collapse rate "
        "| train s/run |",
        "|---" * 12 + "|",
    ]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:  # rows written before width/lr/batch were recorded: 64, 2e-4, 64
        row = {"width": 64, "learning_rate": 2e-4, "batch_size": 64, **row}
        groups.setdefault(tuple(row[k] for k in GROUP), []).append(row)
    for key in sorted(groups, key=str):
        runs = groups[key]
        diversity = [r["diversity_ratio"] for r in runs]
        classes = [r["classes_covered"] for r in runs]
        fid = [r["fid"] for r in runs]
        spread = float(np.std(fid, ddof=1)) if len(fid) > 1 else 0.0
        collapsed = sum(r["collapsed"] for r in runs)
        loss, generator, width, learning_rate, batch, epochs = key
        lines.append(
            f"| {loss} | {generator} | {width} | {learning_rate:g} | {batch} "
            f"| {epochs} | {' '.join(str(r['seed']) for r in runs)} "
            f"| {np.mean(diversity):.2f} ({min(diversity):.2f}) "
            f"| {np.mean(classes):.1f} ({min(classes)}) "
            f"| {np.mean(fid):.0f} ± {spread:.0f} | **{collapsed}/{len(runs)}** "
            f"| {np.median([r['train_seconds'] for r in runs]):.0f} |"
        )
    return "\n".join(lines)


def read_rows(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> None:
    defaults = cli.build_parser().parse_args(["train", "gan"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--before", action="store_true")
    parser.add_argument("--width", type=int, default=DCGAN_WIDTH)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--output", default="gan_losses.jsonl")
    parser.add_argument("--report", action="store_true", help="table of --output")
    args = parser.parse_args()
    if args.report:
        print(table(read_rows(args.output)))
        return
    arrays = load_arrays("mnist5k")
    x = arrays.x_train
    extractor = FeatureExtractor.from_dataset("mnist5k")
    rng = np.random.default_rng(0)
    real = x[rng.permutation(len(x))[:NUM_SAMPLES]]
    data_distance = mean_pairwise_distance(real)
    floor = frechet_distance(
        extractor(real)[0], extractor(arrays.x_test[:NUM_SAMPLES])[0]
    )
    held_out = mean_pairwise_distance(arrays.x_test[:NUM_SAMPLES]) / data_distance
    print(
        f"floor: FID of {NUM_SAMPLES} test vs {NUM_SAMPLES} training images "
        f"{floor:.1f}; their diversity ratio {held_out:.3f}",
        flush=True,
    )
    configs = [(loss, "batch") for loss in args.losses]
    if args.before:
        configs.append(("least_squares", None))
    for seed in args.seeds:
        for loss, normalization in configs:
            row = train_one(
                x, loss, seed, args, normalization, extractor, data_distance
            )
            print(json.dumps(row), flush=True)
            with open(args.output, "a") as f:
                f.write(json.dumps(row) + "\n")
    print(table(read_rows(args.output)))


if __name__ == "__main__":
    main()
