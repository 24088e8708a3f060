import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels.gan import losses


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _paper_reference(name, real, fake):
    """(g_loss, d_loss) from the papers' formulas, with probabilities D = sigmoid."""
    if name in ("minimax", "non_saturating"):
        d_real, d_fake = _sigmoid(real), _sigmoid(fake)
        d_loss = -np.log(d_real) - np.log(1 - d_fake)
        g_loss = np.log(1 - d_fake) if name == "minimax" else -np.log(d_fake)
        return g_loss, d_loss
    return {
        "wasserstein": lambda: (-fake, fake - real),
        "hinge": lambda: (-fake, np.maximum(0, 1 - real) + np.maximum(0, 1 + fake)),
        "least_squares": lambda: (
            0.5 * (fake - 1) ** 2,
            0.5 * (real - 1) ** 2 + 0.5 * fake**2,
        ),
    }[name]()


def _stable_reference(name, real, fake):
    softplus = lambda x: np.logaddexp(0.0, x)  # noqa: E731
    if name == "minimax":
        return -softplus(fake), softplus(-real) + softplus(fake)
    if name == "non_saturating":
        return softplus(-fake), softplus(-real) + softplus(fake)
    return _paper_reference(name, real, fake)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_losses_match_paper_formulas(name):
    real, fake = np.random.default_rng(0).normal(scale=2.0, size=(2, 16))
    real, fake = real.astype("float32"), fake.astype("float32")
    g, d = losses.get_loss(name)(real, fake)
    assert g.shape == d.shape == (16,) and g.dtype == d.dtype == tf.float32
    # float64 reference; for minimax, g_loss is log(1 - D(G(z))) itself
    g_ref, d_ref = _paper_reference(name, real.astype("f8"), fake.astype("f8"))
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d, d_ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_losses_are_finite_and_stable_for_large_logits(name):
    real = np.array([80.0, -80.0, 1e3, -1e3, 80.0, -1e3], "float32")
    fake = np.array([-80.0, 80.0, -1e3, 1e3, 80.0, -1e3], "float32")
    g, d = losses.LOSSES[name](real, fake)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(d))
    g_ref, d_ref = _stable_reference(name, real.astype("float64"), fake.astype("f8"))
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-30)
    np.testing.assert_allclose(d, d_ref, rtol=1e-5, atol=1e-30)


def test_logit_shapes_squeeze_and_average_extra_axes():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(2, 4, 3, 3)).astype("float32")
    for fn in losses.LOSSES.values():
        flat = fn(real[:, 0, 0], fake[:, 0, 0])
        for got, want in zip(fn(real[:, :1, 0], fake[:, :1, 0]), flat, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
        per_patch = [
            fn(real[:, i, j], fake[:, i, j]) for i in range(3) for j in range(3)
        ]
        for k, got in enumerate(fn(real, fake)):
            want = np.mean([p[k] for p in per_patch], axis=0)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["minimax", "non_saturating", "hinge", "wasserstein"])
def test_gradient_signs(name):
    real = tf.constant([0.3, -0.8, 0.9])  # inside the hinge margins
    fake = tf.constant([-0.5, 0.7, -0.9])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        g, d = losses.LOSSES[name](real, fake)
    assert np.all(tape.gradient(g, fake).numpy() < 0)  # G wants larger fake logits
    assert np.all(tape.gradient(d, real).numpy() < 0)
    assert np.all(tape.gradient(d, fake).numpy() > 0)


def test_wasserstein_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="same batch size.*got 3 and 2"):
        losses.wasserstein(tf.zeros([3]), tf.zeros([2]))
    spec = tf.TensorSpec([None], tf.float32)
    graph_fn = tf.function(losses.wasserstein, input_signature=[spec, spec])
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        graph_fn(tf.zeros([3]), tf.zeros([2]))
    np.testing.assert_allclose(graph_fn(tf.ones([2]), tf.zeros([2]))[1], [-1.0, -1.0])


def _linear_critic(w, b=0.3):
    critic = keras.Sequential([keras.Input(w.shape), keras.layers.Flatten()])
    critic.add(keras.layers.Dense(1))
    critic.layers[-1].set_weights([w.reshape(-1, 1), np.array([b], "float32")])
    return critic


