"""`keras-genmodels train gan`: the GAN's options, training and run folder."""

from __future__ import annotations

import argparse
import pathlib
import time

from keras_genmodels.cli import common, train

DCGAN_WIDTH = 32
EMA_DECAY = 0.999
LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")


def register(models: argparse._SubParsersAction) -> None:
    """Adds `gan` to the `train` command's model subparsers."""
    p = models.add_parser(
        "gan",
        help="generative adversarial network",
        formatter_class=common.HelpFormatter,
        description="Train a GAN (or a class-conditional GAN with --conditional); "
        "writes samples, curves and the ROC AUC of the discriminator on test "
        "images against fresh samples.",
    )
    model, training = train.add_common_options(p, 32, 20, 1e-3, 64)
    add = model.add_argument
    add("--conditional", action="store_true", help="condition on the class labels")
    add("--spectral-norm", action="store_true", help="spectral norm in the critic")
    add(
        "--arch",
        choices=("dcgan", "resnet"),
        default="dcgan",
        help="dcgan: the default conv networks; resnet: SNGAN-style residual "
        "networks whose stages follow the image size, spectral norm in D (the "
        "papers' recipe for RGB 32-128 px, with --loss hinge --beta1 0 "
        "--batch-size 64 --learning-rate 2e-4 --ema 0; about 5x slower per epoch "
        "than dcgan of width 64 at 32x32)",
    )
    add(
        "--width",
        type=common.positive_int,
        default=None,
        help="image channels: dcgan, of the generator's last hidden map and the "
        f"critic's first convolution (twice as many further in; default "
        f"{DCGAN_WIDTH}); resnet, of the outer stage (default 64); vectors: unused",
    )
    add(
        "--augment",
        choices=("none", "diffaugment", "ada"),
        default="none",
        help="differentiable augmentation of D's inputs, real and fake: DiffAugment "
        "(colour, translation, cutout) or ADA (its probability tuned to D's "
        "overfitting)",
    )
    add = training.add_argument
    add("--loss", choices=LOSSES, default="non_saturating", help="GAN loss")
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
        type=_ema_decay,
        default=EMA_DECAY,
        help="decay of the moving average of the generator's weights that "
        "samples come from; 0: none, samples come from the trained generator",
    )
    p.set_defaults(handler=train_gan)


def train_gan(args: argparse.Namespace) -> int:
    """`keras-genmodels train gan`: fit, write samples and the run folder."""
    started = time.perf_counter()
    if args.width is None:  # recorded in metrics.json with the other arguments
        args.width = 64 if args.arch == "resnet" else DCGAN_WIDTH
    out, train_ds, test_ds, shape, strategy = train.start_run(args)
    import keras

    from keras_genmodels.gan.conditional import ConditionalGAN
    from keras_genmodels.gan.model import GAN

    x_test, y_test = common.dataset_arrays(test_ds)
    options = dict(
        data_shape=shape,
        latent_dim=args.latent_dim,
        spectral_normalization=args.spectral_norm,
        ema_decay=args.ema,
        augmentation=None if args.augment == "none" else args.augment,
        seed=args.seed,
    )
    if args.conditional and y_test is None:
        raise common.CLIError(
            f"--conditional needs a labelled dataset; {args.dataset!r} has none."
        )
    num_classes = int(y_test.max()) + 1 if args.conditional else None
    with strategy.scope():
        options.update(_networks(args, shape, num_classes))
        if args.conditional:
            gan = ConditionalGAN(num_classes=num_classes, **options)
        else:
            gan = GAN(**options)
        gan.compile(
            d_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1),
            g_optimizer=keras.optimizers.Adam(args.learning_rate, beta_1=args.beta1),
            loss=args.loss,
            n_critic=args.n_critic,
            gradient_penalty_weight=args.gradient_penalty,
            r1_weight=args.r1,
            **train.compile_options(args),
        )
    history, train_seconds = train.fit_and_save(gan, args, out, train_ds, test_ds)
    if history is None:
        return 0

    _gan_pictures(gan, args, out, epochs=len(history["d_loss"]))
    common.step("discriminator scores of test images and fresh samples", args.verbose)
    auc = _discriminator_auc(gan, args, x_test, y_test)
    final = {k: v[-1] for k, v in history.items()}
    metrics = train.run_metrics(
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


def _ema_decay(text: str) -> float | None:
    """An argparse `type` for `--ema`: a decay in (0, 1), or 0 for no average."""
    try:
        if float(text) == 0:
            return None
        return common.unit_interval_open(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected 0 (no average) or a decay in (0, 1), got {text!r}"
        ) from None


def _networks(args, shape, num_classes) -> dict:
    """The generator and discriminator of `--arch` at `--width`."""
    from keras_genmodels import networks

    if args.arch == "resnet":
        return dict(
            generator=networks.build_resnet_generator(
                shape, args.latent_dim, args.width, num_classes=num_classes
            ),
            discriminator=networks.build_resnet_discriminator(
                shape, args.width, num_classes=num_classes
            ),
        )
    return dict(
        generator=networks.build_generator(
            shape, args.latent_dim, num_classes, width=args.width
        ),
        discriminator=networks.build_discriminator(
            shape, num_classes, args.spectral_norm, width=args.width
        ),
    )


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
