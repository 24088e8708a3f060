"""`keras-genmodels train vae|gan`: fit a model and write a run folder."""

from __future__ import annotations

import argparse
import datetime
import pathlib
import time
from typing import Any

from keras_genmodels import __version__
from keras_genmodels.cli import common
from keras_genmodels.distribute import STRATEGIES
from keras_genmodels.io_utils import atomic_write

_BINARIZE = ("none", "static", "dynamic")
_LIKELIHOODS = ("bernoulli", "gaussian")
DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
_GAN_LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")
_DATA_HELP = (
    "datasets: mnist5k, digits, mnist, fashion_mnist, cifar10, npz:PATH (a .npz with "
    "x_train, x_test); --binarize static samples Bernoulli pixels once, dynamic "
    "resamples the train split every epoch"
)


def register(commands: argparse._SubParsersAction) -> None:
    """Adds `train` and its models to the top-level `commands`."""
    train = commands.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model; writes the model, curves, images and metrics.",
    )
    models = train.add_subparsers(
        title="models", dest="model", metavar="MODEL", required=True
    )
    _add_vae(models)
    _add_gan(models)


def _add_common(parser, batch_size, epochs, learning_rate, latent_dim):
    """Options every model has; returns the "model" and "training" groups."""
    add = parser.add_argument_group("data", _DATA_HELP).add_argument
    add("--dataset", default="mnist5k", help="dataset name (see above)")
    add("--binarize", choices=_BINARIZE, default="none", help="pixel binarisation")
    add("--batch-size", type=common.positive_int, default=batch_size, help="per step")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--latent-dim", type=common.positive_int, default=latent_dim, help="size of z"
    )
    training = parser.add_argument_group("training")
    add = training.add_argument
    add("--epochs", type=common.positive_int, default=epochs, help="passes over data")
    add(
        "--learning-rate",
        type=common.positive_float,
        default=learning_rate,
        help="Adam step size",
    )
    add("--seed", type=common.non_negative_int, default=0, help="seeds everything")
    add(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy (auto: mirrored over GPUs when several)",
    )
    add(
        "--devices",
        type=_device_list,
        default=None,
        help="comma-separated devices for --strategy mirrored/one_device, e.g. "
        "/gpu:0,/gpu:1",
    )
    add(
        "--backup-dir",
        default=None,
        help="BackupAndRestore folder: a killed run restarted with the same "
        "arguments resumes from the last finished epoch",
    )
    add(
        "--dtype-policy",
        choices=DTYPE_POLICIES,
        default="float32",
        help="Keras dtype policy: mixed_* compute in 16 bits with float32 weights "
        "(faster where the hardware has 16-bit units, see benchmarks/README.md)",
    )
    add(
        "--steps-per-execution",
        type=common.positive_int,
        default=None,
        help="training steps per graph call (fewer Python round trips; callbacks "
        "and the progress bar update every N steps). Default: the model's (8)",
    )
    add = parser.add_argument_group("output").add_argument
    add(
        "--export",
        action="store_true",
        help="also export a SavedModel to saved_models/<run folder name>/<version>",
    )
    add("--output-dir", help="new or empty folder (default: runs/<model>-<time>)")
    add("--verbose", type=int, choices=(0, 1, 2), default=1, help="Keras verbosity")
    return model, training


def _add_vae(models) -> None:
    p = models.add_parser(
        "vae",
        help="variational autoencoder",
        formatter_class=common.HelpFormatter,
        description="Train a VAE, then report the test negative ELBO and the IWAE "
        "estimate of log p(x), in nats per example.",
    )
    model, training = _add_common(p, 128, 30, 1e-3, 16)
    add = model.add_argument
    add("--likelihood", choices=_LIKELIHOODS, default="bernoulli", help="p(x|z)")
    add("--beta", type=common.non_negative_float, default=1.0, help="KL weight")
    add = training.add_argument
    add("--kl-warmup-steps", type=common.non_negative_int, default=0, help="KL ramp")
    add("--iwae-samples", type=common.positive_int, default=1000, help="K of IWAE")
    p.set_defaults(handler=_train_vae)


