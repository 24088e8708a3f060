"""Peak memory of a training epoch over 2,000 vs 20,000 images, and named sets.

Run: python benchmarks/data_memory.py [--small 2000] [--large 20000]

Writes `--large` 64x64 RGB PNG textures (see `input_pipeline.write_pngs`) in 10
class folders, and a second folder holding hard links to the first `--small` of
them. Every measurement runs in a fresh interpreter, which builds
`load_dataset(f"folder:{dir}", image_size=64, channels=3, batch_size=64,
cache=...)` and iterates one full training epoch (a second one with a cache, which
then serves it). Printed: the peak resident memory (VmHWM of /proc/self/status)
after importing TensorFlow and after the epoch, and the growth from the small to
the large folder next to the bytes of the cache asked for (none, or
`num_train * 64 * 64 * 3 * 4` for `cache="memory"`).

`--named` also compares one epoch over CIFAR-10-sized uint8 arrays (50,000 x 32 x 32
x 3, random, via an npz file) with `load_dataset` against `from_tensor_slices` on
the float32 arrays plus a full shuffle buffer.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(args) -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf

    from keras_genmodels.data import load_arrays, load_dataset

    tf.constant(0.0) + 1  # runtime started
    base = peak_rss_mb()
    epochs = 1
    if args.child == "named":
        train_ds, _ = load_dataset(f"npz:{args.folder}", batch_size=64)
    elif args.child == "slices":
        a = load_arrays(f"npz:{args.folder}")
        train_ds = tf.data.Dataset.from_tensor_slices((a.x_train, a.y_train))
        train_ds = train_ds.shuffle(len(a.x_train), seed=0).batch(64)
        del a
    else:
        cache = None if args.cache == "none" else args.cache
        train_ds, _ = load_dataset(
            f"folder:{args.folder}",
            image_size=64,
            channels=3,
            batch_size=64,
            cache=cache,
        )
        epochs = 1 if cache is None else 2
    built = peak_rss_mb()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM: the epoch's own peak from here
    count = 0
    for _ in range(epochs):
        count = sum(int(tf.shape(x)[0]) for x, _ in train_ds)
    print(
        json.dumps(
            {"base": base, "built": built, "peak": peak_rss_mb(), "count": count}
        )
    )


def run(folder, mode: str, cache: str = "none") -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--folder",
            str(folder),
            "--cache",
            cache,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--caches", default="none,memory")
    parser.add_argument("--named", action="store_true")
    parser.add_argument("--child", default=None)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--cache", default="none")
    args = parser.parse_args()
    if args.child:
        return child(args)
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from input_pipeline import write_pngs

    with tempfile.TemporaryDirectory() as tmp:
        large, small = pathlib.Path(tmp, "large"), pathlib.Path(tmp, "small")
        write_pngs(large, args.large if args.caches else 0)
        for path in sorted(large.rglob("*.png"))[: args.small]:
            target = small / path.relative_to(large)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)
        print(
            "| data | images | train images | MB after import | peak MB while "
            "building | peak MB of the epoch(s) |"
        )
        print("| --- | --- | --- | --- | --- | --- |")
        for cache in filter(None, args.caches.split(",")):
            rows = []
            for folder, n in ((small, args.small), (large, args.large)):
                r = run(folder, "folder", cache)
                rows.append(r)
                print(
                    f"| folder, cache={cache} | {n} | {r['count']} | {r['base']:.0f} | "
                    f"{r['built']:.0f} | {r['peak']:.0f} |"
                )
            grown = rows[1]["peak"] - rows[0]["peak"]
            cached = (
                0
                if cache == "none"
                else ((rows[1]["count"] - rows[0]["count"]) * 64 * 64 * 3 * 4 / 2**20)
            )
            print(
                f"| {cache} | growth | | | | {grown:+.0f} MB (cache difference: "
                f"{cached:.0f} MB) |"
            )
        if args.named:
            rng = np.random.default_rng(0)
            x = rng.integers(0, 256, (50_000, 32, 32, 3), np.uint8)
            path = pathlib.Path(tmp, "cifar_like.npz")
            np.savez(path, x_train=x, x_test=x[:1000], y_train=x[:, 0, 0, 0] % 10)
            del x
            for mode in ("slices", "named"):
                r = run(path, mode)
                print(
                    f"| npz 50000x32x32x3 via {mode} | 50000 | {r['count']} | "
                    f"{r['base']:.0f} | {r['built']:.0f} | {r['peak']:.0f} |"
                )


if __name__ == "__main__":
    main()
