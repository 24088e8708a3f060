"""Sample and likelihood quality at a fixed training budget on MNIST-5k.

Run: python benchmarks/quality.py [--gan-epochs 20] [--num-samples 2000]

Trains, each in its own process and exactly as a user would:

- `keras-genmodels train vae` with its defaults (30 epochs) and with
  `--dtype-policy mixed_bfloat16`, then `keras-genmodels evaluate` (test negative
  ELBO, IWAE NLL with K=1000, and the sample metrics);
- `keras-genmodels train gan --loss LOSS` for every loss, pinned to the reference's
  networks and batch (`--width 64 --batch-size 64 --learning-rate 2e-4 --ema 0`,
  the previous CLI defaults; latent 64, Adam beta_1=0.5, WGAN-GP weight 10 with
  `wasserstein`); the default loss with `--ema 0.99` or with `--dtype-policy
  mixed_bfloat16`; `least_squares` with `--spectral-norm`; then
  `keras-genmodels evaluate`;
- the reference DCGAN: the keras.io DCGAN train_step (`reference_models.py`) on the
  same networks, batch and epochs, with keras.io's `Adam(1e-4)` and once more with
  the package's `Adam(2e-4, beta_1=0.5)`, evaluated by the same
  `evaluate_generator`.

Sample metrics use `--num-samples` generated images against as many training images,
in the features of the package's cached MNIST-5k classifier (see
`keras_genmodels.evaluation`). Run folders go to `--output-dir`; the script prints
Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")
PACKAGE_GANS = {f"package GAN, {loss}": ["--loss", loss] for loss in LOSSES}
PACKAGE_GANS["package GAN, non_saturating, --ema 0.99"] = ["--ema", "0.99"]
PACKAGE_GANS["package GAN, least_squares, --spectral-norm"] = [
    "--loss",
    "least_squares",
    "--spectral-norm",
]
PACKAGE_GANS["package GAN, non_saturating, mixed_bfloat16"] = BFLOAT16 = [
    "--dtype-policy",
    "mixed_bfloat16",
]
VAES = {"VAE": [], "VAE, mixed_bfloat16": BFLOAT16}
# name: (folder, learning rate, beta_1)
REFERENCES = {
    "keras.io Adam(1e-4)": ("reference-keras-io", 1e-4, 0.9),
    "Adam(2e-4, 0.5)": ("reference-adam-2e-4", 2e-4, 0.5),
}
SHAPE, GAN_LATENT, GAN_BATCH = (28, 28, 1), 64, 64
# The package runs use the reference's networks (width 64) and batch.
PINNED = ["--width", "64", "--batch-size", "64", "--learning-rate", "2e-4"]
PINNED += ["--ema", "0"]


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def cli(*arguments: str) -> None:
    run([sys.executable, "-m", "keras_genmodels.cli", *arguments])


def train_reference(folder: pathlib.Path, epochs: int, learning_rate, beta_1, count):
    """Trains the reference DCGAN and writes evaluation.json like the CLI's."""
    import keras
    from reference_models import ReferenceGAN

    from keras_genmodels import GAN, data
    from keras_genmodels.evaluation import evaluate_generator

    keras.utils.set_random_seed(0)
    train, _ = data.load_dataset("mnist5k", batch_size=GAN_BATCH)
    reference = ReferenceGAN(SHAPE, GAN_LATENT)
    reference.compile(learning_rate=learning_rate, beta_1=beta_1)
    started = time.perf_counter()
    reference.fit(train, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - started
    sampler = GAN(reference.generator, reference.discriminator, seed=0)
    samples = evaluate_generator(sampler, "mnist5k", num_samples=count)
    folder.mkdir(parents=True, exist_ok=True)
    report = {"samples": samples, "train_seconds": seconds}
    (folder / "evaluation.json").write_text(json.dumps(report, indent=1))


def train_and_evaluate(folder: pathlib.Path, arguments: list[str], count: int) -> dict:
    if not (folder / "evaluation.json").is_file():  # reruns reuse finished runs
        cli("train", *arguments, "--output-dir", str(folder), "--verbose", "0")
        cli("evaluate", str(folder), "--num-samples", str(count))
    report = json.loads((folder / "evaluation.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    report["train_seconds"] = metrics["train_seconds"]
    return report


def reference_report(folder, epochs, name, count) -> dict:
    if not (folder / "evaluation.json").is_file():
        command = [sys.executable, __file__, "--reference", str(folder), name]
        run(command + ["--gan-epochs", str(epochs), "--num-samples", str(count)])
    return json.loads((folder / "evaluation.json").read_text())


def sample_cells(samples: dict) -> str:
    coverage = samples["mode_coverage"]
    return (
        f"{samples['fid']:.1f} | {samples['kid_mean']:.3f} ± {samples['kid_std']:.3f} "
        f"| {samples['precision']:.2f} / {samples['recall']:.2f} "
        f"| {coverage['num_covered']}/{coverage['num_classes']} "
        f"| {coverage['kl_divergence']:.3f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gan-epochs", type=int, default=20)
    parser.add_argument("--vae-epochs", type=int, default=30)
    parser.add_argument("--num-samples", type=int, default=2000)
    parser.add_argument("--output-dir", default="runs/quality")
    parser.add_argument("--only", choices=("vae", "gan"))
    parser.add_argument("--reference", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        folder, name = pathlib.Path(args.reference[0]), args.reference[1]
        _, learning_rate, beta_1 = REFERENCES[name]
        train_reference(
            folder, args.gan_epochs, learning_rate, beta_1, args.num_samples
        )
        return
    out = pathlib.Path(args.output_dir)
    header = "FID | KID | precision / recall | classes | KL(classes)"
    if args.only != "gan":
        title = f"VAE, {args.vae_epochs} epochs | neg. ELBO (nats) | IWAE NLL, K=1000"
        print(f"\n| {title} | {header} | train s |\n" + "| --- " * 9 + "|")
        for name, options in VAES.items():
            folder = out / "-".join(["vae", *(o.strip("-") for o in options)])
            report = train_and_evaluate(
                folder,
                ["vae", *options, "--epochs", str(args.vae_epochs)],
                args.num_samples,
            )
            nll, seconds = report["likelihood"], report["train_seconds"]
            print(
                f"| {name} | {nll['negative_elbo']:.2f} "
                f"| {nll['iwae_nll']:.2f} ± {nll['iwae_nll_stderr']:.2f} "
                f"| {sample_cells(report['samples'])} | {seconds:.0f} |",
                flush=True,
            )
    if args.only == "vae":
        return
    epochs = str(args.gan_epochs)
    rows = {}
    for name, (folder, _, _) in REFERENCES.items():
        folder = out / folder
        rows[f"reference DCGAN, {name}"] = reference_report(
            folder, args.gan_epochs, name, args.num_samples
        )
    for name, options in PACKAGE_GANS.items():
        folder = out / "-".join(["gan", *(o.strip("-") for o in options)])
        rows[name] = train_and_evaluate(
            folder, ["gan", *PINNED, *options, "--epochs", epochs], args.num_samples
        )
    baseline = rows[f"reference DCGAN, {next(iter(REFERENCES))}"]["samples"]["fid"]
    print(f"\n| GAN, {epochs} epochs | {header} | FID / reference | train s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, report in rows.items():
        samples = report["samples"]
        print(
            f"| {name} | {sample_cells(samples)} | {samples['fid'] / baseline:.2f} "
            f"| {report['train_seconds']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
