"""The computational errata of docs/migration.md, each shown against the package.

Each test writes out the source article's expression as printed (section 4 code or
section 3 formula), runs it on a problem whose answer is known, and runs the
package's counterpart next to it. Toy problems: a 1-D GAN (data N(2, 0.5^2),
generator G(z) = theta + 0.5 z, logistic discriminator) and a linear-Gaussian
VAE (probabilistic PCA), whose log p(x) and exact posterior are closed-form.
"""

import ast

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, VAE, GaussianLikelihood
from keras_genmodels.gan import losses

# ---- the article's expressions, as printed in its section 4 -------------------


def article_gan_losses(real_logits, fake_logits):
    """G_loss and D_loss of the article, per example; D = sigmoid(logit).

    G_loss = tf.reduce_mean(tf.log(discriminator(generator(z))))
    D_loss = tf.reduce_mean(tf.log(discriminator(x)))
             + tf.reduce_mean(tf.log(1 - discriminator(generator(z))))
    (and both are passed to `minimize`).
    """
    d_real, d_fake = tf.sigmoid(real_logits), tf.sigmoid(fake_logits)
    return tf.math.log(d_fake), tf.math.log(d_real) + tf.math.log(1.0 - d_fake)


def article_gan_losses_stable(real_logits, fake_logits):
    """The same two expressions with log sigmoid(l) written as -softplus(-l).

    Equal to `article_gan_losses` in exact arithmetic; free of float32 overflow,
    so what a test shows about them is the mathematics, not rounding.
    """
    return -tf.nn.softplus(-fake_logits), -tf.nn.softplus(-real_logits) - (
        tf.nn.softplus(fake_logits)
    )


def article_lower_bound(x, reconstruction):
    """lower_bound = tf.reduce_mean(tf.log(tf.reduce_sum(tf.square(x - x'), 1)))."""
    return np.log(np.sum(np.square(x - reconstruction), axis=1))


# ---- the 1-D GAN ---------------------------------------------------------------

DATA_MEAN, DATA_STD = 2.0, 0.5


def _toy_batch(n=512, seed=0):
    rng = np.random.default_rng(seed)
    real = tf.constant(rng.normal(DATA_MEAN, DATA_STD, n), tf.float32)
    eps = tf.constant(rng.normal(0.0, 1.0, n), tf.float32)
    return real, eps


def play(g_loss_fn, d_loss_fn, steps=400, lr=0.2):
    """Alternating SGD: one step of D on `d_loss_fn`, one of G on `g_loss_fn`.

    Each loss function maps (real_logits, fake_logits) to (l_G, l_D) per example;
    D updates only (w, c) of its logit w * x + c, G updates only theta (from 0),
    as with one optimizer per network. Returns theta after every step.
    """
    real, eps = _toy_batch()
    theta = tf.Variable(0.0)
    disc = tf.Variable([0.0, 0.0])

    def logits():
        fake = theta + DATA_STD * eps
        return disc[0] * real + disc[1], disc[0] * fake + disc[1]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            d_loss = tf.reduce_mean(d_loss_fn(*logits())[1])
        disc.assign_sub(lr * tape.gradient(d_loss, disc))
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(g_loss_fn(*logits())[0])
        theta.assign_sub(lr * tape.gradient(g_loss, theta))
        return theta.read_value()

    return np.array([float(step()) for _ in range(steps)])


def _generator_gradient(loss_fn):
    """d mean(l_G) / d theta at theta = 0, against the Bayes-optimal D for theta = 0.

    For data N(2, 0.5^2) against fakes N(0, 0.5^2) the optimal logit is
    log p_data(x) / p_G(x) = (x^2 - (x - 2)^2) / (2 * 0.25) = 8 x - 8; D is held
    fixed (the gradient does not flow into it).
    """
    _, eps = _toy_batch()
    theta = tf.Variable(0.0)
    with tf.GradientTape() as tape:
        logit = 8.0 * (theta + DATA_STD * eps) - 8.0
        g_loss = tf.reduce_mean(loss_fn(logit, logit)[0])
    return float(tape.gradient(g_loss, theta))


