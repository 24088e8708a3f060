"""
Title: A VQ-VAE with a PixelCNN prior on MNIST digits
Author: keras_genmodels contributors
Description: Train a vector-quantised autoencoder with `fit()`, then a gated
PixelCNN prior on its discrete codes; reconstruct, sample and report the
codebook's perplexity and the prior's bits per code.

Run (a few minutes on two CPU cores with the defaults):

    python examples/vqvae_mnist.py
    python examples/vqvae_mnist.py --quick          # seconds: 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/vqvae_mnist`): `model.keras`,
`reconstructions.png`, `samples.png` and `metrics.json`.
"""

import argparse
import json
import pathlib

import keras
import numpy as np

from keras_genmodels import VQVAE, data, plots


def parse_args():
    parser = argparse.ArgumentParser(description="Train a VQ-VAE on MNIST digits.")
    parser.add_argument("--dataset", default="mnist5k", help="see data.DATASETS")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--prior-epochs", type=int, default=10)
    parser.add_argument("--num-embeddings", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick", action="store_true", help="8x8 digits, 1 epoch each: a smoke run"
    )
    parser.add_argument("--output-dir", default="runs/examples/vqvae_mnist")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs, args.prior_epochs = "digits", 1, 1
        args.num_embeddings = 16
    return args


def main():
    args = parse_args()
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    train, test = data.load_dataset(args.dataset, batch_size=128)
    x_test = data.load_arrays(args.dataset).x_test

    # Stage 1: the autoencoder. Each 4x4 patch of the image becomes one of
    # `num_embeddings` codes; the codebook follows moving averages of the
    # encoder outputs assigned to each code (Razavi et al., arXiv:1906.00446).
    vqvae = VQVAE(
        data_shape=x_test.shape[1:], num_embeddings=args.num_embeddings, seed=args.seed
    )
    vqvae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vqvae.fit(train, validation_data=test, epochs=args.epochs, verbose=2)

    # Stage 2: a gated PixelCNN learns p(codes) autoregressively, one grid
    # position after another, from the codes of the training images.
    vqvae.fit_prior(train, validation_data=test, epochs=args.prior_epochs, verbose=2)

    shown = x_test[:16]
    plots.save_reconstructions(
        shown, vqvae.reconstruct(shown), output_dir / "reconstructions.png"
    )
    plots.save_image_grid(vqvae.sample(64, seed=0), output_dir / "samples.png")
    rebuilt = keras.ops.convert_to_numpy(vqvae.reconstruct(x_test))
    codes = keras.ops.convert_to_numpy(vqvae.encode(x_test)).ravel()
    share = np.bincount(codes, minlength=args.num_embeddings) / codes.size
    metrics = {
        "dataset": args.dataset,
        "final_train_loss": float(history.history["loss"][-1]),
        "test_reconstruction_mse": float(np.mean((rebuilt - x_test) ** 2)),
        "test_perplexity": float(
            np.exp(-np.sum(share[share > 0] * np.log(share[share > 0])))
        ),
        "prior_bits_per_code": float(vqvae.prior_bits_per_code(x_test)),
    }
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    vqvae.save(output_dir / "model.keras")  # keras_genmodels.load_model restores it
    print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()
