"""Decode + resize throughput of `load_dataset("folder:...")` on PNG folders.

Run: python benchmarks/input_pipeline.py [--images 2000] [--epochs 5] [--gan-steps 8]

Writes `--images` PNG files (64x64 RGB textures, and 128x96 ones for a real
downscale with centre crop) into a temporary folder, builds the train pipeline of
`load_dataset(f"folder:{dir}", image_size=64, channels=3, batch_size=64)` without
a cache, and iterates it: one warm-up epoch, then `--epochs` timed epochs. Printed:
the median images per second (every epoch reads, decodes, resizes and batches every
file again) and the CPU seconds per image of the whole process.

Then the consumer: the CLI's `train gan --arch resnet --loss hinge --beta1 0` GAN
at 64x64x3 (the documented RGB recipe, width 64) trains on in-memory images for
one warm-up epoch and one timed epoch of `--gan-steps` steps of 64; printed: the
images per second it consumes and its CPU ms per image. Their CPU-time ratio (the
pipeline's images per CPU second over the GAN's) is how many such GANs one
pipeline feeds, independent of what else runs on the machine.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import tempfile
import time

import numpy as np


def write_pngs(folder: pathlib.Path, count: int, size=(64, 64), seed=0) -> None:
    """`count` PNG textures: smooth colour noise with stripes, in 10 class folders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    height, width = size
    rows, cols = np.mgrid[0:height, 0:width] / max(size)
    for c in range(10):
        (folder / f"class_{c}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        low = rng.uniform(size=(4, 4, 3))
        base = np.asarray(
            Image.fromarray((low * 255).astype(np.uint8)).resize((width, height))
        )
        freq, phase = rng.uniform(2, 12), rng.uniform(0, 2 * np.pi)
        stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * (rows + cols) + phase)
        image = base * (0.6 + 0.4 * stripes[..., None]) + rng.normal(0, 6, base.shape)
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(
            folder / f"class_{i % 10}" / f"{i:06d}.png"
        )


def measure(folder: pathlib.Path, epochs: int) -> tuple[float, float, int]:
    from keras_genmodels.data import load_dataset

    train_ds, _ = result = load_dataset(
        f"folder:{folder}", image_size=64, channels=3, batch_size=64
    )
    count = sum(1 for _ in train_ds.unbatch())  # warm-up epoch
    assert count == result.info.num_train
    rates, cpu = [], []
    for _ in range(epochs):
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in train_ds:
            pass
        rates.append(count / (time.perf_counter() - started))
        cpu.append((time.process_time() - cpu_started) / count)
    return statistics.median(rates), statistics.median(cpu), count


def gan_consumption(steps: int) -> tuple[float, float]:
    """Images/s and CPU s/image of the ResNet hinge GAN's training at 64x64x3."""
    import keras

    from keras_genmodels import GAN, networks

    shape, latent = (64, 64, 3), 64
    gan = GAN(
        networks.build_resnet_generator(shape, latent, 64),
        networks.build_resnet_discriminator(shape, 64),
        seed=0,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0),
        loss="hinge",
    )
    x = np.random.default_rng(0).uniform(size=(64 * steps, *shape)).astype("float32")
    gan.fit(x, batch_size=64, epochs=1, verbose=0)  # warm-up: tracing
    started, cpu_started = time.perf_counter(), time.process_time()
    gan.fit(x, batch_size=64, epochs=1, verbose=0)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return len(x) / seconds, cpu / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--gan-steps", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print(f"cores: {os.cpu_count()}, images: {args.images}, epochs: {args.epochs}")
    print("| source PNGs | output | train images | images/s (median) | CPU ms/image |")
    print("| --- | --- | --- | --- | --- |")
    for size in ((64, 64), (128, 96)):
        with tempfile.TemporaryDirectory() as tmp:
            folder = pathlib.Path(tmp)
            write_pngs(folder, args.images, size=size)
            rate, cpu, count = measure(folder, args.epochs)
        label = f"{size[0]}x{size[1]} RGB"
        print(f"| {label} | 64x64x3 | {count} | {rate:.0f} | {1000 * cpu:.3f} |")
        if size == (64, 64):
            feed_cpu = cpu
    gan_rate, gan_cpu = gan_consumption(args.gan_steps)
    print(
        f"\nResNet hinge GAN at 64x64x3 consumes {gan_rate:.1f} images/s, "
        f"{1000 * gan_cpu:.1f} CPU ms/image: one pipeline feeds "
        f"{gan_cpu / feed_cpu:.0f} such GANs (CPU-time ratio)"
    )


if __name__ == "__main__":
    main()
