"""
Title: Calling an exported model on TF Serving over REST and gRPC
Description: Build predict requests from a SavedModel's signatures and send them.

Export a model and start TF Serving as `docs/serving.md` shows, then:

    python examples/serving_client.py saved_models/vae/1 --model-name vae \
        --signature decode --protocol rest

The request-building functions need only numpy (REST) or the
`tensorflow-serving-api` protos (gRPC); the tests import them and check every
request they build against the export's signatures. Sending needs a running
`tensorflow_model_server`, which the repository's tests cannot start (it is not
on PyPI), so `post_rest` and `predict_grpc` are not exercised there.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import urllib.request

import numpy as np

"""
## Signatures: what a server expects

`saved_model.pb` lists each signature's named inputs and outputs with dtype and
shape (`None` for the batch dimension). Reading it needs TensorFlow's protos
only, not the model's code.
"""


def read_signatures(saved_model_dir: str | pathlib.Path) -> dict:
    """Returns `{signature: {"inputs"|"outputs": {name: (dtype, shape)}}}`."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import dtypes

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(
        (pathlib.Path(saved_model_dir) / "saved_model.pb").read_bytes()
    )
    signatures = {}
    for name, definition in proto.meta_graphs[0].signature_def.items():
        if name.startswith("__"):  # the SavedModel's own init op
            continue
        signatures[name] = {
            side: {
                key: (
                    dtypes.as_dtype(info.dtype).name,
                    tuple(
                        d.size if d.size >= 0 else None for d in info.tensor_shape.dim
                    ),
                )
                for key, info in getattr(definition, side).items()
            }
            for side in ("inputs", "outputs")
        }
    return signatures


def example_inputs(signature: dict, batch: int = 2, seed: int = 0) -> dict:
    """Valid inputs for a signature: images/z in [0, 1), labels 0, scalars `batch`."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, (dtype, shape) in signature["inputs"].items():
        if name == "seed":
            inputs[name] = np.asarray(seed, dtype)
        elif name == "num_samples":
            inputs[name] = np.asarray(batch, dtype)
        elif name == "labels":
            inputs[name] = np.zeros(batch, dtype)
        else:
            size = [batch if d is None else d for d in shape]
            inputs[name] = rng.uniform(size=size).astype(dtype)
    return inputs


"""
## REST: `POST /v1/models/<name>[/versions/<v>]:predict`

The row format sends one object per example ("instances"); every input must then
have the same batch size, so it cannot carry the scalar inputs of `sample`. The
columnar format ("inputs") sends each named input whole and works for all.
"""


def rest_url(host: str, model_name: str, version: int | None = None) -> str:
    """The predict URL, e.g. `http://localhost:8501/v1/models/vae:predict`."""
    path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version else "")
    return f"http://{host}{path}:predict"


def row_request(signature_name: str, inputs: dict) -> dict:
    """A JSON body in row format: `{"signature_name", "instances": [...]}`."""
    arrays = {name: np.asarray(value) for name, value in inputs.items()}
    scalars = [name for name, array in arrays.items() if array.ndim == 0]
    sizes = {array.shape[0] for array in arrays.values() if array.ndim}
    if scalars or len(sizes) != 1:
        raise ValueError(
            "The row format needs every input to have the same batch size; "
            f"scalars {scalars}, batch sizes {sorted(sizes)}. Use columnar_request."
        )
    (size,) = sizes
    instances = [{k: v[i].tolist() for k, v in arrays.items()} for i in range(size)]
    return {"signature_name": signature_name, "instances": instances}


def columnar_request(signature_name: str, inputs: dict) -> dict:
    """A JSON body in columnar format: `{"signature_name", "inputs": {...}}`."""
    return {
        "signature_name": signature_name,
        "inputs": {name: np.asarray(value).tolist() for name, value in inputs.items()},
    }


def post_rest(url: str, body: dict, timeout: float = 30.0) -> dict:
    """POSTs `body` and returns the decoded JSON ("predictions" or "outputs")."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


"""
## gRPC: `PredictionService.Predict` on port 8500

A `PredictRequest` names the model and signature and carries one `TensorProto`
per input, with the signature's dtype.
"""


def grpc_request(
    model_name: str, signature_name: str, inputs: dict, version: int | None = None
):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest` for `inputs`."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = version
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
    return request


def predict_grpc(target: str, request, timeout: float = 30.0) -> dict:
    """Sends `request` to `host:port` and returns `{output: numpy array}`."""
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(request, timeout=timeout)
    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("saved_model_dir", help="the exported version folder")
    parser.add_argument("--model-name", required=True, help="TF Serving's name")
    parser.add_argument("--signature", default="serving_default")
    parser.add_argument("--protocol", choices=("rest", "grpc"), default="rest")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--rest-port", type=int, default=8501)
    parser.add_argument("--grpc-port", type=int, default=8500)
    args = parser.parse_args()
    signature = read_signatures(args.saved_model_dir)[args.signature]
    inputs = example_inputs(signature)
    if args.protocol == "rest":
        url = rest_url(f"{args.host}:{args.rest_port}", args.model_name)
        reply = post_rest(url, columnar_request(args.signature, inputs))
        outputs = reply["outputs"]  # a lone output comes without its name
        if not isinstance(outputs, dict):
            outputs = {next(iter(signature["outputs"])): outputs}
        outputs = {name: np.asarray(value) for name, value in outputs.items()}
    else:
        request = grpc_request(args.model_name, args.signature, inputs)
        outputs = predict_grpc(f"{args.host}:{args.grpc_port}", request)
    for name, value in outputs.items():
        print(
            f"{name}: shape {value.shape}, range [{value.min():.3f}, {value.max():.3f}]"
        )


if __name__ == "__main__":
    main()
