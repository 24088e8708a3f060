"""Mode collapse per GAN loss on MNIST-5k with the default networks.

Run: python benchmarks/gan_losses.py [--epochs 3] [--seeds 0 1] [--before]

For each loss (non_saturating, minimax, wasserstein with a gradient penalty of
10, hinge, least_squares) and seed, trains `GAN` with the default generator and
discriminator for `--epochs` epochs on MNIST-5k (batch 64, latent 64,
Adam(2e-4, beta_1=0.5) for both networks), then reports:

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
`--output` and a Markdown table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_genmodels import GAN, networks  # noqa: E402
from keras_genmodels.data import load_arrays  # noqa: E402
from keras_genmodels.evaluation import (  # noqa: E402
    FeatureExtractor,
    evaluate_generator,
    frechet_distance,
)

LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")
SHAPE, LATENT, BATCH, NUM_SAMPLES = (28, 28, 1), 64, 64, 500


def mean_pairwise_distance(images) -> float:
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    squares = (x**2).sum(axis=1)
    d2 = np.maximum(squares[:, None] + squares[None, :] - 2.0 * x @ x.T, 0.0)
    return float(np.sqrt(d2[np.triu_indices(len(x), k=1)]).mean())


def train_one(x, loss, seed, epochs, normalization, extractor, data_distance):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    gan = GAN(
        generator=networks.build_generator(SHAPE, LATENT, normalization=normalization),
        discriminator=networks.build_discriminator(SHAPE),
        seed=seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss=loss,
    )
    start = time.perf_counter()
    gan.fit(x, batch_size=BATCH, epochs=epochs, verbose=0)
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
        "seed": seed,
        "epochs": epochs,
        "train_seconds": round(seconds, 1),
        "diversity_ratio": round(ratio, 3),
        "classes_covered": coverage["num_covered"],
        "largest_class_fraction": round(largest, 3),
        "fid": round(float(report["fid"]), 2),
        "collapsed": bool(largest > 0.5 or ratio < 0.5),
    }


def table(rows) -> str:
    lines = [
        "| loss | generator | seeds | diversity ratio | classes covered | FID "
        "| collapse rate | train s/run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted({(r["loss"], r["generator"]) for r in rows}, key=str)
    for loss, generator in keys:
        runs = [r for r in rows if (r["loss"], r["generator"]) == (loss, generator)]

        def spread(key, digits, runs=runs):
            values = [r[key] for r in runs]
            return " / ".join(f"{v:.{digits}f}" for v in values)

        collapsed = sum(r["collapsed"] for r in runs)
        lines.append(
            f"| {loss} | {generator} | {len(runs)} | {spread('diversity_ratio', 2)} "
            f"| {' / '.join(str(r['classes_covered']) for r in runs)} "
            f"| {spread('fid', 1)} | {collapsed}/{len(runs)} "
            f"| {np.median([r['train_seconds'] for r in runs]):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--losses", nargs="+", default=list(LOSSES), choices=LOSSES)
    parser.add_argument("--before", action="store_true")
    parser.add_argument("--output", default="gan_losses.jsonl")
    args = parser.parse_args()
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
    rows = []
    for seed in args.seeds:
        for loss, normalization in configs:
            row = train_one(
                x, loss, seed, args.epochs, normalization, extractor, data_distance
            )
            print(json.dumps(row), flush=True)
            with open(args.output, "a") as f:
                f.write(json.dumps(row) + "\n")
            rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    main()
