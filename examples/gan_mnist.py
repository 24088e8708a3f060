"""
Title: A DCGAN on MNIST digits
Author: keras_genmodels contributors
Description: Train a GAN with the non-saturating loss, two Adam optimizers and
an exponential moving average of the generator, all with `fit()`.

Run:

    python examples/gan_mnist.py                    # mnist5k, 20 epochs
    python examples/gan_mnist.py --loss minimax     # the saturating original game
    python examples/gan_mnist.py --quick            # 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/gan_mnist`): `samples.png`,
`history.png` and `model.keras`.
"""

import argparse
import pathlib

import keras

from keras_genmodels import GAN, callbacks, data, plots
from keras_genmodels.gan import losses


def parse_args():
    parser = argparse.ArgumentParser(description="Train a DCGAN on MNIST digits.")
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument(
        "--loss", default="non_saturating", choices=sorted(losses.LOSSES)
    )
    parser.add_argument("--ema", type=float, default=0.999, help="0 disables EMA")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch")
    parser.add_argument("--output-dir", default="runs/examples/gan_mnist")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs = "digits", 1
    return args


def main():
    args = parse_args()
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    train, _ = data.load_dataset(args.dataset, batch_size=args.batch_size)
    image_shape = data.load_arrays(args.dataset).x_train.shape[1:]

    # The model: with only `image_shape`, the GAN builds DCGAN-style networks
    # (a generator ending in a sigmoid, so samples lie in [0, 1] like the data,
    # and a discriminator returning one logit, not a probability).
    # `ema_decay` keeps an exponential moving average of the generator's
    # weights, which `generate` uses: smoother samples at no training cost.
    gan = GAN(
        data_shape=image_shape,
        latent_dim=args.latent_dim,
        ema_decay=args.ema or None,
        seed=args.seed,
    )

    # Two optimizers, one per network: each step updates the discriminator on
    # its loss, then the generator on its own (Radford et al.'s Adam settings).
    # The losses are functions of logits (`keras_genmodels.gan.losses`):
    # `non_saturating` has the generator maximise log D(G(z)), the remedy of
    # Goodfellow et al. (arXiv:1406.2661, section 3) for the vanishing gradient
    # of the minimax generator loss log(1 - D(G(z))) early in training.
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss=args.loss,
    )

    # Training stops with an error naming the metric if a loss becomes NaN/inf.
    history = gan.fit(
        train,
        epochs=args.epochs,
        callbacks=[callbacks.TerminateOnNonFiniteLoss()],
        verbose=2,
    )
    plots.save_history(history, output_dir / "history.png")
    plots.save_image_grid(gan.generate(64, seed=0), output_dir / "samples.png")
    gan.save(output_dir / "model.keras")  # comes back compiled, optimizers included
    print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()