def test_article_generator_loss_moves_the_generator_away_from_the_data():
    # Against the discriminator of the article's own formulas (D = P(real)),
    # minimising E[log D(G(z))] pushes D(G(z)) to 0: the gradient points the
    # wrong way, and gradient descent drives G away from the data mean 2.
    # The minimax loss points the right way but is already small (D is
    # confident, see the saturation test); the non-saturating one is not.
    assert _generator_gradient(article_gan_losses) > 5.0
    assert -0.5 < _generator_gradient(losses.minimax) < 0.0
    assert _generator_gradient(losses.non_saturating) < -5.0

    # Co-trained with a logistic D trained correctly (the package's d_loss),
    # 400 SGD steps: the article's generator runs away from the data (theta
    # 0 -> about -197; as printed, with tf.log(sigmoid(.)), it turns NaN after
    # about 100 steps), while the package's two generator losses reach the data
    # and settle on it (theta about 2.02 after damped oscillations).
    theta = play(article_gan_losses_stable, losses.minimax)
    assert np.all(np.diff(theta) < 0) and theta[-1] < -100.0
    assert not np.isfinite(play(article_gan_losses, losses.minimax)[-1])
    for loss in (losses.minimax, losses.non_saturating):
        theta = play(loss, loss)
        assert abs(theta[-100:].mean() - DATA_MEAN) < 0.1, theta[::40]


def test_article_discriminator_loss_is_unbounded_and_learns_inverted_labels():
    real, eps = _toy_batch()
    fake = DATA_STD * eps  # a fixed generator, theta = 0

    def train_discriminator(loss_fn, steps=300, lr=0.1):
        disc = tf.Variable([0.0, 0.0])

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                logits = disc[0] * real + disc[1], disc[0] * fake + disc[1]
                loss = tf.reduce_mean(loss_fn(*logits)[1])
            disc.assign_sub(lr * tape.gradient(loss, disc))
            return loss

        history = np.array([float(step()) for _ in range(steps)])
        d_real = float(tf.reduce_mean(tf.sigmoid(disc[0] * real + disc[1])))
        d_fake = float(tf.reduce_mean(tf.sigmoid(disc[0] * fake + disc[1])))
        return history, d_real, d_fake

    # Minimising the article's D_loss = E[log D(x)] + E[log(1 - D(G(z)))]
    # (which the article's formula says to MAXIMISE) teaches D to call data
    # fake and fakes real, and the loss decreases without bound (written with
    # tf.log(sigmoid(.)) as in the article, it reaches -inf and then NaN).
    history, d_real, d_fake = train_discriminator(article_gan_losses_stable)
    assert d_real < 1e-6 and d_fake > 0.1  # mean D(x) ~ 1e-13, D(G(z)) ~ 0.26
    assert history[-1] < -100.0 and np.all(np.diff(history) < 0)  # ~ -152

    # The package's d_loss = -(E[log D(x)] + E[log(1 - D(G(z)))]) is a
    # cross-entropy: bounded below by 0, converging, with D(x) > 1/2 > D(G(z)).
    history, d_real, d_fake = train_discriminator(losses.minimax)
    assert d_real > 0.9 and d_fake < 0.15  # 0.93 and 0.10
    assert history.min() >= 0.0 and abs(history[-1] - history[-2]) < 1e-3


def test_article_gan_code_as_a_whole_does_not_reach_the_data():
    # Both of the article's losses minimised, each network by its own
    # optimizer (the most charitable reading of `minimize` without var_list).
    # D learns to call the data fake, without bound; G, chasing what that D
    # calls fake, passes the data and keeps going (theta 0 -> about 6000).
    # Written with tf.log(sigmoid(.)) as printed, it is NaN within 40 steps.
    theta = play(article_gan_losses_stable, article_gan_losses_stable)
    assert theta[-1] > 1000.0
    assert not np.isfinite(play(article_gan_losses, article_gan_losses)[-1])


# ---- vanishing gradients: the FAQ's "smaller learning rate" ----------------------