def _add_gan(models) -> None:
    p = models.add_parser(
        "gan",
        help="generative adversarial network",
        formatter_class=common.HelpFormatter,
        description="Train a GAN (or a class-conditional GAN with --conditional); "
        "writes samples, curves and the discriminator's test accuracy.",
    )
    model, training = _add_common(p, 64, 20, 2e-4, 64)
    add = model.add_argument
    add("--conditional", action="store_true", help="condition on the class labels")
    add("--spectral-norm", action="store_true", help="spectral norm in the critic")
    add = training.add_argument
    add("--loss", choices=_GAN_LOSSES, default="non_saturating", help="GAN loss")
    add("--n-critic", type=common.positive_int, default=1, help="D steps per G step")
    add(
        "--gradient-penalty",
        type=common.non_negative_float,
        default=None,
        help="WGAN-GP weight lambda (default: 10 with --loss wasserstein, else 0)",
    )
    add("--r1", type=common.non_negative_float, default=0.0, help="R1 weight gamma")
    add("--beta1", type=common.non_negative_float, default=0.5, help="Adam beta_1")
    add(
        "--ema",
        type=common.unit_interval_open,
        default=None,
        help="decay of an EMA of the generator used for samples, e.g. 0.999 "
        "(default: none, samples come from the trained generator)",
    )
    p.set_defaults(handler=_train_gan)


def _device_list(text: str) -> list[str]:
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices:
        raise argparse.ArgumentTypeError(f"expected device names, got {text!r}")
    return devices


