"""The real-vs-real floor of FID/KID in the package's classifier features.

Two disjoint random halves of MNIST-5k's training split, and the held-out split
against the training split, each at the sample counts the quality tables use:
what a perfect generator would score, so FIDs of models can be read on a scale.

    python benchmarks/fid_floor.py [--dataset mnist5k] [--seeds 0 1 2]
"""

import argparse
import json

import numpy as np

from keras_genmodels.data import load_arrays
from keras_genmodels.evaluation import (
    FeatureExtractor,
    frechet_distance,
    kernel_distance,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    data = load_arrays(args.dataset)
    extractor = FeatureExtractor.from_dataset(args.dataset)
    train, _ = extractor(data.x_train)
    test, _ = extractor(data.x_test)
    rows = []
    for seed in args.seeds:
        order = np.random.default_rng(seed).permutation(len(train))
        half = min(2000, len(train) // 2)
        a, b = train[order[:half]], train[order[half : 2 * half]]
        c = train[order[: len(test)]]
        rows.append(
            {
                "seed": seed,
                f"fid_train_vs_train_{half}": frechet_distance(a, b),
                f"kid_train_vs_train_{half}": kernel_distance(
                    a, b, 100, 1000, seed
                ).mean,
                f"fid_test_vs_train_{len(test)}": frechet_distance(test, c),
            }
        )
    summary = {
        key: [
            float(np.mean([r[key] for r in rows])),
            float(np.std([r[key] for r in rows])),
        ]
        for key in rows[0]
        if key != "seed"
    }
    print(
        json.dumps(
            {"rows": rows, "mean_std": summary, "extractor": extractor.protocol},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