def test_minimax_generator_gradient_vanishes_whatever_the_learning_rate():
    logits = tf.Variable([-2.0, -5.0, -10.0, -20.0])  # D(G(z)) = sigmoid(logit)
    gradients = {}
    for name in ("minimax", "non_saturating"):
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_sum(losses.LOSSES[name](tf.zeros(4), logits)[0])
        gradients[name] = tape.gradient(g_loss, logits).numpy()
    d_fake = 1.0 / (1.0 + np.exp(-logits.numpy()))
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) = -D(G(z)) -> 0 as D(G(z)) -> 0;
    # d/dl -log sigmoid(l) = -(1 - D(G(z))) -> -1 (Goodfellow et al., sec. 3).
    np.testing.assert_allclose(gradients["minimax"], -d_fake, rtol=1e-5)
    np.testing.assert_allclose(gradients["non_saturating"], d_fake - 1.0, rtol=1e-5)
    assert abs(gradients["minimax"][-1]) < 1e-8
    assert abs(gradients["non_saturating"][-1]) > 0.99

    # A generator far from the data (theta = -1) against the confident
    # optimal D for theta = 0, 100 SGD steps at each learning rate. With the
    # minimax loss theta moves 2.2e-3 at lr 0.1 and less at smaller rates (0
    # in float32 at 1e-4); the non-saturating loss moves it 3.5 at lr 0.1 and
    # 0.08 at 1e-4. A smaller learning rate only shrinks every step further.
    _, eps = _toy_batch()

    def moved(loss_fn, lr, steps=100):
        theta = tf.Variable(-1.0)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                fake = theta + DATA_STD * eps
                logit = 8.0 * fake - 8.0  # D(x) = sigmoid(8 x - 8), held fixed
                g_loss = tf.reduce_mean(loss_fn(logit, logit)[0])
            theta.assign_sub(lr * tape.gradient(g_loss, theta))

        for _ in range(steps):
            step()
        return abs(float(theta) + 1.0)

    rates = (1e-1, 1e-2, 1e-3, 1e-4)
    minimax = [moved(losses.minimax, lr) for lr in rates]
    non_saturating = [moved(losses.non_saturating, lr) for lr in rates]
    assert max(minimax) < 1e-2 and minimax == sorted(minimax, reverse=True)
    assert all(n > 100 * m for n, m in zip(non_saturating, minimax, strict=True))
    assert non_saturating[0] > 1.0


def test_log_of_sigmoid_overflows_where_the_package_losses_stay_finite():
    # tf.log(D) and tf.log(1 - D) with D a sigmoid output, as the article
    # writes them: in float32 1 - sigmoid(20) rounds to 0, sigmoid(-120) to 0.
    real_logits = tf.Variable([-120.0])
    fake_logits = tf.Variable([20.0])
    with tf.GradientTape(persistent=True) as tape:
        article_g, article_d = article_gan_losses(real_logits, fake_logits)
        package_g, package_d = losses.minimax(real_logits, fake_logits)
    assert np.isneginf(article_d.numpy()).all()
    article_gradient = tape.gradient(article_d, fake_logits).numpy()
    assert not np.isfinite(article_gradient).all()
    # softplus on logits: exact values and finite gradients.
    np.testing.assert_allclose(package_d.numpy(), [140.0], rtol=1e-6)
    np.testing.assert_allclose(package_g.numpy(), [-20.0], rtol=1e-6)
    for value in (package_d, package_g):
        for variable in (real_logits, fake_logits):
            gradient = tape.gradient(value, variable)
            assert gradient is None or np.isfinite(gradient.numpy()).all()


def test_each_gan_optimizer_updates_only_its_own_network():
    # TF1's optimizer.minimize(loss) without var_list updates every trainable
    # variable, so the article's G step also trains D and vice versa. The
    # package's GAN gives each optimizer its own network's variables.
    x = np.random.default_rng(0).uniform(size=(16, 4)).astype("float32")
    for frozen in ("generator", "discriminator"):
        gan = GAN(data_shape=(4,), latent_dim=2, seed=0)
        rates = {"generator": 0.1, "discriminator": 0.1, frozen: 0.0}
        gan.compile(
            d_optimizer=keras.optimizers.SGD(rates["discriminator"]),
            g_optimizer=keras.optimizers.SGD(rates["generator"]),
        )
        before = {
            name: [w.numpy().copy() for w in getattr(gan, name).weights]
            for name in rates
        }
        gan.train_step(tf.constant(x))
        for name in rates:
            after = [w.numpy() for w in getattr(gan, name).weights]
            unchanged = all(
                np.array_equal(a, b) for a, b in zip(before[name], after, strict=True)
            )
            assert unchanged == (name == frozen), (frozen, name)


# ---- the VAE: a linear-Gaussian model with closed-form log p(x) ------------------

D_X, D_Z, SIGMA = 16, 2, 1.0


def _linear_gaussian(seed=0, n=256):
    """W (orthogonal columns), b, data x and the closed-form log p(x), float64.

    z ~ N(0, I), x | z ~ N(W z + b, SIGMA^2 I), so p(x) = N(b, W W^T + SIGMA^2 I)
    and p(z | x) = N(P W^T (x - b), SIGMA^2 P) with P = (W^T W + SIGMA^2 I)^-1,
    diagonal because W's columns are orthogonal.
    """
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(D_X, D_Z)))
    w = basis * np.array([3.0, 2.0])
    b = rng.normal(size=D_X)
    x = rng.normal(size=(n, D_Z)) @ w.T + b + SIGMA * rng.normal(size=(n, D_X))
    return w, b, x.astype("float32"), _log_px(w, b, x)


