"""`keras-genmodels train vae`: the VAE's options, training and run folder."""

from __future__ import annotations

import argparse
import time

from keras_genmodels.cli import common, train

LIKELIHOODS = ("bernoulli", "gaussian")
PRIORS = ("standard_normal", "mixture", "vamp")


def register(models: argparse._SubParsersAction) -> None:
    """Adds `vae` to the `train` command's model subparsers."""
    p = models.add_parser(
        "vae",
        help="variational autoencoder",
        formatter_class=common.HelpFormatter,
        description="Train a VAE, then report the test negative ELBO and the IWAE "
        "estimate of log p(x), in nats per example.",
    )
    model, training = train.add_common_options(p, 64, 30, 1e-3, 16)
    add = model.add_argument
    add("--likelihood", choices=LIKELIHOODS, default="bernoulli", help="p(x|z)")
    add("--prior", choices=PRIORS, default="standard_normal", help="p(z)")
    add(
        "--arch",
        choices=("conv", "resnet"),
        default="conv",
        help="conv: the default networks; resnet: residual encoder and decoder "
        "whose stages follow the image size (a small bottleneck at any size)",
    )
    add("--width", type=common.positive_int, default=32, help="resnet: channels")
    add("--beta", type=common.non_negative_float, default=1.0, help="KL weight")
    add = training.add_argument
    add("--kl-warmup-steps", type=common.non_negative_int, default=0, help="KL ramp")
    add("--iwae-samples", type=common.positive_int, default=1000, help="K of IWAE")
    p.set_defaults(handler=train_vae)


def train_vae(args: argparse.Namespace) -> int:
    """`keras-genmodels train vae`: fit, evaluate, and write the run folder."""
    started = time.perf_counter()
    out, train_ds, test_ds, shape, strategy = train.start_run(args)
    import keras
    import numpy as np

    from keras_genmodels import plots
    from keras_genmodels.vae.model import VAE

    networks = {}
    with strategy.scope():
        if args.arch == "resnet":
            from keras_genmodels import networks as builders

            networks = dict(
                encoder=builders.build_resnet_encoder(
                    shape, args.latent_dim, args.width
                ),
                decoder=builders.build_resnet_decoder(
                    shape, args.latent_dim, args.width
                ),
            )
        vae = VAE(
            **networks,
            data_shape=shape,
            latent_dim=args.latent_dim,
            likelihood=args.likelihood,
            prior=args.prior,
            beta=args.beta,
            kl_warmup_steps=args.kl_warmup_steps,
            seed=args.seed,
        )
        vae.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            **train.compile_options(args),
        )
    history, train_seconds = train.fit_and_save(vae, args, out, train_ds, test_ds)
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
    metrics = train.run_metrics(
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
