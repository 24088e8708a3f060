"""
Title: A class-conditional GAN: choose the digit you generate
Author: keras_genmodels contributors
Description: Feed the labels to both networks of a GAN, then generate one row
of samples per class.

Run:

    python examples/conditional_gan.py              # mnist5k, 20 epochs
    python examples/conditional_gan.py --quick      # 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/conditional_gan`):
`samples.png` (row k shows class k), `history.png` and `model.keras`.
"""

import argparse
import pathlib

import keras
import numpy as np

from keras_genmodels import ConditionalGAN, data, plots


def parse_args():
    parser = argparse.ArgumentParser(description="Train a conditional GAN.")
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--per-class", type=int, default=8, help="samples per row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch")
    parser.add_argument("--output-dir", default="runs/examples/conditional_gan")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs = "digits", 1
    return args


def main():
    args = parse_args()
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    # The pipelines yield `(x, y)` batches: exactly what a conditional GAN needs.
    train, _ = data.load_dataset(args.dataset, batch_size=args.batch_size)
    arrays = data.load_arrays(args.dataset)
    num_classes = int(arrays.y_train.max()) + 1

    # G(z, y) sees z concatenated with the one-hot label; D(x, y) sees the image
    # with an extra channel computed from the label (Mirza & Osindero,
    # arXiv:1411.1784). Everything else (losses, optimizers, EMA) is the GAN's.
    gan = ConditionalGAN(
        data_shape=arrays.x_train.shape[1:],
        latent_dim=args.latent_dim,
        num_classes=num_classes,
        seed=args.seed,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    history = gan.fit(train, epochs=args.epochs, verbose=2)
    plots.save_history(history, output_dir / "history.png")

    # One row per class: labels 0, 0, ..., 1, 1, ... and a fresh z for each.
    labels = np.repeat(np.arange(num_classes), args.per_class)
    images = gan.generate(len(labels), labels=labels, seed=0)
    plots.save_image_grid(images, output_dir / "samples.png", ncols=args.per_class)
    gan.save(output_dir / "model.keras")
    print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()
