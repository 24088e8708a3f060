"""GAN losses and gradient penalties: pure, per-example functions of critic outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import tensorflow as tf

TensorLike = tf.types.experimental.TensorLike
LossPair = tuple[tf.Tensor, tf.Tensor]  # (generator_loss, discriminator_loss)
_f32 = functools.partial(tf.cast, dtype=tf.float32)
_register = keras.saving.register_keras_serializable(package="keras_genmodels")


def _per_example(values: tf.Tensor) -> tf.Tensor:
    """Averages an elementwise loss over every non-batch axis: shape [batch]."""
    rank = values.shape.rank
    if rank == 0:
        raise ValueError("GAN logits need a batch axis; got a scalar.")
    if rank == 1:
        return values
    if rank is None:
        return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)
    return tf.reduce_mean(values, axis=list(range(1, rank)))


def _losses(g_term, d_real_term, d_fake_term) -> LossPair:
    """(g_loss, d_loss) of shape [batch]; d_loss pairs the i-th real and fake."""
    real, fake = _per_example(d_real_term), _per_example(d_fake_term)
    n_real, n_fake = real.shape[0], fake.shape[0]
    message = "`real_logits` and `fake_logits` must have the same batch size"
    if None not in (n_real, n_fake) and n_real != n_fake:
        raise ValueError(f"{message}; got {n_real} and {n_fake}.")
    if None in (n_real, n_fake):
        check = tf.debugging.assert_equal(tf.shape(real)[0], tf.shape(fake)[0], message)
        with tf.control_dependencies([check]):
            real = tf.identity(real)
    return _per_example(g_term), real + fake


@_register
def minimax(real_logits: TensorLike, fake_logits: TensorLike) -> LossPair:
    """The original minimax GAN game, with the generator minimising D's objective.

    With D(x) = sigmoid(logit) the discriminator maximises
    E[log D(x)] + E[log(1 - D(G(z)))] and the generator minimises the second term:

        d_loss = -log D(x) - log(1 - D(G(z))) = softplus(-real) + softplus(fake)
        g_loss = log(1 - D(G(z)))             = -softplus(fake)

    The generator's gradient, -sigmoid(fake), vanishes when D confidently rejects
    the fakes, i.e. early in training: this loss saturates. Prefer
    `non_saturating`; `minimax` is here for the analysis and the comparison.

    Args:
        real_logits: tensor of shape [batch] or [batch, ...]. D's logits on data.
            Extra axes (e.g. a patch discriminator's) are averaged per example.
        fake_logits: tensor of shape [batch] or [batch, ...]. D's logits on G(z).
            The i-th fake pairs with the i-th real, so the batch sizes must agree
            (checked statically, or with `tf.debugging.assert_equal`).

    Returns:
        `(generator_loss, discriminator_loss)`: float32, shape [batch], not
        reduced (reduce with `tf.nn.compute_average_loss`).

    Example:

    >>> [round(float(t[0]), 4) for t in minimax([0.0], [0.0])]
    [-0.6931, 1.3863]

    References:
        Goodfellow et al., Generative Adversarial Networks, arXiv:1406.2661.
    """
    real, fake = _f32(real_logits), _f32(fake_logits)
    return _losses(-tf.nn.softplus(fake), tf.nn.softplus(-real), tf.nn.softplus(fake))


@_register
def non_saturating(real_logits: TensorLike, fake_logits: TensorLike) -> LossPair:
    """The non-saturating GAN (the package default): G maximises log D(G(z)).

        d_loss = softplus(-real) + softplus(fake)      (as in `minimax`)
        g_loss = -log D(G(z)) = softplus(-fake)

    Same fixed points as `minimax`, strong early gradients; arguments as there.

    Example:

    >>> [round(float(t[0]), 4) for t in non_saturating([2.0], [-2.0])]
    [2.1269, 0.2539]

    References:
        Goodfellow et al., Generative Adversarial Networks, arXiv:1406.2661.
    """
    real, fake = _f32(real_logits), _f32(fake_logits)
    return _losses(tf.nn.softplus(-fake), tf.nn.softplus(-real), tf.nn.softplus(fake))


@_register
def wasserstein(real_logits: TensorLike, fake_logits: TensorLike) -> LossPair:
    """The Wasserstein GAN loss of an (unbounded, linear-output) critic.

        d_loss = critic(G(z)) - critic(x)      g_loss = -critic(G(z))

    Keep the critic Lipschitz (`gradient_penalty`, spectral normalisation or
    weight clipping), or its outputs diverge. Arguments and return as `minimax`.

    Example:

    >>> [t.numpy().tolist() for t in wasserstein([1.0], [-0.5])]
    [[0.5], [-1.5]]

    References:
        Arjovsky et al., Wasserstein GAN, arXiv:1701.07875.
    """
    real, fake = _f32(real_logits), _f32(fake_logits)
    return _losses(-fake, -real, fake)


@_register
def hinge(real_logits: TensorLike, fake_logits: TensorLike) -> LossPair:
    """The hinge GAN loss (geometric GAN; SNGAN, BigGAN).

        d_loss = relu(1 - critic(x)) + relu(1 + critic(G(z)))
        g_loss = -critic(G(z))

    Arguments and return as in `minimax`.

    Example:

    >>> [t.numpy().tolist() for t in hinge([0.5], [0.5])]
    [[-0.5], [2.0]]

    References:
        Lim & Ye, Geometric GAN, arXiv:1705.02894.
        Miyato et al., Spectral Normalization for GANs, arXiv:1802.05957.
    """
    real, fake = _f32(real_logits), _f32(fake_logits)
    return _losses(-fake, tf.nn.relu(1.0 - real), tf.nn.relu(1.0 + fake))


@_register
def least_squares(real_logits: TensorLike, fake_logits: TensorLike) -> LossPair:
    """The least-squares GAN with the 0-1 coding a=0 (fake), b=1 (real), c=1.

        d_loss = 0.5 * (D(x) - 1)^2 + 0.5 * D(G(z))^2
        g_loss = 0.5 * (D(G(z)) - 1)^2

    D is the raw (linear) output. Arguments and return as in `minimax`.

    Example:

    >>> [t.numpy().tolist() for t in least_squares([1.0], [0.0])]
    [[0.5], [0.0]]

    References:
        Mao et al., Least Squares Generative Adversarial Networks, arXiv:1611.04076.
    """
    real, fake = _f32(real_logits), _f32(fake_logits)
    return _losses(0.5 * (fake - 1.0) ** 2, 0.5 * (real - 1.0) ** 2, 0.5 * fake**2)


def _input_gradients(critic: Callable, x: tf.Tensor, training: bool) -> tf.Tensor:
    """Returns d sum(critic(x)) / dx flattened to [batch, features] (0 if unused)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(_f32(critic(x, training=training)))
    grads = tape.gradient(total, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return tf.reshape(grads, [tf.shape(x)[0], -1])


def gradient_penalty(
    critic: Callable,
    real: TensorLike,
    fake: TensorLike,
    seed: TensorLike | None = None,
    training: bool = True,
    epsilon: TensorLike | None = None,
) -> tf.Tensor:
    """The WGAN-GP penalty (||grad critic(x_hat)|| - 1)^2 on random interpolates.

        eps ~ U[0, 1] per example,    x_hat = eps * x + (1 - eps) * G(z)
        penalty_i = (sqrt(sum_j (d critic(x_hat)_i / d x_hat_ij)^2 + 1e-12) - 1)^2

    The 1e-12 keeps the norm's gradient finite where the critic is flat; the
    caller applies the weight lambda (10 in the paper). The critic must treat
    examples independently (no batch normalisation, as the paper advises).

    Args:
        critic: callable. `critic(x, training=...)`, e.g. a `keras.Model`.
        real: tensor of shape [batch, ...]. Data.
        fake: tensor of the same shape. Generated examples.
        seed: int tensor of shape [2]. Seed of `tf.random.stateless_uniform`
            for eps. Defaults to None (then `epsilon` is required).
        training: bool. Passed to the critic. Defaults to True.
        epsilon: tensor of shape [batch]. Interpolation weights to use instead
            of drawing them, e.g. one replica's slice of a global-batch draw.
            Defaults to None.

    Returns:
        Float32 tensor of shape [batch], not reduced.

    Example:

    >>> critic = lambda x, training=False: 2.0 * tf.reduce_sum(x, axis=1)
    >>> x = tf.zeros([3, 4])
    >>> gradient_penalty(critic, x, x, seed=[0, 1]).numpy().round(4).tolist()
    [9.0, 9.0, 9.0]

    References:
        Gulrajani et al., Improved Training of Wasserstein GANs, arXiv:1704.00028.
    """
    real, fake = _f32(real), _f32(fake)
    batch_shape = [tf.shape(real)[0]] + [1] * (real.shape.rank - 1)
    if epsilon is None:
        if seed is None:
            raise ValueError("`gradient_penalty` needs a `seed` or an `epsilon`.")
        eps = tf.random.stateless_uniform(batch_shape, seed=seed, dtype=tf.float32)
    else:
        eps = tf.reshape(_f32(epsilon), batch_shape)
    x_hat = eps * real + (1.0 - eps) * fake
    grads = _input_gradients(critic, x_hat, training)
    norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
    return tf.square(norm - 1.0)


def r1_penalty(critic: Callable, real: TensorLike, training: bool = True) -> tf.Tensor:
    """The R1 penalty 0.5 * ||grad_x critic(x)||^2 on real data.

    The paper's regulariser is gamma / 2 * E[||grad_x D(x)||^2]; this returns
    the per-example ||grad||^2 / 2, and the caller multiplies by gamma.
    Arguments as in `gradient_penalty`; returns a float32 tensor of shape [batch].

    Example:

    >>> critic = lambda x, training=False: 2.0 * tf.reduce_sum(x, axis=1)
    >>> r1_penalty(critic, tf.zeros([2, 4])).numpy().tolist()
    [8.0, 8.0]

    References:
        Mescheder et al., Which Training Methods for GANs do actually Converge?,
        arXiv:1801.04406.
    """
    grads = _input_gradients(critic, _f32(real), training)
    return 0.5 * tf.reduce_sum(tf.square(grads), axis=1)


LOSSES = {
    fn.__name__: fn
    for fn in (hinge, least_squares, minimax, non_saturating, wasserstein)
}
# None of the five generator terms reads D's logits on real data, so the
# generator step skips that forward pass (see `generator_uses_real_logits`).
for _fn in LOSSES.values():
    _fn.generator_uses_real_logits = False
PENALTIES = {"gradient_penalty": gradient_penalty, "r1_penalty": r1_penalty}
VALID_PAIRINGS = {
    "gradient_penalty": tuple(sorted(LOSSES)),
    "r1_penalty": ("hinge", "least_squares", "minimax", "non_saturating"),
}


def _name(identifier: str | Callable, registry: dict, argument: str) -> str | None:
    """The registry name of a name or function; None for a custom callable."""
    if callable(identifier):
        return next((k for k, v in registry.items() if v is identifier), None)
    if identifier not in registry:
        raise ValueError(
            f"Unknown `{argument}` {identifier!r}. "
            f"Valid names: {', '.join(sorted(registry))}."
        )
    return identifier


def get_loss(identifier: str | Callable) -> Callable:
    """Returns a loss function from its name, or `identifier` if it is callable."""
    name = _name(identifier, LOSSES, "loss")
    return identifier if callable(identifier) else LOSSES[name]


def generator_uses_real_logits(loss_fn: Callable) -> bool:
    """Whether the generator loss of `loss_fn` depends on `real_logits`.

    A loss declares it with a `generator_uses_real_logits` attribute; the five
    losses here set it to False (their l_G is a function of D(G(z)) alone), so
    `GAN` evaluates D on real data only in the discriminator step. A custom
    callable without the attribute is assumed to use them (as a relativistic
    loss does): set `my_loss.generator_uses_real_logits = False` to save the pass.

    Example:

    >>> generator_uses_real_logits(hinge), generator_uses_real_logits(max)
    (False, True)
    """
    return bool(getattr(loss_fn, "generator_uses_real_logits", True))


def check_penalty(loss: str | Callable, penalty: str | Callable | None) -> None:
    """Raises ValueError for an unknown name or a loss/penalty pair that fails.

    `gradient_penalty` (soft 1-Lipschitz) suits every loss: WGAN-GP's, it also
    helps the sigmoid losses (Fedus et al., arXiv:1710.08446; Kurach et al.,
    arXiv:1807.04720). `r1_penalty` suits every loss but `wasserstein`: it acts on
    real data only, so a linear Wasserstein critic stays unbounded on the fakes
    and diverges. None is always accepted; custom callables are not checked.

    Example:

    >>> check_penalty("wasserstein", "gradient_penalty")
    """
    loss_name = _name(loss, LOSSES, "loss")
    penalty_name = None if penalty is None else _name(penalty, PENALTIES, "penalty")
    if None in (loss_name, penalty_name) or loss_name in VALID_PAIRINGS[penalty_name]:
        return
    pairings = "; ".join(f"{p} with {', '.join(v)}" for p, v in VALID_PAIRINGS.items())
    raise ValueError(
        f"`penalty` {penalty_name!r} cannot be used with `loss` {loss_name!r}. "
        f"Valid pairings: {pairings}."
    )