def _log_px(w, b, x):
    """log N(x; b, W W^T + SIGMA^2 I) per example, float64."""
    chol = np.linalg.cholesky(w @ w.T + SIGMA**2 * np.eye(D_X))
    r = np.linalg.solve(chol, (np.asarray(x, np.float64) - b).T)
    log_det = 2 * np.log(np.diag(chol)).sum()
    return -0.5 * ((r**2).sum(0) + log_det + D_X * np.log(2 * np.pi))


def _linear_vae(w, b, encoder_scale=1.0, variance_scale=1.0, kl_estimator="analytic"):
    """A package VAE holding the model (W, b); its encoder is the exact posterior
    scaled by `encoder_scale` (mean) and `variance_scale` (variance)."""
    encoder = keras.Sequential([keras.Input((D_X,)), keras.layers.Dense(2 * D_Z)])
    decoder = keras.Sequential([keras.Input((D_Z,)), keras.layers.Dense(D_X)])
    vae = VAE(
        encoder,
        decoder,
        likelihood=GaussianLikelihood(scale=SIGMA),
        kl_estimator=kl_estimator,
        seed=0,
    )
    precision = w.T @ w + SIGMA**2 * np.eye(D_Z)  # diagonal
    mean_map = encoder_scale * w @ np.linalg.inv(precision)  # x - b -> E[z | x]
    variance = variance_scale * SIGMA**2 / np.diag(precision)
    kernel = np.concatenate([mean_map, np.zeros((D_X, D_Z))], axis=1)
    bias = np.concatenate([-b @ mean_map, np.log(variance)])
    encoder.layers[-1].set_weights([kernel.astype("float32"), bias.astype("float32")])
    decoder.layers[-1].set_weights([w.T.astype("float32"), b.astype("float32")])
    return vae


def _closed_form_elbo(w, b, x, vae):
    """E_q[log p(x | z)] - KL(q || N(0, I)) and KL(q || p(z | x)), float64."""
    mean, stddev = (np.asarray(t, np.float64) for t in vae.encode(x))
    var = stddev**2
    residual = x - mean @ w.T - b
    expected_log_lik = -0.5 / SIGMA**2 * (
        (residual**2).sum(1) + var @ (w**2).sum(0)
    ) - 0.5 * D_X * np.log(2 * np.pi * SIGMA**2)
    kl_prior = 0.5 * (mean**2 + var - 1 - np.log(var)).sum(1)
    precision = np.diag(w.T @ w + SIGMA**2 * np.eye(D_Z))
    post_mean = (x - b) @ w / precision
    post_var = SIGMA**2 / precision
    kl_posterior = 0.5 * (
        var / post_var + (mean - post_mean) ** 2 / post_var - 1 + np.log(post_var / var)
    ).sum(1)
    return expected_log_lik - kl_prior, kl_posterior


def test_package_elbo_is_a_lower_bound_tight_at_the_true_posterior():
    w, b, x, log_px = _linear_gaussian()
    # With q(z | x) the exact posterior, log p(x, z) - log q(z | x) = log p(x)
    # for every z: the package's one-sample (sampled-KL) ELBO equals log p(x).
    exact = _linear_vae(w, b, kl_estimator="sampled")
    elbo = -exact.compute_losses(x)["loss"].numpy()
    np.testing.assert_allclose(elbo, log_px, atol=1e-3)

    # A worse q: the ELBO (estimated by the package, 64 draws per example) is
    # the closed form, below log p(x) by exactly KL(q(z | x) || p(z | x)).
    vae = _linear_vae(w, b, encoder_scale=0.5, variance_scale=4.0)
    elbo_exact, gap = _closed_form_elbo(w, b, x, vae)
    np.testing.assert_allclose(elbo_exact + gap, log_px, rtol=1e-6)
    repeats = 64
    draws = -vae.compute_losses(np.tile(x, (repeats, 1)))["loss"].numpy()
    elbo_mc = draws.reshape(repeats, -1).mean(0)
    assert abs(elbo_mc.mean() - elbo_exact.mean()) < 0.05
    assert np.all(elbo_exact < log_px) and gap.mean() > 2.0

    # IWAE (Burda et al.): K = 1 is the ELBO; the bound rises toward log p(x).
    iwae = [
        vae.log_likelihood(x, num_samples=k, seed=1).mean() for k in (1, 10, 100, 1000)
    ]
    assert abs(iwae[0] - elbo_exact.mean()) < 0.3
    assert iwae == sorted(iwae)
    assert log_px.mean() - 0.05 < iwae[-1] <= log_px.mean() + 0.01


