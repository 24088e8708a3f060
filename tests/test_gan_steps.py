"""The GAN train step: only the passes the loss needs, split critic batches, XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_genmodels import GAN, ConditionalGAN
from keras_genmodels.gan import losses

# Grey-level data: no pre-activation sits on a ReLU kink (see the design notes).
X = np.random.default_rng(0).uniform(0.2, 0.8, size=(24, 4)).astype("float32")
Y = np.arange(24) % 3


def _gan(joint="auto", conditional=False, spectral=False, **compile_kwargs):
    keras.utils.set_random_seed(0)
    if conditional:
        gan = ConditionalGAN(data_shape=(4,), latent_dim=2, num_classes=3, seed=0)
    else:
        gan = GAN(
            data_shape=(4,), latent_dim=2, seed=0, spectral_normalization=spectral
        )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.05),
        g_optimizer=keras.optimizers.SGD(0.05),
        joint_discriminator_pass=joint,
        **compile_kwargs,
    )
    return gan


def _max_difference(a, b):
    return max(
        np.abs(u - v).max()
        for u, v in zip(a.get_weights(), b.get_weights(), strict=True)
    )


class _Count(keras.layers.Layer):
    """Identity that counts its calls and the examples they carry, in the graph."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)
        self.examples = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=False):
        if training:
            self.calls.assign_add(1.0)
            self.examples.assign_add(tf.cast(tf.shape(x)[0], "float32"))
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


def test_generator_step_runs_d_on_fakes_only_and_d_step_once_on_both():
    keras.utils.set_random_seed(0)
    base = GAN(data_shape=(4,), latent_dim=2, seed=0)
    inputs = keras.Input((4,))
    count = _Count()
    gan = GAN(base.generator, keras.Model(inputs, base.discriminator(count(inputs))))
    for joint, calls in ((True, 2), (False, 3)):
        gan.compile(
            d_optimizer="sgd", g_optimizer="sgd", joint_discriminator_pass=joint
        )
        count.calls.assign(0.0)
        count.examples.assign(0.0)
        gan.train_on_batch(X[:8])
        # D step: 8 real + 8 fake (one pass or two); G step: 8 fakes, no real.
        assert (float(count.calls), float(count.examples)) == (calls, 24.0), joint


def test_a_custom_loss_without_the_declaration_gets_real_logits():
    seen = keras.Variable(np.zeros((8, 1), "float32"), trainable=False)

    def loss(real_logits, fake_logits):
        seen.assign(tf.reshape(real_logits, [8, 1]))  # the last call: G step
        return losses.non_saturating(real_logits, fake_logits)

    gan = _gan(loss=loss)
    gan.train_on_batch(X[:8])
    want = gan.discriminate(X[:8]).numpy()  # G-step real logits: D after its update
    np.testing.assert_allclose(seen.numpy(), want, rtol=1e-5, atol=1e-6)
    assert losses.generator_uses_real_logits(loss)
    for name, fn in losses.LOSSES.items():
        assert not losses.generator_uses_real_logits(fn), name
        # ... and the declaration is true: l_G does not change with real logits.
        fake = tf.constant([0.3, -1.2])
        g_a, _ = fn(tf.constant([5.0, -5.0]), fake)
        g_b, _ = fn(tf.constant([-2.0, 0.1]), fake)
        np.testing.assert_array_equal(g_a, g_b)


@pytest.mark.parametrize(
    ("options", "conditional"),
    [
        ({"loss": "wasserstein", "n_critic": 2}, False),
        ({"loss": "non_saturating", "gradient_penalty_weight": 1.0}, False),
        ({"loss": "non_saturating", "r1_weight": 1.0}, True),
    ],
)
def test_joint_discriminator_pass_equals_separate_passes(options, conditional):
    args = (X, Y) if conditional else (X,)
    joint = _gan(True, conditional, **options)
    separate = _gan(False, conditional, **options)
    separate.set_weights(joint.get_weights())
    before = joint.get_weights()
    for gan in (joint, separate):
        gan.fit(*args, batch_size=8, epochs=2, shuffle=False, verbose=0)
    moved = max(
        np.abs(a - b).max() for a, b in zip(before, joint.get_weights(), strict=True)
    )
    assert moved > 1e-3
    # Standalone the two agree to 1e-7; in a long-lived test worker the order of
    # float reductions has been seen to differ (2.3e-4 after 2 epochs with GP).
    assert _max_difference(joint, separate) <= 5e-4


def test_joint_pass_on_two_replicas_equals_separate_passes_on_one_device(
    mirrored_strategy,
):
    x = X[:17]  # a final batch of 1: one replica holds no example
    with mirrored_strategy.scope():
        mirrored = _gan(True, loss="least_squares", n_critic=2)
    single = _gan(False, loss="least_squares", n_critic=2)
    single.set_weights(mirrored.get_weights())
    for gan in (mirrored, single):
        gan.fit(x, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert _max_difference(mirrored, single) <= 1e-5


def test_auto_joint_pass_only_without_batch_normalization():
    assert _gan().joint_discriminator_pass is True
    keras.utils.set_random_seed(0)
    generator = GAN(data_shape=(4,), latent_dim=2).generator
    critic = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(1),
        ]
    )
    gan = GAN(generator, critic)
    gan.compile()
    assert gan.joint_discriminator_pass is False
    with pytest.raises(ValueError, match="joint_discriminator_pass.*'yes'"):
        gan.compile(joint_discriminator_pass="yes")


