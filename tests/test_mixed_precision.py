import keras
import numpy as np
import pytest

from keras_genmodels import GAN, VAE

X = np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32")


@pytest.fixture
def policy(request):
    keras.mixed_precision.set_dtype_policy(request.param)
    yield request.param
    keras.mixed_precision.set_dtype_policy("float32")


def _check(model, history, policy):
    assert all(np.isfinite(v).all() for v in history.values())
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    optimizers = (
        [getattr(model, "optimizer", None)]
        if isinstance(model, VAE)
        else [model.d_optimizer, model.g_optimizer]
    )
    scaled = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers]
    assert all(scaled) if policy == "mixed_float16" else not any(scaled)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("jit_compile", [False, True])
def test_vae_trains_in_mixed_precision_with_float32_losses(policy, jit_compile):
    vae = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
    assert vae.encoder.layers[1].compute_dtype == policy.split("_")[1]
    vae.compile(optimizer="adam", jit_compile=jit_compile)
    history = vae.fit(X, batch_size=16, epochs=1, verbose=0).history
    _check(vae, history, policy)
    losses = vae.compute_losses(X[:4])
    assert all(value.dtype == "float32" for value in losses.values())


# XLA once, with bfloat16 (the `auto` policy on CPUs and recent GPUs): compiling the
# penalised GAN step takes ~25 s per case on two cores.
@pytest.mark.parametrize(
    "policy, jit_compile",
    [("mixed_float16", False), ("mixed_bfloat16", False), ("mixed_bfloat16", True)],
    indirect=["policy"],
)
def test_gan_trains_in_mixed_precision_with_penalty(policy, jit_compile):
    gan = GAN(data_shape=(8, 8, 1), latent_dim=2, ema_decay=0.9, seed=0)
    gan.compile(
        loss="wasserstein",
        n_critic=2,
        gradient_penalty_weight=10.0,
        jit_compile=jit_compile,
    )
    history = gan.fit(X, batch_size=16, epochs=1, verbose=0).history
    _check(gan, history, policy)
    assert gan.discriminate(X[:2]).dtype == "float32"  # logits in float32
    losses = gan.compute_losses(X[:4])
    assert all(value.dtype == "float32" for value in losses.values())


def test_jit_compile_matches_the_graph_step():
    def run(jit_compile):
        keras.utils.set_random_seed(0)
        vae = VAE(data_shape=(8, 8, 1), latent_dim=2, seed=0)
        vae.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=jit_compile)
        return vae.fit(X, batch_size=16, epochs=1, shuffle=False, verbose=0).history

    graph, xla = run(False), run(True)
    for name, values in graph.items():
        np.testing.assert_allclose(
            xla[name], values, rtol=1e-4, atol=1e-4, err_msg=name
        )
