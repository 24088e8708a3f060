"""`keras-genmodels train vqvae`: the VQ-VAE and its PixelCNN prior, one run folder."""

from __future__ import annotations

import argparse
import time

from keras_genmodels.cli import common, train


def register(models: argparse._SubParsersAction) -> None:
    """Adds `vqvae` to the `train` command's model subparsers."""
    p = models.add_parser(
        "vqvae",
        help="vector-quantised autoencoder with a PixelCNN prior",
        formatter_class=common.HelpFormatter,
        description="Train a VQ-VAE, then a gated PixelCNN prior on its codes; "
        "report the test reconstruction error, codebook perplexity and the "
        "prior's bits per code.",
    )
    model, training = train.add_common_options(p, 128, 10, 1e-3, 16)
    add = model.add_argument
    add("--num-embeddings", type=common.positive_int, default=128, help="codes K")
    add(
        "--codebook-update",
        choices=("ema", "loss"),
        default="ema",
        help="moving averages (Razavi et al. 2019) or the codebook loss",
    )
    add(
        "--commitment-cost",
        type=common.non_negative_float,
        default=0.25,
        help="beta",
    )
    add = training.add_argument
    add(
        "--prior-epochs",
        type=common.positive_int,
        default=10,
        help="epochs of the PixelCNN prior",
    )
    p.set_defaults(handler=train_vqvae)


def train_vqvae(args: argparse.Namespace) -> int:
    """`keras-genmodels train vqvae`: fit both stages, write the run folder."""
    started = time.perf_counter()
    out, train_ds, test_ds, shape, strategy = train.start_run(args)
    import keras

    from keras_genmodels import plots
    from keras_genmodels.io_utils import atomic_write
    from keras_genmodels.vqvae.model import VQVAE
    from keras_genmodels.vqvae.report import save_pictures, vqvae_report

    with strategy.scope():
        vqvae = VQVAE(
            data_shape=shape,
            num_embeddings=args.num_embeddings,
            embedding_dim=args.latent_dim,
            commitment_cost=args.commitment_cost,
            codebook_update=args.codebook_update,
            seed=args.seed,
        )
        vqvae.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            **train.compile_options(args),
        )
    history, train_seconds = train.fit_and_save(vqvae, args, out, train_ds, test_ds)
    if history is None:
        return 0
    common.step("PixelCNN prior over the codes", args.verbose)
    prior = vqvae.fit_prior(
        train_ds,
        validation_data=test_ds,
        epochs=args.prior_epochs,
        verbose=args.verbose,
    )
    atomic_write(out / "model.keras", lambda tmp: vqvae.save(tmp))  # with the prior
    x_test, y_test = common.dataset_arrays(test_ds)
    samples = keras.ops.convert_to_numpy(vqvae.sample(64, seed=args.seed))
    title = f"VQ-VAE samples ({args.dataset}, {common.epochs(args.prior_epochs)})"
    plots.save_image_grid(samples, out / "samples.png", ncols=8, title=title)
    save_pictures(vqvae, out, x_test, y_test, args.seed)
    common.step("test set: reconstructions and codes", args.verbose)
    report = vqvae_report(vqvae, x_test)
    report.pop("code_counts")
    metrics = train.run_metrics(
        args,
        out,
        history,
        train_seconds,
        started,
        test=report,
        prior_history=prior.history,
        num_test_examples=int(len(x_test)),
    )
    common.write_json(out / "metrics.json", metrics)  # last: marks a complete run
    print(
        f"test reconstruction MSE: {report['reconstruction_mse']:.4f} "
        f"({report['psnr_db']:.1f} dB) | perplexity {report['perplexity']:.1f} of "
        f"{args.num_embeddings} | prior: {report['prior_bits_per_code']:.2f} bits "
        f"per code | wrote {out}"
    )
    return 0
