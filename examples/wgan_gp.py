"""
Title: WGAN-GP: a Wasserstein GAN with gradient penalty
Author: keras_genmodels contributors
Description: Train a critic with the Wasserstein loss and the gradient penalty,
five critic steps per generator step, with the paper's hyper-parameters.

Run:

    python examples/wgan_gp.py                  # mnist5k, 20 epochs
    python examples/wgan_gp.py --quick          # 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/wgan_gp`): `samples.png`,
`history.png` and `model.keras`.
"""

import argparse
import pathlib

import keras

from keras_genmodels import GAN, callbacks, data, plots
from keras_genmodels.gan import losses


def parse_args():
    parser = argparse.ArgumentParser(description="Train a WGAN-GP.")
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--gp-weight", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch")
    parser.add_argument("--output-dir", default="runs/examples/wgan_gp")
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

    # The Wasserstein critic outputs an unbounded score, not a probability;
    # the loss pair (`keras_genmodels.gan.losses.wasserstein`, per example) is
    #     d_loss = critic(G(z)) - critic(x),    g_loss = -critic(G(z)).
    g_loss, d_loss = losses.wasserstein([1.0, 2.0], [-1.0, 0.5])
    print(f"scores real [1, 2], fake [-1, 0.5]: g_loss {g_loss}, d_loss {d_loss}")

    # The critic must stay 1-Lipschitz: WGAN-GP (Gulrajani et al.,
    # arXiv:1704.00028) adds lambda * (||grad critic(x_hat)|| - 1)^2 at
    # x_hat = eps * x + (1 - eps) * G(z), with eps ~ U[0, 1] per example and
    # lambda = 10. The default critic has no batch normalisation, so the
    # penalty stays per example, as the paper requires.
    gan = GAN(data_shape=image_shape, latent_dim=args.latent_dim, seed=args.seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
        g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
        loss="wasserstein",
        n_critic=args.n_critic,  # critic steps per generator step
        gradient_penalty_weight=args.gp_weight,
    )

    # Metrics: d_loss (minus the critic's estimate of the Wasserstein distance),
    # g_loss and gradient_penalty (its mean, before the weight lambda).
    history = gan.fit(
        train,
        epochs=args.epochs,
        callbacks=[callbacks.TerminateOnNonFiniteLoss()],
        verbose=2,
    )
    plots.save_history(history, output_dir / "history.png")
    plots.save_image_grid(gan.generate(64, seed=0), output_dir / "samples.png")
    gan.save(output_dir / "model.keras")
    print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()
