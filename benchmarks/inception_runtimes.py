"""InceptionV3 pool-3 features: images/s and GFLOP/s per runtime, same weights.

    python benchmarks/inception_runtimes.py [--images 256] [--rounds 5]

Runtimes, on the same (random, offline) InceptionV3 weights and the same
preprocessed 299x299 batches of 32:
- `predict`: `keras.Model.predict`;
- `tf.function`: the package's extractor forward (`runtime="tf"`);
- `xla`: the same forward compiled with XLA (`runtime="xla"`);
- `onnxruntime`: the network converted with tf2onnx (`runtime="onnx"`).
Rounds alternate between the runtimes; the table gives the median images/s and
the median ratio to `tf.function` within each round, the max |difference| of
the features to `tf.function`'s over the largest feature magnitude, and the
GFLOP/s at InceptionV3's ~5.7 G multiply-adds (11.5 GFLOP) per 299x299 image.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

GFLOP_PER_IMAGE = 11.5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    import keras

    from keras_genmodels.evaluation.inception import InceptionExtractor

    path = os.path.join(tempfile.mkdtemp(), "random.weights.h5")
    keras.utils.set_random_seed(0)
    keras.applications.InceptionV3(
        weights=None, include_top=False, pooling="avg", input_shape=(299, 299, 3)
    ).save_weights(path)
    images = np.random.default_rng(0).uniform(size=(args.images, 64, 64, 3))
    images = images.astype(np.float32)
    extractors = {}
    for runtime in ("tf", "xla", "onnx"):
        started = time.process_time()
        extractors[runtime] = InceptionExtractor(path, runtime=runtime)
        extractors[runtime](images[:32])  # warm-up: tracing, compiling
        print(f"{runtime}: set up in {time.process_time() - started:.1f} CPU s")
    reference = extractors["tf"](images)[0]
    scale = np.abs(reference).max()
    rates = {name: [] for name in ("predict", *extractors)}
    ratios = {name: [] for name in rates}
    from keras_genmodels.evaluation.inception import preprocess

    model = extractors["tf"].model
    for _ in range(args.rounds):
        round_rates = {}
        for name in rates:
            started = time.perf_counter()
            if name == "predict":
                for start in range(0, len(images), 32):
                    batch = preprocess(images[start : start + 32])
                    model.predict(batch, verbose=0)
            else:
                extractors[name](images)
            round_rates[name] = len(images) / (time.perf_counter() - started)
        for name, rate in round_rates.items():
            rates[name].append(rate)
            ratios[name].append(rate / round_rates["tf"])
    print(f"\n{args.images} images (64x64 -> 299x299), {args.rounds} rounds")
    print("| runtime | images/s (median) | ratio to tf.function | GFLOP/s | max diff |")
    print("| --- | --- | --- | --- | --- |")
    for name in rates:
        rate = statistics.median(rates[name])
        diff = "-"
        if name in extractors:
            error = np.abs(extractors[name](images)[0] - reference).max() / scale
            diff = f"{error:.1e}"
        print(
            f"| {name} | {rate:.1f} | {statistics.median(ratios[name]):.2f} | "
            f"{rate * GFLOP_PER_IMAGE:.0f} | {diff} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