def test_article_lower_bound_is_not_a_bound_and_rewards_bad_reconstructions():
    w, b, x, log_px = _linear_gaussian()
    vae = _linear_vae(w, b)
    # The article's "lower bound" log ||x - x'||^2 exceeds log p(x) for every
    # example, by about 27 nats: it bounds nothing.
    article = article_lower_bound(x, vae.reconstruct(x).numpy())
    assert np.all(article > log_px)
    assert article.mean() - log_px.mean() > 20.0

    # Worse decoders (the bias shifted by `shift`): log p(x) falls, while the
    # article's quantity, which a lower bound would have us maximise, rises.
    shifts = (0.0, 1.0, 2.0, 4.0)
    article_values, log_likelihoods = [], []
    for shift in shifts:
        reconstruction = vae.reconstruct(x).numpy() + shift
        article_values.append(article_lower_bound(x, reconstruction).mean())
        log_likelihoods.append(_log_px(w, b + shift, x).mean())
    assert article_values == sorted(article_values)
    assert log_likelihoods == sorted(log_likelihoods, reverse=True)


def test_article_vae_loss_drives_the_kl_up_and_the_elbo_down():
    # loss = lower_bound - DKL, minimised: the -DKL term MAXIMISES the KL.
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, D_Z)) @ rng.normal(size=(D_Z, D_X))).astype("float32")
    x += rng.normal(size=x.shape).astype("float32")

    def train(objective, steps=25):
        keras.utils.set_random_seed(0)
        encoder = keras.Sequential([keras.Input((D_X,)), keras.layers.Dense(2 * D_Z)])
        decoder = keras.Sequential([keras.Input((D_Z,)), keras.layers.Dense(D_X)])
        vae = VAE(encoder, decoder, likelihood=GaussianLikelihood(scale=SIGMA), seed=0)
        optimizer = keras.optimizers.Adam(0.01)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = objective(vae)
            variables = vae.trainable_variables
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))

        def kl_and_elbo():
            terms = vae.compute_losses(x)
            return float(tf.reduce_mean(terms["kl_loss"])), -float(
                tf.reduce_mean(terms["loss"])
            )

        start = kl_and_elbo()
        for _ in range(steps):
            step()
        return start, kl_and_elbo()

    def article_objective(vae):
        # lower_bound - DKL, x' decoded from z ~ q(z | x) (the article decodes
        # a deterministic h; sampling z only makes it closer to a VAE).
        q = vae.posterior(x, training=True)
        z = q.mean() + q.stddev() * tf.random.normal(tf.shape(q.mean()), seed=1)
        reconstruction = vae.likelihood.mean(vae.decoder(z, training=True))
        lower_bound = tf.reduce_mean(
            tf.math.log(tf.reduce_sum(tf.square(x - reconstruction), axis=1))
        )
        kl = vae.compute_losses(x, training=True)["kl_loss"]
        return lower_bound - tf.reduce_mean(kl)

    def package_objective(vae):
        return tf.reduce_mean(vae.compute_losses(x, training=True)["objective"])

    (kl0, elbo0), (kl1, elbo1) = train(article_objective)
    assert kl1 > 100 * kl0 and elbo1 < elbo0 - 1000
    (kl0, elbo0), (kl1, elbo1) = train(package_objective)
    assert kl1 < kl0 and elbo1 > elbo0 + 10


# ---- the code does not run -------------------------------------------------------

ARTICLE_VAE_LOSS_LINE = "loss = lower_bound - DKL(Q(z|x) || P(z))"


def test_article_code_does_not_run_on_tensorflow_2():
    with pytest.raises(SyntaxError):  # `||` is not Python
        ast.parse(ARTICLE_VAE_LOSS_LINE)
    with pytest.raises(ImportError):
        __import__("tensorflow.contrib")
    for name in ("log", "random_normal", "placeholder", "Session"):
        assert not hasattr(tf, name), name
    assert not hasattr(tf.train, "AdamOptimizer")
    assert not hasattr(tf.compat.v1.layers, "dense_to_tensor_layer")
