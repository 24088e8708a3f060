"""Plumbing shared by the models: input checks, noise state, compile config."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_genmodels import distribute, validation


def data_shape_argument(data_shape, old_name: str, old_value):
    """`data_shape` as a tuple (or None), also when given as its old spelling.

    `old_name` (e.g. "input_shape") is a deprecated alias: a `DeprecationWarning`
    names `data_shape`; passing both is a ValueError.
    """
    if old_value is not None:
        if data_shape is not None:
            raise ValueError(
                f"Pass `data_shape` only; got data_shape={data_shape!r} and its "
                f"deprecated alias {old_name}={old_value!r}."
            )
        warnings.warn(
            f"`{old_name}` is deprecated; pass `data_shape` instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        data_shape = old_value
    if data_shape is None:
        return None
    try:
        shape = tuple(int(d) for d in data_shape)
    except (TypeError, ValueError):
        shape = ()
    if not shape or min(shape) < 1:
        raise ValueError(
            f"`data_shape` must be a tuple of positive ints; got {data_shape!r}."
        )
    return shape


def renamed_config_key(config: dict, old_name: str) -> dict:
    """A config saved with `old_name` (the old spelling of `data_shape`), renamed."""
    config = dict(config)
    if old_name in config:
        old = config.pop(old_name)
        if config.get("data_shape") is None:
            config["data_shape"] = old
    return config


def functional_input_shapes(model) -> list[tuple] | None:
    """Per-example shapes of a functional model's inputs; None for a subclassed one.

    Subclassed models have no symbolic inputs (nor `input_shape`); their shapes
    come from the model's arguments and a call on a zero batch.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs:
        return None
    return [tuple(tensor.shape[1:]) for tensor in inputs]


def call_on_zeros(model, inputs, what: str):
    """`model(inputs)` on a zero batch, building it; a ValueError that says why."""
    try:
        return model(inputs, training=False)
    except Exception as error:  # a user network's own error, re-raised with context
        raise ValueError(
            f"Could not build {what} on a zero batch of "
            f"{[tuple(x.shape) for x in tf.nest.flatten(inputs)]}: {error}"
        ) from error


