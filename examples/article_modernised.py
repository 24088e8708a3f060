"""
Title: The article's two TF1 snippets, rewritten with keras_genmodels
Author: keras_genmodels contributors
Description: The VAE and GAN code of the article "VAE vs GAN" (section 4), line
by line: each original TF1 line is quoted in a comment next to what replaces it.

The original snippets do not run on any TensorFlow version (`tf.contrib` was
removed in TF 2.0, `layers.dense_to_tensor_layer` never existed, `x`, `h`, `z`,
`DKL` and `global_step` are undefined, and `DKL(Q(z|x) || P(z))` is not valid
Python), and their objectives have sign and formula errors; `docs/migration.md`
lists each one. This script stays close to the article's networks (dense layers on
flattened images, one 128-unit hidden layer each) and fixes the maths.

Run:

    python examples/article_modernised.py               # mnist5k, 20 epochs
    python examples/article_modernised.py --quick       # 8x8 digits, 1 epoch

Outputs, in `--output-dir` (default `runs/examples/article_modernised`):
`vae_samples.png`, `vae_reconstructions.png` and `gan_samples.png`.
"""

import argparse
import pathlib

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels import GAN, VAE, data, plots
from keras_genmodels.gan import losses


def parse_args():
    parser = argparse.ArgumentParser(description="The article's code, modernised.")
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="digits, 1 epoch")
    parser.add_argument("--output-dir", default="runs/examples/article_modernised")
    args = parser.parse_args()
    if args.quick:
        args.dataset, args.epochs = "digits", 1
    return args


def modern_vae(x_train, args):
    """Section 4.1.1 of the article, the VAE."""
    features = x_train.shape[1]

    # article: import tensorflow as tf
    #          from tensorflow.contrib import layers
    # now:     import keras (Keras 3) and keras_genmodels; tf.contrib is gone.

    # article: x (never defined; in TF1 a tf.placeholder fed through a Session)
    # now:     numpy arrays (or tf.data pipelines) passed to fit(); no sessions.

    # article: encoder = layers.dense_to_tensor_layer(input_layer=x,
    #              output_size=128, activation_fn=tf.nn.relu)
    # now:     the same 128-unit ReLU layer, followed by what the article lacks:
    #          the mean and log-variance of q(z | x), 2 * latent_dim numbers.
    encoder = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(2 * args.latent_dim),
        ],
        name="encoder",
    )

    # article: decoder = layers.dense_to_tensor_layer(input_layer=h,
    #              output_size=x.shape[1], activation_fn=tf.nn.sigmoid)
    # now:     the decoder reads z (sampled from q(z | x)), not the encoder's
    #          deterministic h, and outputs logits: the Bernoulli likelihood
    #          applies the sigmoid inside a numerically stable log-probability.
    decoder = keras.Sequential(
        [
            keras.Input((args.latent_dim,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(features),
        ],
        name="decoder",
    )

    # article: lower_bound = tf.reduce_mean(tf.log(tf.reduce_sum(
    #              tf.square(x - decoder(h)), axis=1)))
    #          loss = lower_bound - DKL(Q(z|x) || P(z))
    # now:     the negative ELBO of Kingma & Welling (arXiv:1312.6114, eq. 3
    #          and 10), per example:
    #              -log p(x | z) + KL(q(z | x) || N(0, I)),  z = mu + sigma * eps
    #          with log p(x | z) a TFP Bernoulli log-probability (the negative
    #          binary cross-entropy) and the KL from tfd.kl_divergence. The
    #          article's log of a squared error is not a bound on log p(x), and
    #          its minus sign on the KL would push q(z | x) away from the prior.
    vae = VAE(encoder, decoder, likelihood="bernoulli", seed=args.seed)

    # article: optimizer = tf.train.AdamOptimizer(learning_rate=0.001)
    #          train_op = optimizer.minimize(loss)
    # now:     compile + fit; the loss is built into the model.
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001))
    vae.fit(x_train, batch_size=args.batch_size, epochs=args.epochs, verbose=2)

    # The terms of the objective, per example, for the first few images.
    terms = vae.compute_losses(x_train[:4])
    for name in ("reconstruction_loss", "kl_loss", "loss"):
        print(f"VAE {name}: {np.round(terms[name].numpy(), 2)}")
    return vae


