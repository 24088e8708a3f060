"""
Title: Calling an exported model on TF Serving over REST and gRPC
Description: Build predict requests from a SavedModel's signatures and send them.

Export a model and start TF Serving as `docs/serving.md` shows, then:

    python examples/serving_client.py saved_models/vae --signature decode

A base folder (`saved_models/vae`) means its highest version, as TF Serving
loads it; the model name defaults to the base folder's name. Without a server,
`--dry-run` prints the REST body it would send, runs the same request on the
SavedModel in this process (`tf.saved_model.load`) and prints the response:

    python examples/serving_client.py saved_models/vae --signature decode --dry-run

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
import urllib.error
import urllib.request

import numpy as np

"""
## Signatures: what a server expects

`saved_model.pb` lists each signature's named inputs and outputs with dtype and
shape (`None` for the batch dimension). Reading it needs TensorFlow's protos
only, not the model's code.
"""


def version_folder(path: str | pathlib.Path) -> pathlib.Path:
    """`path` if it holds saved_model.pb, else its highest numeric version folder."""
    path = pathlib.Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    versions = [p for p in path.iterdir() if p.name.isdigit()] if path.is_dir() else []
    versions = [p for p in versions if (p / "saved_model.pb").is_file()]
    if not versions:
        raise ValueError(
            f"{str(path)!r} is neither a SavedModel folder nor a base folder with "
            "numeric versions; export one with `keras-genmodels export RUN_DIR`."
        )
    return max(versions, key=lambda p: int(p.name))


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


def run_in_process(saved_model_dir, signature_name: str, body: dict) -> dict:
    """What TF Serving would answer to a columnar `body`: `{"outputs": {...}}`."""
    import tensorflow as tf

    function = tf.saved_model.load(str(saved_model_dir)).signatures[signature_name]
    specs = function.structured_input_signature[1]
    feed = {
        name: tf.constant(value, specs[name].dtype)
        for name, value in body["inputs"].items()
    }
    outputs = function(**feed)
    return {
        "outputs": {name: value.numpy().tolist() for name, value in outputs.items()}
    }


"""
## The command line
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument(
        "saved_model_dir", help="an exported version folder, or its base folder"
    )
    parser.add_argument(
        "--model-name", help="TF Serving's name (default: the base folder's name)"
    )
    parser.add_argument("--signature", default="serving_default")
    parser.add_argument("--protocol", choices=("rest", "grpc"), default="rest")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--rest-port", type=int, default=8501)
    parser.add_argument("--grpc-port", type=int, default=8500)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the REST body, run it on the SavedModel here, print the reply",
    )
    args = parser.parse_args()
    try:
        folder = version_folder(args.saved_model_dir)
    except ValueError as err:
        parser.error(str(err))
    model_name = args.model_name or folder.resolve().parent.name
    signatures = read_signatures(folder)
    if args.signature not in signatures:
        parser.error(
            f"--signature {args.signature!r} is not in {str(folder)!r}; choose one "
            f"of {', '.join(sorted(signatures))}."
        )
    signature = signatures[args.signature]
    inputs = example_inputs(signature)
    url = rest_url(f"{args.host}:{args.rest_port}", model_name)
    if args.dry_run:
        body = columnar_request(args.signature, inputs)
        print(f"POST {url}")
        print(json.dumps(body))
        print(f"response of {folder}, run in-process:")
        reply = run_in_process(folder, args.signature, body)
        print(json.dumps(reply))
        outputs = {k: np.asarray(v) for k, v in reply["outputs"].items()}
    elif args.protocol == "rest":
        try:
            reply = post_rest(url, columnar_request(args.signature, inputs))
        except urllib.error.URLError as err:
            _unreachable(parser, url, err.reason, folder, model_name)
        outputs = reply["outputs"]  # a lone output comes without its name
        if not isinstance(outputs, dict):
            outputs = {next(iter(signature["outputs"])): outputs}
        outputs = {name: np.asarray(value) for name, value in outputs.items()}
    else:
        import grpc

        target = f"{args.host}:{args.grpc_port}"
        request = grpc_request(model_name, args.signature, inputs)
        try:
            outputs = predict_grpc(target, request)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            _unreachable(parser, f"grpc://{target}", err.details(), folder, model_name)
    for name, value in outputs.items():
        print(
            f"{name}: shape {value.shape}, range [{value.min():.3f}, {value.max():.3f}]"
        )


def _unreachable(parser, url, reason, folder, model_name) -> None:
    parser.exit(
        2,
        f"serving_client.py: error: no TF Serving reachable at {url} ({reason}); "
        "start one with `tensorflow_model_server --port=8500 --rest_api_port=8501 "
        f"--model_name={model_name} --model_base_path="
        f"{folder.resolve().parent}` (see docs/serving.md), or try --dry-run.\n",
    )


if __name__ == "__main__":
    main()