# ---- a run: folder, data, artifacts -------------------------------------------------
def _start(args) -> tuple[pathlib.Path, Any, Any, Any, Any]:
    """Checks the folder, seeds everything, loads the data, picks the strategy."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(args.output_dir or f"runs/{args.model}-{stamp}")
    common.check_output_dir(out)
    common.check_dataset_name(args.dataset)
    import keras

    from keras_genmodels.data import load_dataset
    from keras_genmodels.distribute import get_strategy

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_dtype_policy(args.dtype_policy)
    binarize = None if args.binarize == "none" else args.binarize
    train_ds, test_ds = load_dataset(
        args.dataset, batch_size=args.batch_size, binarize=binarize, seed=args.seed
    )
    spec = train_ds.element_spec
    shape = tuple((spec[0] if isinstance(spec, tuple) else spec).shape[1:])
    strategy = get_strategy(args.strategy, args.devices)
    return out, train_ds, test_ds, shape, strategy


def _compile_options(args) -> dict:
    """Keras compile options given on the command line (else the model's defaults)."""
    if args.steps_per_execution is None:
        return {}
    return {"steps_per_execution": args.steps_per_execution}


def _fit(model, args, out, train_ds, test_ds):
    """Fits with the Keras progress bar, then saves the model and its curves.

    Returns `(history, seconds)`, or `(None, seconds)` on a multi-worker process
    that is not the chief: only the chief writes the run folder.
    """
    import keras

    from keras_genmodels import plots
    from keras_genmodels.callbacks import NonFiniteLossError, TerminateOnNonFiniteLoss
    from keras_genmodels.distribute import is_chief

    callbacks = [TerminateOnNonFiniteLoss()]
    if args.backup_dir:
        callbacks.append(
            keras.callbacks.BackupAndRestore(args.backup_dir, double_checkpoint=True)
        )
    chief = is_chief(model.distribute_strategy)
    started = time.perf_counter()
    with common.run_folder(out if chief else None):
        try:
            history = model.fit(  # the train pipeline reshuffles itself every epoch
                train_ds,
                validation_data=test_ds,
                epochs=args.epochs,
                shuffle=False,
                callbacks=callbacks,
                verbose=args.verbose,
            )
        except NonFiniteLossError as error:
            raise common.CLIError(str(error)) from error
        seconds = time.perf_counter() - started
        if not chief:
            return None, seconds
        atomic_write(out / "model.keras", lambda tmp: model.save(tmp))
    common.write_json(out / "history.json", history.history)
    plots.save_history(history.history, out / "history.png")
    if args.export:
        from keras_genmodels.export import export_saved_model

        path = export_saved_model(model, pathlib.Path("saved_models") / out.name)
        args.exported_to = str(path)  # recorded in metrics.json
        if args.verbose:
            print(f"exported SavedModel: {path}")
    return history.history, seconds


def _metrics(args, out, history, train_seconds, started, **values) -> dict:
    import keras
    import tensorflow as tf

    arguments = {
        k: v for k, v in vars(args).items() if k not in ("handler", "exported_to")
    }
    arguments["output_dir"] = str(out)
    return {
        "model": args.model,
        "dataset": args.dataset,
        **values,
        **({"exported_to": args.exported_to} if "exported_to" in vars(args) else {}),
        "epochs": len(history["loss" if "loss" in history else "d_loss"]),
        "train_seconds": train_seconds,
        "wall_time_seconds": time.perf_counter() - started,
        "arguments": arguments,
        "versions": {
            "keras_genmodels": __version__,
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
        },
    }


# ---- the commands -------------------------------------------------------------------
def _train_vae(args: argparse.Namespace) -> int:
    """`keras-genmodels train vae`: fit, evaluate, and write the run folder."""
    started = time.perf_counter()
    out, train_ds, test_ds, shape, strategy = _start(args)
    import keras
    import numpy as np

    from keras_genmodels import VAE, plots

    with strategy.scope():
        vae = VAE(
            input_shape=shape,
            latent_dim=args.latent_dim,
            likelihood=args.likelihood,
            beta=args.beta,
            kl_warmup_steps=args.kl_warmup_steps,
            seed=args.seed,
        )
        vae.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            **_compile_options(args),
        )
    history, train_seconds = _fit(vae, args, out, train_ds, test_ds)
    if history is None:
        return 0

    samples = keras.ops.convert_to_numpy(vae.sample(64, seed=args.seed))
    title = f"VAE samples ({args.dataset}, {common.epochs(len(history['loss']))})"
    plots.save_image_grid(samples, out / "samples.png", ncols=8, title=title)
    x_test, _ = common.dataset_arrays(test_ds)
    shown = x_test[:16]
    reconstructions = keras.ops.convert_to_numpy(vae.reconstruct(shown))
    plots.save_reconstructions(shown, reconstructions, out / "reconstructions.png")

    common.step("test set: negative ELBO", args.verbose)
    test = vae.evaluate(test_ds, return_dict=True, verbose=args.verbose)
    # log_likelihood labels its own progress bar ("IWAE log p(x), K=...").
    log_px = np.asarray(
        vae.log_likelihood(
            x_test,
            num_samples=args.iwae_samples,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=args.verbose,
        ),
        dtype=np.float64,
    )
    mean_log_px = float(np.mean(log_px))
    metrics = _metrics(
        args,
        out,
        history,
        train_seconds,
        started,
        units="nats per example",
        test_negative_elbo=test["loss"],
        **{f"test_{k}": v for k, v in test.items() if k != "loss"},
        test_iwae_log_likelihood=mean_log_px,
        test_iwae_log_likelihood_stderr=float(np.std(log_px) / len(log_px) ** 0.5),
        test_iwae_nll=-mean_log_px,
        iwae_samples=args.iwae_samples,
        num_test_examples=int(len(x_test)),
    )
    common.write_json(out / "metrics.json", metrics)  # last: marks a complete run
    print(
        f"test negative ELBO: {float(test['loss']):.2f} nats | IWAE log p(x) "
        f"(K={args.iwae_samples}): {mean_log_px:.2f} nats | wrote {out}"
    )
    return 0