def modern_gan(x_train, args):
    """Section 4.2.1 of the article, the GAN."""
    features = x_train.shape[1]

    # article: generator = layers.dense_to_tensor_layer(input_layer=z,
    #              output_size=x.shape[1], activation_fn=tf.nn.tanh)
    # now:     a sigmoid output, because the package's data lie in [0, 1] (tanh
    #          suits data scaled to [-1, 1]), after a 128-unit hidden layer (the
    #          article maps z to pixels with a single layer).
    generator = keras.Sequential(
        [
            keras.Input((args.latent_dim,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(features, activation="sigmoid"),
        ],
        name="generator",
    )

    # article: discriminator = layers.dense_to_tensor_layer(input_layer=x,
    #              output_size=1, activation_fn=tf.nn.sigmoid)
    # now:     no sigmoid: the discriminator returns a logit, and the losses
    #          apply log-sigmoid stably as softplus (tf.log(sigmoid(l)) is -inf
    #          in float32 once |l| is large).
    discriminator = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(128),
            keras.layers.LeakyReLU(0.2),
            keras.layers.Dense(1),
        ],
        name="discriminator",
    )

    # article: z (never defined; tf.random_normal([batch, dim]) in TF1)
    # now:     the GAN draws z ~ N(0, I) itself, from its seeded generator.
    gan = GAN(generator, discriminator, seed=args.seed)

    # article: G_loss = tf.reduce_mean(tf.log(discriminator(generator(z))))
    #          D_loss = tf.reduce_mean(tf.log(discriminator(x)))
    #                   + tf.reduce_mean(tf.log(1 - discriminator(generator(z))))
    #          (both then MINIMISED, the opposite of the article's own formulas)
    # now:     the formulas of the article's section 3.2, with the right signs:
    #          D maximises log D(x) + log(1 - D(G(z))) and G maximises
    #          log D(G(z)) (the non-saturating loss of Goodfellow et al.,
    #          arXiv:1406.2661, section 3). As losses to minimise, on logits:
    #              d_loss = softplus(-real_logit) + softplus(fake_logit)
    #              g_loss = softplus(-fake_logit)
    real_logits, fake_logits = tf.constant([[2.0]]), tf.constant([[-1.0]])
    g_loss, d_loss = losses.non_saturating(real_logits, fake_logits)
    d_real, d_fake = tf.sigmoid(real_logits), tf.sigmoid(fake_logits)
    article_g_loss = tf.math.log(d_fake)
    article_d_loss = tf.math.log(d_real) + tf.math.log(1 - d_fake)
    print(
        f"G loss: article {float(article_g_loss[0, 0]):.4f}, "
        f"package {float(g_loss[0]):.4f} (= -article)"
    )
    print(
        f"D loss: article {float(article_d_loss[0, 0]):.4f}, "
        f"package {float(d_loss[0]):.4f} (= -article)"
    )

    # article: G_optimizer = tf.train.AdamOptimizer(learning_rate=0.001)
    #          D_optimizer = tf.train.AdamOptimizer(learning_rate=0.001)
    #          G_train_op = G_optimizer.minimize(G_loss, global_step=global_step)
    #          D_train_op = D_optimizer.minimize(D_loss, global_step=global_step)
    # now:     one optimizer per network, each updating only its own network's
    #          variables (TF1's minimize() without var_list updated every
    #          trainable variable, both networks). The step count is each
    #          optimizer's `iterations`; no shared global_step incremented twice.
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5),
        loss="non_saturating",
    )
    gan.fit(x_train, batch_size=args.batch_size, epochs=args.epochs, verbose=2)
    print(f"generator steps taken: {int(gan.g_optimizer.iterations)}")
    return gan


def main():
    args = parse_args()
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)

    # The article's networks are dense layers on flattened images (x.shape[1]).
    arrays = data.load_arrays(args.dataset)
    x_train = arrays.x_train.reshape(len(arrays.x_train), -1)
    x_test = arrays.x_test.reshape(len(arrays.x_test), -1)

    vae = modern_vae(x_train, args)
    plots.save_image_grid(vae.sample(64, seed=0), output_dir / "vae_samples.png")
    plots.save_reconstructions(
        x_test[:16],
        vae.reconstruct(x_test[:16]),
        output_dir / "vae_reconstructions.png",
    )

    gan = modern_gan(x_train, args)
    plots.save_image_grid(gan.generate(64, seed=0), output_dir / "gan_samples.png")
    print(f"Wrote {output_dir}")


if __name__ == "__main__":
    main()