class _BoundedProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, never counting past its total.

    With several steps per execution, Keras 3.15's epoch loop reports the last
    execution of an epoch as ending at step `begin + steps_per_execution - 1`
    even when fewer batches were left, so the bar showed e.g. `40/36`.
    """

    def _bounded(self, batch):
        return batch if self.target is None else min(batch, self.target - 1)

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(self._bounded(batch), logs)

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(self._bounded(batch), logs)

    def on_predict_batch_end(self, batch, logs=None):
        super().on_predict_batch_end(self._bounded(batch), logs)


def _with_bounded_progbar(kwargs):
    """Adds the bounded progress bar unless the caller brought their own."""
    callbacks = kwargs.get("callbacks")
    if kwargs.get("verbose", "auto") == 0 or isinstance(
        callbacks, keras.callbacks.CallbackList
    ):
        return kwargs
    callbacks = list(callbacks or [])
    if not any(isinstance(c, keras.callbacks.ProgbarLogger) for c in callbacks):
        callbacks.append(_BoundedProgbarLogger())
    return {**kwargs, "callbacks": callbacks}


class GenerativeModel(keras.Model):
    """Base class of `VAE` and `GAN`; not meant to be used on its own.

    Subclasses set `self.data_shape` (the shape of one example) and
    `self.seed_generator` (a `keras.random.SeedGenerator`) in `__init__`, and may
    set `data_range`, the `(low, high)` range of their outputs (None: no check),
    or override `unit_interval` when their data must lie in [0, 1]. In return
    they get:

    - `fit`/`evaluate` that check in-memory arrays (shape, NaN/inf, range, empty)
      and `tf.data` pipelines (element shape, floating dtype, empty, the first
      batch's range; later batches in the graph) before Keras starts, raising
      `ValueError` naming the argument and the fix (e.g. "divide by 255");
    - the seed generator's state saved in `.keras` files, which Keras does not do,
      so a resumed run draws the same noise as an uninterrupted one;
    - `global_mean`, the per-replica share of a global-batch mean loss, and
      `metric_logs`, the trackers' global means (uneven final batches included);
    - `draw_noise`, noise that is distinct on every replica of a `tf.distribute`
      strategy yet equal, example for example, to what one device would draw;
    - `compile` running 8 training steps per graph call unless told otherwise
      (Keras: 1), which saves a Python round trip per step: 1.3x the GAN's
      examples/s on two CPU cores (benchmarks/README.md). Batch-level callback
      hooks then run every 8th step; pass `steps_per_execution=1` to see each.
      This holds on any number of replicas: Keras 3.15's multi-step loop wraps
      each step in a `tf.cond`, inside which TensorFlow 2.21 cannot run a
      `tf.distribute` step ("You must feed a value for placeholder tensor
      'while/cond/Placeholder'", keras-team/keras#19246), so with several
      replicas the models run their own loop without that `tf.cond`;
    - `compile_from_config` that calls the subclass's own `compile`;
    - `from_preset(name)`, a pretrained model of the class from the presets
      folder (`keras_genmodels.presets`).
    """

    unit_interval = False
    # The range of the model's outputs, so of its data: None (no check) or
    # `(low, high)`; subclasses set it (e.g. from `validation.infer_output_range`).
    data_range = None
    # `compile`'s default `steps_per_execution`; Keras's own default is 1.
    default_steps_per_execution = 8

    @classmethod
    def from_preset(cls, name: str, directory=None, compile: bool = True):
        """Loads the pretrained preset `name`, which must be a `cls`.

        Args:
            name: str. A preset, see `keras_genmodels.list_presets()`.
            directory: str, path-like or None. The presets folder; None: the
                `$KERAS_GENMODELS_PRESETS` folder, else the repository's
                `saved_models/`. Defaults to None.
            compile: bool. Compile with the family's default optimizers (presets
                hold no optimizer state). Defaults to True.

        Returns:
            The model, loaded in Keras's `safe_mode`.

        Raises:
            ValueError: unknown name (the message lists the presets).
            TypeError: the preset is of another class.
        """
        from keras_genmodels.presets import load_preset

        return load_preset(name, directory, cls=cls, compile=compile)

    def expected_data_range(self) -> tuple[float, float] | None:
        """`data_range` as floats; (0, 1) when only `unit_interval` is set."""
        data_range = getattr(self, "data_range", None)
        if data_range is not None and not isinstance(data_range, str):
            low, high = data_range
            return (float(low), float(high))
        return (0.0, 1.0) if self.unit_interval else None

    def _range_advice(self) -> str:
        if getattr(self, "data_range", None) is not None:
            return "pass `data_range=(low, high)` (or None, no check) to the model"
        return "choose a likelihood for data outside [0, 1]"

    def check_examples(self, x, argument: str = "x"):
        """Validates a batch of examples: a float32 array, or tensor for a tensor.

        Tensors are checked on their static shape and dtype and, for values, in
        the graph, without a copy to the host (see `validation.check_array`).
        """
        return validation.check_array(
            x, self.data_shape, self.expected_data_range(), argument,
            self._range_advice(),
        )  # fmt: skip

    def _check_fit_input(self, x, argument):
        if isinstance(x, tf.data.Dataset):
            validation.check_dataset(x, self.data_shape, argument)
            self._check_first_batch(x, argument)
        elif isinstance(x, (tuple, list)) and x and not np.isscalar(x[0]):
            self._check_fit_input(x[0], argument)
        elif isinstance(x, tf.Tensor):  # fit copies it to the host anyway
            self.check_examples(np.asarray(x), argument)
        elif isinstance(x, np.ndarray):
            self.check_examples(x, argument)

    def _check_first_batch(self, dataset, argument):
        """Refuses integer pipelines; checks the first batch's values on the host.

        Later batches are checked in the graph by `valid_batch`.
        """
        spec = dataset.element_spec
        spec = spec[0] if isinstance(spec, (tuple, list)) else spec
        data_range = self.expected_data_range()
        if not spec.dtype.is_floating:
            where = "" if data_range is None else " in [{:g}, {:g}]".format(
                *data_range
            )
            scale = {(0.0, 1.0): " / 255", (-1.0, 1.0): " / 127.5 - 1"}
            scale = scale.get(data_range, "")
            raise ValueError(
                f"`{argument}` yields {spec.dtype.name} batches, but the model "
                "trains on floating-point data"
                + where
                + ": map the pipeline first, e.g. `dataset.map(lambda x: "
                f"tf.cast(x, tf.float32){scale})`."
            )
        if data_range is None:
            return
        first = next(iter(dataset.take(1)), None)
        if first is None:
            return
        first = first[0] if isinstance(first, (tuple, list)) else first
        self.check_examples(np.asarray(first), f"{argument} (first batch)")

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        self._check_fit_input(x, "x")
        if validation_data is not None:
            self._check_fit_input(validation_data, "validation_data")
        if isinstance(x, tf.data.Dataset):
            # A pipeline shuffles itself; Keras would warn that `shuffle=True`
            # (its default) is ignored, on every call.
            kwargs.setdefault("shuffle", False)
        return super().fit(
            x, y, validation_data=validation_data, **_with_bounded_progbar(kwargs)
        )

    def evaluate(self, x=None, y=None, **kwargs):
        self._check_fit_input(x, "x")
        return super().evaluate(x, y, **_with_bounded_progbar(kwargs))

    def valid_batch(self, x):
        """In-graph check of a training batch: finite and in `data_range` if set."""
        return validation.assert_valid_batch(
            x, self.expected_data_range(), "x", self._range_advice()
        )

    def draw_noise(self, shape, distribution: str = "normal"):
        """Draws N(0, 1) or U[0, 1) noise of `shape` for this replica's examples.

        All replicas share the seed generator's state, so each draws the noise of
        the whole global batch from the same stateless seed and keeps the rows of
        its own examples (replica i holds rows sum(sizes[:i]) onwards; the sizes
        come from an all-gather, so uneven final batches work). N replicas thus
        use exactly the noise one device uses for the same global batch, and no
        two replicas share noise.

        Args:
            shape: list. `[local_batch, ...]`; `local_batch` may be a tensor.
            distribution: str. `"normal"` or `"uniform"`. Defaults to `"normal"`.
        """
        draw = {
            "normal": tf.random.stateless_normal,
            "uniform": tf.random.stateless_uniform,
        }[distribution]
        seed = self.seed_generator.next()
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return draw(shape, seed=seed)
        shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
        sizes = context.all_gather(shape[:1], axis=0)
        offset = tf.reduce_sum(sizes[: context.replica_id_in_sync_group])
        total = tf.concat([tf.reshape(tf.reduce_sum(sizes), [1]), shape[1:]], axis=0)
        return draw(total, seed=seed)[offset : offset + shape[0]]

    def global_mean(self, per_example):
        """Mean of a per-example loss over the global batch, for the gradient.

        Keras optimizers sum gradients over replicas, so each replica returns
        sum(its terms) / (examples in the global batch). The count is summed over
        replicas: `tf.nn.compute_average_loss` without `global_batch_size`
        assumes equal shards, which halves the step of an odd final batch.
        """
        per_example = tf.cast(per_example, tf.float32)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return tf.reduce_mean(per_example)
        count = tf.cast(tf.shape(per_example)[0], tf.float32)
        total = context.all_reduce("sum", count)
        return tf.math.divide_no_nan(tf.reduce_sum(per_example), total)

    def metric_logs(self) -> dict:
        """Returns `{name: result}` of the trackers, as `train_step` must.

        Under `MultiWorkerMirroredStrategy`, Keras 3.15's `fit()` reduces the logs
        with `strategy.reduce("MEAN", value, axis=0)`, which fails on scalars
        ("Invalid reduction dimension 0 for input with 0 dimensions";
        keras-team/keras#20585). Rank-1 logs of shape [1] reduce to the same
        scalar, so they are returned there. Remove once Keras reduces scalars.
        """
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            logs = {m.name: m.result() for m in self.metrics}
        else:  # the global mean, also when replicas saw different counts.
            # `.value` read into a tensor: all-reducing the variable itself fails
            # under MultiWorkerMirroredStrategy ("destinations can not be empty").
            logs = {
                m.name: tf.math.divide_no_nan(
                    context.all_reduce("sum", tf.identity(m.total.value)),
                    context.all_reduce("sum", tf.identity(m.count.value)),
                )
                for m in self.metrics
            }
        if distribute.is_multi_worker(self.distribute_strategy):
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def compile(self, **kwargs):
        kwargs.setdefault("steps_per_execution", self.default_steps_per_execution)
        super().compile(**kwargs)

    def compile_one_optimizer(self, optimizer, variables, built_in: str, **kwargs):
        """`compile` for a model whose loss is built in, with one optimizer.

        Refuses Keras's `loss`/`metrics` arguments (naming `built_in`, what the
        model computes itself), then builds the optimizer for `variables` at
        once, so checkpoints and BackupAndRestore see its state before training.
        """
        for name in ("loss", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"{type(self).__name__}.compile() does not take `{name}` (got "
                    f"{kwargs[name]!r}): {built_in}."
                )
        GenerativeModel.compile(self, optimizer=optimizer, **kwargs)
        self.optimizer.build(variables)

    def _make_function(self, step_function):
        """Keras's train/test function, with a multi-step loop safe for replicas.

        Keras runs `steps_per_execution` steps in a `tf.while_loop` whose body
        calls `strategy.run` inside a `tf.cond`; with several replicas that
        graph fails to run (keras-team/keras#19246; also for a plain
        `Sequential`). Here the first step runs before the loop and the loop's
        condition alone decides whether another batch is run, so no step sits
        inside a `tf.cond`. One replica keeps Keras's own function.
        """
        strategy = self.distribute_strategy
        steps = self.steps_per_execution
        if strategy.num_replicas_in_sync == 1 or steps == 1 or self.run_eagerly:
            return super()._make_function(step_function)
        from keras.src.backend.tensorflow.trainer import reduce_per_replica

        def one_step(data):
            outputs = strategy.run(step_function, args=(data,))
            return reduce_per_replica(outputs, strategy, reduction="auto")

        one_step = tf.function(
            one_step, reduce_retracing=True, jit_compile=self.jit_compile
        )
        one_step = self._autoconvert_optionals(one_step)

        @tf.function(reduce_retracing=True)
        def multi_step(iterator):
            # The first step outside the loop: at the end of the data its
            # `get_next` raises OutOfRangeError, which ends the epoch as with
            # one step per execution.
            outputs = one_step(iterator.get_next())

            def more(step, outputs, upcoming):
                return tf.logical_and(step < steps, upcoming.has_value())

            def body(step, outputs, upcoming):
                outputs = one_step(upcoming.get_value())
                upcoming = tf.cond(
                    step + 1 < steps,
                    iterator.get_next_as_optional,
                    lambda: upcoming,
                )
                return step + 1, outputs, upcoming

            _, outputs, _ = tf.while_loop(
                more, body, [tf.constant(1), outputs, iterator.get_next_as_optional()]
            )
            return outputs

        def function(iterator):
            if isinstance(iterator, tf.distribute.DistributedIterator):
                return multi_step(iterator)
            for _, data in zip(range(steps), iterator, strict=False):
                outputs = one_step(data)
            return outputs

        return function

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))

    def _own_state(self):
        own = self._trainable_variables + self._non_trainable_variables
        return own + [self.seed_generator.state]

    def save_own_variables(self, store):
        for index, variable in enumerate(self._own_state()):
            store[f"{index}"] = variable

    def load_own_variables(self, store):
        for index, variable in enumerate(self._own_state()):
            variable.assign(store[f"{index}"])