def test_split_critic_batches_give_each_critic_step_its_own_chunk():
    gan = _gan(n_critic=3, critic_batches="split", steps_per_execution=1)
    seen = keras.Variable(np.zeros((3, 4, 4), "float32"), trainable=False)
    original, traced = gan.compute_losses, []

    def recording(real, labels=None, training=False, penalties=True):
        index = len(traced) % 3  # critic step i, known when the step is traced
        traced.append(index)
        seen[index].assign(real)
        return original(real, labels, training, penalties)

    gan.compute_losses = recording
    gan.train_on_batch(X[:12])
    assert traced == [0, 1, 2]
    np.testing.assert_array_equal(seen.numpy(), X[:12].reshape(3, 4, 4))
    # uneven batches split into near-equal chunks; every example is used once
    chunks = gan.critic_batches_of(tf.constant(X[:11]))
    assert [int(c.shape[0]) for c, _ in chunks] == [3, 4, 4]
    np.testing.assert_array_equal(np.concatenate([c for c, _ in chunks]), X[:11])
    shared = _gan(n_critic=3).critic_batches_of(tf.constant(X))
    assert len(shared) == 3 and all(c is shared[0][0] for c, _ in shared)
    with pytest.raises(ValueError, match="critic_batches.*shared, split.*'fresh'"):
        _gan(critic_batches="fresh")


def test_split_critic_batches_train_with_n_critic_times_the_batch():
    gan = _gan(n_critic=2, critic_batches="split", loss="wasserstein")
    history = gan.fit(X, batch_size=16, epochs=1, verbose=0).history
    assert int(gan.d_optimizer.iterations) == 4 and int(gan.g_optimizer.iterations) == 2
    assert np.isfinite(history["gradient_penalty"][0])
    with pytest.raises(Exception, match="at least n_critic=2"):
        gan.train_on_batch(X[:1])


def _table_noise(gan):
    """Noise without an RNG: TF's stateless RNG draws other numbers under XLA."""

    def draw_noise(shape, distribution="normal"):
        step = tf.cast(gan.seed_generator.next()[1] + 1, "float32")
        size = tf.reduce_prod(tf.convert_to_tensor(shape))
        values = tf.sin(step * 12.9898 + tf.range(size, dtype="float32") * 78.233)
        if distribution == "uniform":
            values = 0.5 * (values + 1.0)
        return tf.reshape(values, shape)

    gan.draw_noise = draw_noise
    return gan


def test_xla_step_matches_the_graph_step():
    def run(jit_compile):
        keras.utils.set_random_seed(0)
        gan = GAN(data_shape=(8, 8, 1), latent_dim=3, ema_decay=0.9, seed=0)
        gan.compile(
            d_optimizer=keras.optimizers.SGD(0.01),
            g_optimizer=keras.optimizers.SGD(0.01),
            loss="wasserstein",
            n_critic=2,
            jit_compile=jit_compile,
        )
        images = np.random.default_rng(1).uniform(0.1, 0.9, (32, 8, 8, 1))
        history = (
            _table_noise(gan)
            .fit(
                images.astype("float32"),
                batch_size=16,
                epochs=2,
                shuffle=False,
                verbose=0,
            )
            .history
        )
        return gan, history

    (graph, graph_logs), (xla, xla_logs) = run(False), run(True)
    assert xla.jit_compile is True and graph.jit_compile is False
    keras.utils.set_random_seed(0)
    initial = GAN(data_shape=(8, 8, 1), latent_dim=3, ema_decay=0.9, seed=0)
    moved = _max_difference(initial, graph)
    assert moved > 1e-3, moved
    for a, b in zip(graph.get_weights(), xla.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    for name, values in graph_logs.items():
        np.testing.assert_allclose(xla_logs[name], values, rtol=1e-4, atol=1e-5)


def test_python_defaults_match_the_cli():
    keras.utils.set_random_seed(0)
    assert GAN(data_shape=(4,)).latent_dim == 64
    assert ConditionalGAN(data_shape=(4,), num_classes=3).latent_dim == 64
    assert _gan(loss="wasserstein").penalty_weights["gradient_penalty"] == 10.0
    assert _gan(loss="hinge").penalty_weights["gradient_penalty"] == 0.0
    explicit = _gan(loss="wasserstein", gradient_penalty_weight=0)
    assert explicit.penalty_weights["gradient_penalty"] == 0.0
    assert set(explicit.fit(X, batch_size=8, verbose=0).history) == {"d_loss", "g_loss"}
