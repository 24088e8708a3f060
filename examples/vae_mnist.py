"""
Title: A variational autoencoder on MNIST digits
Author: keras_genmodels contributors
Description: Train the default convolutional VAE with `fit()`, then sample,
reconstruct and estimate the test log-likelihood with importance sampling.

Run (about two minutes on two CPU cores with the defaults):

    python examples/vae_mnist.py
    python examples/vae_mnist.py --quick            # seconds: 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/vae_mnist`): `model.keras`,
`history.png`, `samples.png`, `reconstructions.png` and `metrics.json`.
"""

import argparse
import json
import pathlib

import keras

from keras_genmodels import VAE, data, plots


def parse_args():
    parser = argparse.ArgumentParser(description="Train a VAE on MNIST digits.")
    parser.add_argument("--dataset", default="mnist5k", help="see data.DATASETS")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--iwae-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="8x8 digits, 1 epoch, 10 importance samples: a smoke run",
    )
    parser.add_argument("--output-dir", default="runs/examples/vae_mnist")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs, args.iwae_samples = "digits", 1, 10
    return args


def main():
    args = parse_args()
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    # The data: `load_dataset` returns shuffled, batched `(x, y)` pipelines of
    # images in [0, 1]; `load_arrays` gives the same splits as numpy arrays.
    train, test = data.load_dataset(args.dataset, batch_size=args.batch_size)
    arrays = data.load_arrays(args.dataset)
    image_shape = arrays.x_train.shape[1:]

    # The model: with only `input_shape`, the VAE builds the package's default
    # convolutional encoder and decoder. The likelihood is Bernoulli (decoder
    # logits), the prior N(0, I) and q(z | x) a diagonal Gaussian.
    vae = VAE(data_shape=image_shape, latent_dim=args.latent_dim, seed=args.seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))

    # Training: plain `fit()`. The reported `loss` is the negative ELBO in nats
    # per example; `reconstruction_loss` and `kl_loss` are its two terms.
    history = vae.fit(train, validation_data=test, epochs=args.epochs, verbose=2)
    plots.save_history(history, output_dir / "history.png")

    # Sampling: decode z ~ N(0, I); reconstruction: decode the posterior mean.
    plots.save_image_grid(vae.sample(64, seed=0), output_dir / "samples.png")
    x = arrays.x_test[:16]
    plots.save_reconstructions(
        x, vae.reconstruct(x), output_dir / "reconstructions.png"
    )

    # Evaluation: the negative ELBO on the test split, and the importance-
    # weighted estimate of log p(x) (Burda et al., arXiv:1509.00519), which is
    # at least as tight as the ELBO.
    neg_elbo = vae.evaluate(test, verbose=0, return_dict=True)["loss"]
    log_px = vae.log_likelihood(arrays.x_test, num_samples=args.iwae_samples, seed=0)
    metrics = {
        "dataset": args.dataset,
        "epochs": args.epochs,
        "test_negative_elbo": float(neg_elbo),
        "test_iwae_nll": float(-log_px.mean()),
        "iwae_samples": args.iwae_samples,
    }
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))

    vae.save(output_dir / "model.keras")  # restored by keras.saving.load_model
    print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()
