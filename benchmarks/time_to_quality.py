"""Quality per training second on MNIST-5k: GAN FID and VAE held-out ELBO curves.

Run (one training at a time; reruns reuse finished run folders):

    python benchmarks/time_to_quality.py --family gan --candidates default before \
        --seeds 0 1 2
    python benchmarks/time_to_quality.py --family gan --candidates reference \
        --seeds 0 1 2
    python benchmarks/time_to_quality.py --family vae --candidates default b128 \
        --seeds 0 1 2
    python benchmarks/time_to_quality.py --report   # tables + time_to_quality.png

Every package run is `python -m keras_genmodels train gan|vae OPTIONS --seed S
--verbose 0 --output-dir RUNS/NAME-sS`, exactly as a user runs it:

- GAN runs add `--snapshot-every 5`; each `snapshots/epoch-NNNN.keras` is then
  loaded and scored by `evaluate_generator` (`--num-samples` generated vs as many
  MNIST-5k training images, the package's cached classifier features, sampling
  seed 0): FID, KID, classes covered, the largest class fraction and the
  diversity ratio (mean pairwise L2 distance of 500 samples over that of 500
  training images). A run counts as collapsed when one class holds > 50% of the
  samples or the diversity ratio is < 0.5 (as in `gan_losses.py`). The clock is
  `history.json`'s `train_seconds` (fit wall time at each epoch end, without
  the snapshot saving).
- VAE runs read `history.json`: `val_loss` per epoch is the held-out negative
  ELBO (the 500 test digits), against `train_seconds`; `metrics.json` gives the
  final test negative ELBO and IWAE NLL (K=1000).
- "reference" is the keras.io train_step of `reference_models.py` on the same
  data, in its own process, a user's alternative recipe: the DCGAN on the Python
  API's default networks (`build_generator`/`build_discriminator`, width 64) with
  keras.io's Adam(1e-4), batch 64, no EMA, scored at the same epochs by the same
  code; the VAE on the default conv networks with keras.io's Adam() (1e-3), batch
  128, its held-out negative ELBO computed on the same test split after each
  epoch. Its clock is paused while it is being scored.

The budget is the default candidate's median `train_seconds` at its last epoch
over its seeds; the default runs are read at their last epoch, every other run at
its last scored epoch with `train_seconds` <= budget * (1 + `--tolerance`).
The machine's load average at the start and end of the training of each run is
recorded in `ttq.json` in its folder (another process can slow a run).
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
BF16 = ["--dtype-policy", "mixed_bfloat16"]
# The previous CLI GAN defaults, in float32 as their runs were.
PREVIOUS_GAN = ["--width", "64", "--batch-size", "64", "--learning-rate", "2e-4"]
PREVIOUS_GAN += ["--dtype-policy", "float32"]
FLOAT32 = ["--dtype-policy", "float32"]
CANDIDATES = {
    "gan": {
        "default": [],
        "before": PREVIOUS_GAN + ["--ema", "0"],
        "before-hinge": PREVIOUS_GAN + ["--ema", "0", "--loss", "hinge"],
        "before-hinge-ema": PREVIOUS_GAN + ["--loss", "hinge", "--ema", "0.999"],
        "no-ema": ["--ema", "0"],
        "b64-lr1e-3": ["--batch-size", "64", "--learning-rate", "1e-3"],
        "diffaugment": ["--augment", "diffaugment"],
    },
    "vae": {
        "default": [],
        # Batch 128 is the previous CLI VAE default; these runs were in float32.
        "b128": ["--batch-size", "128"] + FLOAT32,
        "b128-lr2e-3": ["--batch-size", "128", "--learning-rate", "2e-3"] + FLOAT32,
        "b128-lr3e-3": ["--batch-size", "128", "--learning-rate", "3e-3"] + FLOAT32,
        "lr2e-3": ["--learning-rate", "2e-3"] + FLOAT32,
        "b32": ["--batch-size", "32"] + FLOAT32,
        "bf16": ["--dtype-policy", "mixed_bfloat16"],
        "float32": FLOAT32,
    },
}
EPOCHS = {"gan": 20, "vae": 30}
EVERY = 5  # GAN snapshot interval in epochs
SHAPE, GAN_LATENT, GAN_BATCH, VAE_LATENT, VAE_BATCH = (28, 28, 1), 64, 64, 16, 128


def options_of(family: str, name: str) -> list[str]:
    """CLI options of a candidate; a "+bf16" suffix adds mixed_bfloat16."""
    base, bf16 = (name[:-5], True) if name.endswith("+bf16") else (name, False)
    return CANDIDATES[family][base] + (BF16 if bf16 else [])


def folder_of(runs: pathlib.Path, family: str, name: str, seed: int) -> pathlib.Path:
    return runs / f"{family}-{name}-s{seed}"


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


# ---- sample scoring -------------------------------------------------------------
class Scorer:
    """`evaluate_generator` with one classifier, plus the diversity ratio."""

    def __init__(self, num_samples: int):
        import numpy as np

        from keras_genmodels.data import load_arrays
        from keras_genmodels.evaluation import FeatureExtractor

        self.num_samples = num_samples
        self.extractor = FeatureExtractor.from_dataset("mnist5k")
        x = load_arrays("mnist5k").x_train
        pick = np.random.default_rng(0).choice(len(x), 500, replace=False)
        self.data_distance = mean_pairwise_distance(x[pick])

    def __call__(self, model) -> dict:
        import numpy as np

        from keras_genmodels.evaluation import evaluate_generator

        report = evaluate_generator(
            model, "mnist5k", self.num_samples, extractor=self.extractor, seed=0
        )
        coverage = report["mode_coverage"]
        histogram = np.asarray(coverage["histogram"], float)
        largest = float(histogram.max() / max(histogram.sum(), 1e-12))
        samples = np.asarray(model.generate(500, seed=1000))
        diversity = mean_pairwise_distance(samples) / self.data_distance
        return {
            "fid": report["fid"],
            "kid_mean": report["kid_mean"],
            "precision": report["precision"],
            "recall": report["recall"],
            "classes": coverage["num_covered"],
            "largest_class": largest,
            "diversity": diversity,
            "collapsed": bool(largest > 0.5 or diversity < 0.5),
        }


def mean_pairwise_distance(images) -> float:
    import numpy as np

    x = np.asarray(images, np.float64).reshape(len(images), -1)
    norms = (x * x).sum(axis=1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2.0 * (x @ x.T), 0.0)
    upper = np.triu_indices(len(x), k=1)
    return float(np.sqrt(squared[upper]).mean())


# ---- package runs ---------------------------------------------------------------
def train_cli(
    folder: pathlib.Path,
    family: str,
    name: str,
    seed: int,
    count: int,
    scorer_box: list,
) -> dict:
    """Trains (unless finished) and scores one CLI run; returns its ttq.json."""
    record_path = folder / "ttq.json"
    if record_path.is_file():
        return json.loads(record_path.read_text())
    load = os.getloadavg()
    started = time.time()
    if not (folder / "metrics.json").is_file():  # a killed run starts over
        shutil.rmtree(folder, ignore_errors=True)
        command = [sys.executable, "-m", "keras_genmodels", "train", family]
        command += options_of(family, name) + ["--epochs", str(EPOCHS[family])]
        command += ["--seed", str(seed), "--verbose", "0", "--output-dir", str(folder)]
        if family == "gan":
            command += ["--snapshot-every", str(EVERY)]
        run(command)
    history = json.loads((folder / "history.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    seconds = history["train_seconds"]
    record = {
        "family": family,
        "candidate": name,
        "seed": seed,
        "options": options_of(family, name),
        "load_at_start": list(load),
        "load_at_end": list(os.getloadavg()),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "train_seconds": metrics["train_seconds"],
        "dtype_policy": metrics.get("dtype_policy"),
    }
    if family == "vae":
        record["points"] = [
            {"epoch": i + 1, "train_seconds": s, "neg_elbo": v}
            for i, (s, v) in enumerate(zip(seconds, history["val_loss"], strict=True))
        ]
        record["test_negative_elbo"] = metrics.get("test_negative_elbo")
        record["test_iwae_nll"] = metrics.get("test_iwae_nll")
    else:
        from keras_genmodels import load_model

        if not scorer_box:
            scorer_box.append(Scorer(count))
        points = []
        for path in sorted((folder / "snapshots").glob("epoch-*.keras")):
            epoch = int(path.stem.split("-")[1])
            point = {"epoch": epoch, "train_seconds": seconds[epoch - 1]}
            point.update(scorer_box[0](load_model(path)))
            points.append(point)
            print(
                f"  {folder.name} epoch {epoch}: {point['train_seconds']:.0f} s, "
                f"FID {point['fid']:.1f}, {point['classes']}/10",
                flush=True,
            )
        record["points"], record["num_samples"] = points, count
    record_path.write_text(json.dumps(record, indent=1))
    return record


# ---- keras.io references, each in its own process ------------------------------
def train_reference(family: str, folder: pathlib.Path, seed: int, count: int) -> None:
    import keras
    import numpy as np
    import tensorflow as tf
    from reference_models import ReferenceGAN, ReferenceVAE

    from keras_genmodels import GAN, data

    keras.utils.set_random_seed(seed)
    batch = GAN_BATCH if family == "gan" else VAE_BATCH
    train, test = data.load_dataset("mnist5k", batch_size=batch, seed=seed)
    points = []
    if family == "gan":
        model = ReferenceGAN(SHAPE, GAN_LATENT)
        model.compile(learning_rate=1e-4, beta_1=0.9)  # keras.io: Adam(1e-4)
        scorer = Scorer(count)

        def score(epoch):
            if epoch % EVERY:
                return {}
            sampler = GAN(model.generator, model.discriminator, seed=0)
            return scorer(sampler)
    else:
        model = ReferenceVAE(SHAPE, VAE_LATENT)
        model.compile(optimizer=keras.optimizers.Adam())  # keras.io: Adam()

        def score(epoch):
            total, n = 0.0, 0
            for x in test:
                x = x[0] if isinstance(x, tuple) else x
                z_mean, z_log_var = tf.split(model.encoder(x), 2, axis=-1)
                noise = tf.random.normal(tf.shape(z_mean))
                logits = model.decoder(z_mean + tf.exp(0.5 * z_log_var) * noise)
                reconstruction = tf.reduce_sum(
                    keras.losses.binary_crossentropy(x, logits, from_logits=True),
                    axis=(1, 2),
                )
                kl = -0.5 * tf.reduce_sum(
                    1 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var), axis=1
                )
                total += float(np.sum(reconstruction + kl))
                n += int(x.shape[0])
            return {"neg_elbo": total / n}

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.paused = time.perf_counter(), 0.0

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            point = {
                "epoch": epoch + 1,
                "train_seconds": now - self.start - self.paused,
            }
            values = score(epoch + 1)
            if values:
                points.append({**point, **values})
            self.paused += time.perf_counter() - now

    load = os.getloadavg()
    started = time.time()
    model.fit(train, epochs=EPOCHS[family], verbose=0, callbacks=[Clock()])
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "family": family,
        "candidate": "reference",
        "seed": seed,
        "options": [
            "keras.io train_step",
            "Adam(1e-4)" if family == "gan" else "Adam(1e-3)",
        ],
        "load_at_start": list(load),
        "load_at_end": list(os.getloadavg()),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "train_seconds": points[-1]["train_seconds"],
        "points": points,
    }
    if family == "gan":
        record["num_samples"] = count
    (folder / "ttq.json").write_text(json.dumps(record, indent=1))


def reference_run(family, folder: pathlib.Path, seed: int, count: int) -> dict:
    if not (folder / "ttq.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        run(
            [
                sys.executable,
                __file__,
                "--reference-child",
                family,
                str(folder),
                str(seed),
                "--num-samples",
                str(count),
            ]
        )
    return json.loads((folder / "ttq.json").read_text())


# ---- tables and figure -----------------------------------------------------------
def load_records(runs: pathlib.Path, family: str) -> dict[str, list[dict]]:
    records: dict[str, list[dict]] = {}
    for path in sorted(runs.glob(f"{family}-*-s*/ttq.json")):
        record = json.loads(path.read_text())
        records.setdefault(record["candidate"], []).append(record)
    for values in records.values():
        values.sort(key=lambda r: r["seed"])
    return records


def at_budget(record: dict, budget: float, tolerance: float) -> dict:
    """The last scored point within the budget (else the first one)."""
    inside = [
        p for p in record["points"] if p["train_seconds"] <= budget * (1 + tolerance)
    ]
    return inside[-1] if inside else record["points"][0]


def mean_std(values) -> str:
    values = list(values)
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def budget_of(records: dict, family: str) -> float:
    default = records.get("default") or next(iter(records.values()))
    return statistics.median(r["points"][-1]["train_seconds"] for r in default)


def tables(runs: pathlib.Path, tolerance: float) -> dict:
    budgets = {}
    for family in ("gan", "vae"):
        records = load_records(runs, family)
        if not records:
            continue
        budget = budgets[family] = budget_of(records, family)
        print(
            f"\n{family.upper()}: budget {budget:.0f} s (median default train_seconds "
            f"at {EPOCHS[family]} epochs), read at train_seconds <= "
            f"{budget * (1 + tolerance):.0f} s"
        )
        if family == "gan":
            print(
                "\n| candidate | options | seeds | epoch read | train s at read "
                "| FID at budget | FID at 20 epochs | classes | collapsed "
                "| s/epoch | load start/end |"
            )
            print("| --- " * 11 + "|")
        else:
            print(
                "\n| candidate | options | seeds | epoch read | train s at read "
                "| neg. ELBO at budget | neg. ELBO at 30 epochs | IWAE NLL at 30 "
                "| s/epoch | load start/end |"
            )
            print("| --- " * 10 + "|")
        for name, group in records.items():
            if name == "default":  # the budget is the default run's own length
                read = [r["points"][-1] for r in group]
            else:
                read = [at_budget(r, budget, tolerance) for r in group]
            last = [r["points"][-1] for r in group]
            epochs = sorted({p["epoch"] for p in read})
            per_epoch = [p["train_seconds"] / p["epoch"] for p in last]
            loads = ", ".join(
                f"{r['load_at_start'][0]:.1f}/{r['load_at_end'][0]:.1f}" for r in group
            )
            cells = [
                name,
                " ".join(group[0]["options"]) or "(CLI defaults)",
                " ".join(str(r["seed"]) for r in group),
                "/".join(map(str, epochs)),
                mean_std(p["train_seconds"] for p in read),
            ]
            if family == "gan":
                cells += [
                    mean_std(p["fid"] for p in read),
                    mean_std(p["fid"] for p in last),
                    " ".join(f"{p['classes']}" for p in read),
                    f"{sum(p['collapsed'] for p in read)}/{len(read)}",
                ]
            else:
                iwae = [r.get("test_iwae_nll") for r in group]
                cells += [
                    mean_std(p["neg_elbo"] for p in read),
                    mean_std(p["neg_elbo"] for p in last),
                    mean_std(iwae) if None not in iwae else "—",
                ]
            cells += [f"{statistics.median(per_epoch):.2f}", loads]
            print("| " + " | ".join(cells) + " |")
        bf16 = [n for n in records if n.endswith("+bf16")]
        for name in bf16:
            base = records.get(name[:-5])
            if not base:
                continue
            by_seed = {r["seed"]: r for r in base}
            ratios = [
                by_seed[r["seed"]]["points"][-1]["train_seconds"]
                / r["points"][-1]["train_seconds"]
                for r in records[name]
                if r["seed"] in by_seed
            ]
            paired = [r["seed"] for r in records[name] if r["seed"] in by_seed]
            if ratios:
                print(
                    f"\n{name}: speed-up float32 / bf16 train_seconds at "
                    f"{EPOCHS[family]} epochs, median over seeds {paired}: "
                    f"{statistics.median(ratios):.2f}x "
                    f"(per seed {', '.join(f'{x:.2f}' for x in ratios)})"
                )
    return budgets


def figure(
    runs: pathlib.Path,
    budgets: dict,
    path: pathlib.Path,
    floor: float,
    show: list[str] | None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, family, key, label in (
        (axes[0], "gan", "fid", "FID (classifier features, 2000 vs 2000)"),
        (axes[1], "vae", "neg_elbo", "held-out negative ELBO (nats)"),
    ):
        records = load_records(runs, family)
        for name, group in records.items():
            if show and name not in show and len(group) < 3:
                continue
            n = min(len(r["points"]) for r in group)
            t = np.array([[p["train_seconds"] for p in r["points"][:n]] for r in group])
            y = np.array([[p[key] for p in r["points"][:n]] for r in group])
            (line,) = ax.plot(
                t.mean(0),
                y.mean(0),
                marker="o" if family == "gan" else None,
                markersize=3,
                label=f"{name} ({len(group)} seed{'s' if len(group) > 1 else ''})",
            )
            if len(group) > 1:
                ax.fill_between(
                    t.mean(0), y.min(0), y.max(0), alpha=0.2, color=line.get_color()
                )
        if family in budgets:
            ax.axvline(budgets[family], color="k", linestyle=":", label="budget")
        if family == "gan":
            ax.axhline(
                floor,
                color="grey",
                linestyle="--",
                label=f"real vs real floor ({floor:g})",
            )
            ax.axhline(
                113, color="red", linestyle="-.", linewidth=0.8, label="target 113"
            )
            ax.set_yscale("log")
        else:
            ax.axhline(
                100, color="red", linestyle="-.", linewidth=0.8, label="target 100 nats"
            )
            ax.set_ylim(95, 140)
        ax.set_xlabel("train seconds (fit wall time, 2 CPU cores)")
        ax.set_ylabel(label)
        ax.set_title(f"{family.upper()} on MNIST-5k")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=("gan", "vae"))
    parser.add_argument(
        "--candidates",
        nargs="+",
        default=[],
        help="names of CANDIDATES[family], NAME+bf16, or reference",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--runs-dir", default="runs/time_to_quality")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="slack over the budget for timing noise",
    )
    parser.add_argument(
        "--floor",
        type=float,
        default=15.2,
        help="real-vs-real FID (fid_floor.py, 2000 vs 2000)",
    )
    parser.add_argument("--report", action="store_true", help="tables and figure only")
    parser.add_argument("--figure", default=str(HERE / "time_to_quality.png"))
    parser.add_argument("--reference-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_child:
        family, folder, seed = args.reference_child
        train_reference(family, pathlib.Path(folder), int(seed), args.num_samples)
        return
    runs = pathlib.Path(args.runs_dir)
    runs.mkdir(parents=True, exist_ok=True)
    scorer_box: list = []
    for name in args.candidates:
        for seed in args.seeds:
            folder = folder_of(runs, args.family, name, seed)
            started = time.perf_counter()
            if name == "reference":
                record = reference_run(args.family, folder, seed, args.num_samples)
            else:
                record = train_cli(
                    folder, args.family, name, seed, args.num_samples, scorer_box
                )
            print(
                f"{folder.name}: train {record['train_seconds']:.0f} s, load "
                f"{record['load_at_start'][0]:.2f}, wall "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
    budgets = tables(runs, args.tolerance)
    if args.report:
        # Settings with three seeds or more (and "before" with fewer); the
        # one-seed screens stay in the tables.
        figure(runs, budgets, pathlib.Path(args.figure), args.floor, ["before"])


if __name__ == "__main__":
    main()