def _quadratic_critic(x, training=True):
    return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])


def test_gradient_penalty_on_linear_critic_is_exact():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(2, 5, 3, 2, 1)).astype("float32")
    w = rng.normal(size=(3, 2, 1)).astype("float32")
    for seed in ([0, 1], [7, 3]):
        got = losses.gradient_penalty(_linear_critic(w), real, fake, seed=seed)
        np.testing.assert_allclose(got, [(np.linalg.norm(w) - 1) ** 2] * 5, rtol=1e-5)
    unit = w / np.linalg.norm(w)
    got = losses.gradient_penalty(_linear_critic(unit), real, fake, seed=[0, 1])
    np.testing.assert_allclose(got, np.zeros(5), atol=1e-6)


def test_gradient_penalty_interpolates_with_uniform_per_example_weights():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(2, 6, 4, 4, 1)).astype("float32")
    seed = tf.constant([5, 9])
    got = losses.gradient_penalty(_quadratic_critic, real, fake, seed=seed)
    eps = tf.random.stateless_uniform([6, 1, 1, 1], seed=seed).numpy()
    x_hat = eps * real + (1 - eps) * fake
    want = (np.linalg.norm(x_hat.reshape(6, -1), axis=1) - 1) ** 2
    np.testing.assert_allclose(got, want, rtol=1e-5)
    given = losses.gradient_penalty(_quadratic_critic, real, fake, epsilon=eps[:, 0, 0])
    np.testing.assert_allclose(given, want, rtol=1e-5)
    with pytest.raises(ValueError, match="seed"):
        losses.gradient_penalty(_quadratic_critic, real, fake)


def test_gradient_penalty_is_finite_for_a_flat_critic():
    critic = _linear_critic(np.zeros(4, "float32"))
    x = tf.ones([3, 4])
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, x, -x, seed=[1, 2])
    np.testing.assert_allclose(penalty, np.ones(3), rtol=1e-5)
    kernel_grad = tape.gradient(penalty, critic.layers[-1].kernel)  # no NaN: sqrt(0)
    np.testing.assert_array_equal(kernel_grad, np.zeros((4, 1)))
    constant = lambda x, training=True: tf.zeros([tf.shape(x)[0]])  # noqa: E731
    assert np.all(np.isfinite(losses.gradient_penalty(constant, x, x, seed=[0, 0])))


def test_r1_penalty_matches_closed_forms():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(4, 3, 3, 1)).astype("float32")
    want = 0.5 * np.sum(real.reshape(4, -1) ** 2, axis=1)
    np.testing.assert_allclose(losses.r1_penalty(_quadratic_critic, real), want, 1e-5)
    w = rng.normal(size=(3, 3, 1)).astype("float32")
    got = losses.r1_penalty(_linear_critic(w), real)
    np.testing.assert_allclose(got, [0.5 * np.sum(w**2)] * 4, rtol=1e-5)


def test_get_loss_and_check_penalty():
    assert losses.get_loss("non_saturating") is losses.non_saturating
    assert losses.get_loss(losses.hinge) is losses.hinge
    valid = "hinge, least_squares, minimax, non_saturating, wasserstein"
    with pytest.raises(ValueError, match=f"Unknown `loss` 'foo'. Valid names: {valid}"):
        losses.get_loss("foo")
    for name in losses.LOSSES:
        losses.check_penalty(name, "gradient_penalty")
        losses.check_penalty(name, None)
    losses.check_penalty(losses.non_saturating, losses.r1_penalty)
    with pytest.raises(ValueError, match="'r1_penalty'.*'wasserstein'.*pairings"):
        losses.check_penalty("wasserstein", "r1_penalty")
    with pytest.raises(ValueError, match="'r1_penalty'.*'wasserstein'"):
        losses.check_penalty(losses.wasserstein, losses.r1_penalty)
    with pytest.raises(ValueError, match="Unknown `penalty` 'l2'"):
        losses.check_penalty("hinge", "l2")
    with pytest.raises(ValueError, match="Unknown `loss`"):
        losses.check_penalty("wgan", None)


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_losses_round_trip_through_keras_serialization(name):
    config = keras.saving.serialize_keras_object(losses.LOSSES[name])
    assert keras.saving.deserialize_keras_object(config) is losses.LOSSES[name]
