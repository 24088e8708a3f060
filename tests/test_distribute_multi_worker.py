"""Two real worker processes on localhost train with fit() like one process."""

import json
import socket
import subprocess
import sys

import numpy as np

from tests.scripts import multi_worker_fit
from tests.test_case import REPO, subprocess_env

SCRIPT = REPO / "tests" / "scripts" / "multi_worker_fit.py"


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_with_the_one_process_weights(tmp_path):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), str(tmp_path), f"worker{index}"],
            env=subprocess_env(
                TF_CONFIG=json.dumps(
                    {
                        "cluster": {"worker": workers},
                        "task": {"type": "worker", "index": index},
                    }
                )
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    (tmp_path / "single").mkdir()  # the one-process reference, in this process
    multi_worker_fit.main(tmp_path / "single", "single")
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]

    reference = np.load(tmp_path / "single" / "weights-single.npz")
    results = [np.load(tmp_path / f"weights-worker{i}.npz") for i in range(2)]
    differences = []
    for name in reference.files:  # weights and the logs fit() reported
        for result in results:
            np.testing.assert_allclose(
                result[name], reference[name], atol=1e-5, err_msg=name
            )
            differences.append(np.abs(result[name] - reference[name]).max())
    assert any("gan_weight" in n for n in reference.files)
    print(f"max |multi-worker - one process| = {max(differences):.2e}")
    # Only the chief (worker 0) writes files; both see the same folder.
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == [
        "gan.keras",
        "vae.keras",
    ]
