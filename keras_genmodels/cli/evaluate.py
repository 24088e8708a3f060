"""`keras-genmodels evaluate RUN_DIR`: sample-quality and likelihood of a saved run."""

from __future__ import annotations

import argparse
import json
import pathlib
import time

from keras_genmodels import __version__
from keras_genmodels.cli import common


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `evaluate` to the top-level `commands`."""
    p = commands.add_parser(
        "evaluate",
        help="evaluate a run folder (FID, KID, precision/recall, IWAE)",
        formatter_class=common.HelpFormatter,
        description="Evaluate the model of a run folder written by `train`: FID, "
        "KID, precision/recall and mode coverage of its samples in the features of "
        "a small classifier trained (once, then cached under $KERAS_GENMODELS_HOME "
        "or ~/.keras_genmodels) on the run's dataset; for a VAE also the test "
        "negative ELBO, IWAE NLL and reconstruction error. Writes "
        "evaluation.json and any missing sample/reconstruction images next to the "
        "model.",
    )
    add = p.add_argument
    add(
        "run_dir",
        metavar="RUN_DIR_OR_MODEL",
        help="a run folder of `train`, a folder with model.keras (e.g. an "
        "example's --output-dir), or a .keras file",
    )
    add(
        "--dataset",
        default=None,
        help="the dataset the model was trained on (default: the run's, from its "
        "metrics.json; needed for other folders and .keras files)",
    )
    add("--num-samples", type=common.positive_int, default=2000, help="generated")
    add("--iwae-samples", type=common.positive_int, default=1000, help="K of IWAE")
    add("--seed", type=common.non_negative_int, default=0, help="sampling seed")
    p.set_defaults(handler=_evaluate)


def _read_run(source: pathlib.Path, dataset: str | None):
    """Returns `(model file, output folder, dataset, binarize)` of RUN_DIR_OR_MODEL.

    Raises CLIError naming what is missing and how to supply it.
    """
    if not source.exists():
        raise common.CLIError(f"RUN_DIR_OR_MODEL {str(source)!r} does not exist.")
    if source.is_file():
        if source.suffix != ".keras":
            raise common.CLIError(
                f"{str(source)!r} is a file but not a .keras model; pass a run "
                "folder or a .keras file."
            )
        model_file, folder = source, source.parent
    else:
        model_file, folder = source / "model.keras", source
        if not model_file.is_file():
            raise common.CLIError(
                f"{str(model_file)!r} not found: pass a run folder written by "
                "`keras-genmodels train`, a folder holding model.keras, or a "
                ".keras file."
            )
    run = {}
    metrics = folder / "metrics.json"
    if source.is_dir() and metrics.is_file():
        try:
            run = json.loads(metrics.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise common.CLIError(f"{str(metrics)!r}: {err}") from err
        if not isinstance(run, dict):
            raise common.CLIError(f"{str(metrics)!r} is not a JSON object.")
    dataset = dataset or run.get("dataset")
    if not isinstance(dataset, str):
        raise common.CLIError(
            f"{str(source)!r} does not say which dataset the model was trained on "
            '(no metrics.json with a "dataset" entry); pass --dataset NAME.'
        )
    common.check_dataset_name(dataset)
    binarize = (run.get("arguments") or {}).get("binarize")
    binarize = None if binarize in (None, "none") else binarize
    return model_file, folder, dataset, binarize


def _pictures(model, run_dir: pathlib.Path, dataset: str, binarize, seed) -> list:
    """Writes samples.png (and reconstructions.png for a VAE) when missing."""
    import keras

    from keras_genmodels import VAE, ConditionalGAN, latent_plots, plots
    from keras_genmodels.data import load_arrays

    written = []
    if not (run_dir / "samples.png").exists():
        row_labels = None
        if isinstance(model, ConditionalGAN):
            columns = 10
            labels = [c for c in range(model.num_classes) for _ in range(columns)]
            images = model.generate(len(labels), seed=seed, labels=labels)
            row_labels = [f"class {c}" for c in range(model.num_classes)]
            title = f"one row per class ({dataset})"
        else:
            columns = 8
            sample = model.sample if isinstance(model, VAE) else model.generate
            images = sample(64, seed=seed)
            title = f"{type(model).__name__} samples ({dataset})"
        images = keras.ops.convert_to_numpy(images)
        plots.save_image_grid(
            images,
            run_dir / "samples.png",
            columns,
            title=title,
            row_labels=row_labels,
        )
        written.append("samples.png")
    if not isinstance(model, VAE):
        return written
    test = load_arrays(dataset, binarize=binarize)
    if not (run_dir / "reconstructions.png").exists():
        shown = test.x_test[:16]
        rebuilt = keras.ops.convert_to_numpy(model.reconstruct(shown))
        plots.save_reconstructions(shown, rebuilt, run_dir / "reconstructions.png")
        written.append("reconstructions.png")
    if test.y_test is not None:
        z_mean = keras.ops.convert_to_numpy(model.encode(test.x_test)[0])
        title = "posterior means of the test set"
        latent_plots.save_latent_scatter(
            z_mean, test.y_test, run_dir / "latent_scatter.png", title=title
        )
        written.append("latent_scatter.png")
    if model.latent_dim == 2:
        latent_plots.save_latent_manifold(
            model, run_dir / "latent_manifold.png", grid_size=15
        )
        written.append("latent_manifold.png")
    return written


def _evaluate(args: argparse.Namespace) -> int:
    """`keras-genmodels evaluate`: load the run, evaluate, write evaluation.json."""
    started = time.perf_counter()
    model_file, run_dir, dataset, binarize = _read_run(
        pathlib.Path(args.run_dir), args.dataset
    )
    import keras

    from keras_genmodels import GAN, VAE, load_model
    from keras_genmodels.evaluation import (
        FeatureExtractor,
        classifier_path,
        evaluate_generator,
    )
    from keras_genmodels.vae.report import vae_report

    model = load_model(model_file)
    if not isinstance(model, (VAE, GAN)):
        raise common.CLIError(
            f"{str(model_file)!r} holds a {type(model).__name__}, not "
            "a VAE, GAN or ConditionalGAN."
        )
    cache = classifier_path(dataset)
    if not cache.with_suffix(".json").is_file():
        print(f"training the feature classifier for {dataset} (cached at {cache})")
    extractor = FeatureExtractor.from_dataset(dataset)
    evaluation = {
        "model": type(model).__name__,
        "dataset": dataset,
        "samples": evaluate_generator(
            model, dataset, args.num_samples, extractor=extractor, seed=args.seed
        ),
    }
    if isinstance(model, VAE):
        evaluation["likelihood"] = vae_report(
            model,
            dataset,
            iwae_samples=args.iwae_samples,
            seed=args.seed,
            binarize=binarize,
        )
    evaluation["images_written"] = _pictures(
        model, run_dir, dataset, binarize, args.seed
    )
    evaluation["wall_time_seconds"] = time.perf_counter() - started
    evaluation["versions"] = {
        "keras_genmodels": __version__,
        "keras": keras.__version__,
    }
    common.write_json(run_dir / "evaluation.json", evaluation)
    samples = evaluation["samples"]
    line = (
        f"FID: {samples['fid']:.3f} | KID: {samples['kid_mean']:.4f} "
        f"+- {samples['kid_std']:.4f} | precision/recall: "
        f"{samples['precision']:.2f}/{samples['recall']:.2f} | modes: "
        f"{samples['mode_coverage']['num_covered']}/"
        f"{samples['mode_coverage']['num_classes']}"
    )
    if "likelihood" in evaluation:
        line += f" | IWAE NLL (K={args.iwae_samples}): "
        line += f"{evaluation['likelihood']['iwae_nll']:.2f} nats"
    print(f"{line} | wrote {run_dir / 'evaluation.json'}")
    return 0
