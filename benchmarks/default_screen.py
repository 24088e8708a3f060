"""Screening of CLI default candidates on MNIST-5k: quality at a fixed training time.

Run (one training at a time; each run appends one JSON line to --output):

    python benchmarks/default_screen.py gan --width 64 --batch-size 64 \
        --learning-rate 2e-4                       # the previous CLI defaults
    python benchmarks/default_screen.py gan --width 32 --batch-size 32 \
        --learning-rate 1e-3 --d-width 32          # today's, without the EMA
    python benchmarks/default_screen.py vae --output-bias
    python benchmarks/default_screen.py --report   # one table per family

A fast, single-seed search in one process, to pick the settings worth three
seeds of `time_to_quality.py` (which trains through the CLI as a user does):

- `gan`: `GAN` with the DCGAN networks (`networks.build_generator(width=...)`,
  `build_discriminator(width=--d-width)`), Adam(lr, beta_1=0.5) for both,
  trained until `--limit` seconds of `fit` time; every `--every` seconds (at an
  epoch end) the model is scored by `evaluate_generator` (2000 samples vs 2000
  training images in the cached MNIST-5k classifier features, seed 0), with the
  clock paused.
- `vae`: `VAE` with the default conv networks (latent `--latent-dim`), Adam(lr), the
  held-out negative ELBO on the 500 test digits after every epoch, until
  `--limit` seconds; then the IWAE NLL with K = 200. `--output-bias` starts the
  decoder's output bias at logit(mean training pixel), so the first steps do not
  have to learn the mean image; `--cosine` decays the learning rate to 5% over
  `--decay-steps`.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def gan_model(args):
    """`GAN` with the DCGAN networks at `--width`/`--d-width`, compiled."""
    import keras

    from keras_genmodels import GAN, networks

    shape = (28, 28, 1)
    gan = GAN(
        generator=networks.build_generator(shape, 64, width=args.width),
        discriminator=networks.build_discriminator(shape, width=args.d_width),
        seed=args.seed,
        ema_decay=args.ema or None,  # 0: no average, as the CLI's --ema 0
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=0.5),
        loss=args.loss,
    )
    return gan


def vae_model(args, x_train):
    """`VAE` with the default conv networks, optionally the output bias, compiled."""
    import keras
    import numpy as np

    from keras_genmodels import VAE, networks

    shape = (28, 28, 1)
    encoder = networks.build_encoder(shape, args.latent_dim)
    decoder = networks.build_decoder(shape, args.latent_dim)
    if args.output_bias:
        mean = float(np.clip(np.mean(x_train), 1e-3, 1 - 1e-3))
        decoder.layers[-1].bias.assign([np.log(mean / (1.0 - mean))])
    vae = VAE(encoder, decoder, latent_dim=args.latent_dim, seed=args.seed)
    rate = args.learning_rate
    if args.cosine:
        rate = keras.optimizers.schedules.CosineDecay(rate, args.decay_steps, 0.05)
    vae.compile(optimizer=keras.optimizers.Adam(rate))
    return vae


class Clock:
    """`fit` seconds at each epoch end, without the time spent scoring."""

    def __init__(self):
        self.seconds = 0.0
        self.started = None

    def start(self):
        self.started = time.perf_counter()

    def stop(self):
        self.seconds += time.perf_counter() - self.started


def run(args) -> dict:
    """Trains one setting until `--limit` fit seconds; returns its JSON record."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_genmodels.data import load_arrays

    keras.utils.set_random_seed(args.seed)
    arrays = load_arrays("mnist5k")
    x, x_test = arrays.x_train, arrays.x_test
    points, clock = [], Clock()
    if args.family == "gan":
        from keras_genmodels.evaluation import FeatureExtractor, evaluate_generator

        model = gan_model(args)
        extractor = FeatureExtractor.from_dataset("mnist5k")
        validation = None
    else:
        model = vae_model(args, x)
        validation = tf.data.Dataset.from_tensor_slices(x_test).batch(500)
    data = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=args.seed)
    data = data.batch(args.batch_size, drop_remainder=args.family == "gan")
    next_score = [args.every]

    class Measure(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.start()

        def on_epoch_end(self, epoch, logs=None):
            clock.stop()
            point = {"epoch": epoch + 1, "train_seconds": round(clock.seconds, 1)}
            done = clock.seconds >= args.limit
            if args.family == "vae":
                point["neg_elbo"] = round(float(logs["val_loss"]), 2)
                points.append(point)
            elif done or clock.seconds >= next_score[0]:
                report = evaluate_generator(
                    self.model, "mnist5k", 2000, extractor=extractor, seed=0
                )
                point["fid"] = round(float(report["fid"]), 1)
                point["classes"] = report["mode_coverage"]["num_covered"]
                points.append(point)
                next_score[0] += args.every
                print(point, flush=True)
            self.model.stop_training = done

    model.fit(
        data,
        validation_data=validation,
        epochs=10_000,
        verbose=0,
        callbacks=[Measure()],
    )
    record = {k: v for k, v in vars(args).items() if k not in ("report", "output")}
    record["points"] = points
    if args.family == "vae":
        log_px = model.log_likelihood(x_test, num_samples=200, batch_size=100, seed=0)
        record["iwae_nll_k200"] = round(-float(np.mean(log_px)), 2)
    return record


def report(path: str) -> None:
    """Prints one Markdown table per family of the records in `path`."""
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for family, key in (("gan", "fid"), ("vae", "neg_elbo")):
        rows = [r for r in records if r["family"] == family]
        if not rows:
            continue
        print(f"\n{family.upper()}: {key} at the last epoch end >= --limit")
        names = SETTINGS[family]
        print(
            "\n| " + " | ".join(names) + " | seed | epochs | train s | "
            f"{key} | s/epoch |" + (" IWAE NLL K=200 |" if family == "vae" else "")
        )
        print("| --- " * (len(names) + 5 + (family == "vae")) + "|")
        for r in rows:
            last = r["points"][-1]
            cells = [str(r[n]) for n in names] + [
                str(r["seed"]),
                str(last["epoch"]),
                f"{last['train_seconds']:.0f}",
                f"{last[key]:.1f}",
                f"{last['train_seconds'] / last['epoch']:.1f}",
            ]
            if family == "vae":
                cells.append(f"{r['iwae_nll_k200']:.1f}")
            print("| " + " | ".join(cells) + " |")


SETTINGS = {
    "gan": ["width", "d_width", "batch_size", "learning_rate", "loss", "ema"],
    "vae": ["batch_size", "learning_rate", "latent_dim", "output_bias", "cosine"],
}


def main() -> None:
    """Runs one setting (appending its record to --output), or --report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", nargs="?", choices=("gan", "vae"))
    parser.add_argument("--width", type=int, default=64, help="gan: G's width")
    parser.add_argument("--d-width", type=int, default=64, help="gan: D's width")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--loss", default="non_saturating")
    parser.add_argument("--ema", type=float, default=None)
    parser.add_argument("--latent-dim", type=int, default=16, help="vae")
    parser.add_argument("--output-bias", action="store_true", help="vae")
    parser.add_argument("--cosine", action="store_true", help="vae")
    parser.add_argument("--decay-steps", type=int, default=2100)
    parser.add_argument("--limit", type=float, default=None, help="fit seconds")
    parser.add_argument("--every", type=float, default=60.0, help="gan: scoring")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="default_screen.jsonl")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report(args.output)
        return
    if args.family is None:
        parser.error("name a family (gan or vae), or pass --report")
    if args.learning_rate is None:
        args.learning_rate = 2e-4 if args.family == "gan" else 1e-3
    if args.limit is None:
        args.limit = 180.0 if args.family == "gan" else 80.0
    record = run(args)
    with open(args.output, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record["points"][-1]))


if __name__ == "__main__":
    main()
