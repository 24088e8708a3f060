"""Decode + resize throughput of `load_dataset("folder:...")` on PNG folders.

Run: python benchmarks/input_pipeline.py [--images 2000] [--epochs 5]

Writes `--images` PNG files (64x64 RGB textures, and 128x96 ones for a real
downscale with centre crop) into a temporary folder, builds the train pipeline of
`load_dataset(f"folder:{dir}", image_size=64, channels=3, batch_size=64)` without
a cache, and iterates it: one warm-up epoch, then `--epochs` timed epochs. Printed:
the median images per second (every epoch reads, decodes, resizes and batches every
file again) and the CPU seconds per image of the whole process.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
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


if __name__ == "__main__":
    main()