def _train_gan(args: argparse.Namespace) -> int:
    """`keras-genmodels train gan`: fit, write samples and the run folder."""
    started = time.perf_counter()
    out, train_ds, test_ds, shape, strategy = _start(args)
    import keras

    from keras_genmodels import GAN, ConditionalGAN

    x_test, y_test = common.dataset_arrays(test_ds)
    options = dict(
        image_shape=shape,
        latent_dim=args.latent_dim,
        spectral_normalization=args.spectral_norm,
        ema_decay=args.ema,
        seed=args.seed,
    )
    if args.conditional and y_test is None:
        raise common.CLIError(
            f"--conditional needs a labelled dataset; {args.dataset!r} has none."
        )
    penalty = args.gradient_penalty
    if penalty is None:
        penalty = 10.0 if args.loss == "wasserstein" else 0.0
    with strategy.scope():
        if args.conditional:
            gan = ConditionalGAN(num_classes=int(y_test.max()) + 1, **options)
        else:
            gan = GAN(**options)
        gan.compile(
            d_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1),
            g_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1),
            loss=args.loss,
            n_critic=args.n_critic,
            gradient_penalty_weight=penalty,
            r1_weight=args.r1,
            **_compile_options(args),
        )
    history, train_seconds = _fit(gan, args, out, train_ds, test_ds)
    if history is None:
        return 0

    _gan_pictures(gan, args, out, epochs=len(history["d_loss"]))
    common.step("discriminator scores of test images and fresh samples", args.verbose)
    auc = _discriminator_auc(gan, args, x_test, y_test)
    final = {k: v[-1] for k, v in history.items()}
    metrics = _metrics(
        args,
        out,
        history,
        train_seconds,
        started,
        final=final,
        discriminator_test_auc=auc,
        num_test_examples=int(len(x_test)),
    )
    common.write_json(out / "metrics.json", metrics)  # last: marks a complete run
    print(
        f"final d_loss: {final['d_loss']:.3f} | g_loss: {final['g_loss']:.3f} | "
        f"D's ROC AUC, test real vs fake: {auc:.3f} | "
        f"wrote {out}"
    )
    return 0


def _gan_pictures(gan, args, out: pathlib.Path, epochs: int) -> None:
    """samples.png: a square grid, or one labelled row per class (conditional)."""
    import keras
    import numpy as np

    from keras_genmodels import plots

    when = f"{args.dataset}, {common.epochs(epochs)}"
    if args.conditional:
        columns = 10
        rows = np.repeat(np.arange(gan.num_classes), columns)
        samples = gan.generate(len(rows), seed=args.seed, labels=rows)
        title = f"one row per class ({when})"
        row_labels = [f"class {c}" for c in range(gan.num_classes)]
    else:
        columns, row_labels = 8, None
        samples = gan.generate(64, seed=args.seed)
        title = f"GAN samples ({when})"
    plots.save_image_grid(
        keras.ops.convert_to_numpy(samples),
        out / "samples.png",
        ncols=columns,
        title=title,
        row_labels=row_labels,
    )


def _discriminator_auc(gan, args, x_test, y_test) -> float:
    """ROC AUC of D's scores, test images (positive) vs as many fresh samples.

    Every loss scores real data higher than fakes, but on its own scale (a logit
    for the cross-entropy losses, a 0/1 target for least squares, an unbounded
    critic for wasserstein and hinge), so a fixed threshold is meaningless; the
    AUC, P(score(real) > score(fake)), needs none: 0.5 when D cannot tell them
    apart, 1 when it separates them completely.
    """
    import keras

    labels = y_test if args.conditional else None
    by_label = {"labels": labels} if args.conditional else {}
    fake = gan.generate(len(x_test), seed=args.seed + 1, **by_label)
    real_scores = keras.ops.convert_to_numpy(gan.discriminate(x_test, labels))
    fake_scores = keras.ops.convert_to_numpy(gan.discriminate(fake, labels))
    return common.roc_auc(real_scores, fake_scores)
