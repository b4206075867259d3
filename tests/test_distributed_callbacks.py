"""The Lightning and HuggingFace Trainer callbacks under DDP: two gloo ranks on the CPU, started as torchrun
starts them (tests/ddp_callbacks_worker.py), Lightning with its `ddp` strategy and the Trainer with
`ddp_backend="gloo"`. One report per distinct finding over the ranks, printed once, on rank 0, with
the ranks that saw it; no hang; no raise on one rank only; training bit-identical to the same run
without losslint. The wait has a bound only so that a hang fails this test instead of the whole run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch.distributed as dist

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="torch.distributed with gloo is not available")

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "ddp_callbacks_worker.py")
LINES = open(WORKER).read().splitlines()
EVERY_RANK = next(i for i, text in enumerate(LINES, 1) if "a warning on every rank" in text)
RANK_1 = next(i for i, text in enumerate(LINES, 1) if "F.one_hot(y, 4)" in text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(framework: str, tmp_path, world: int = 2) -> list[dict]:
    port = str(_free_port())
    outs = [tmp_path / f"rank{rank}.json" for rank in range(world)]
    procs = []
    for rank in range(world):
        env = {
            **os.environ,
            "PYTHONPATH": os.path.dirname(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "OMP_NUM_THREADS": "1",
        }
        procs.append(subprocess.Popen(
            [sys.executable, WORKER, framework, str(outs[rank])], env=env, cwd=os.path.dirname(HERE),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    results = []
    try:
        for proc, out in zip(procs, outs):
            log, _ = proc.communicate(timeout=240)
            assert proc.returncode == 0 and out.exists(), f"rank failed (exit {proc.returncode}):\n{log[-4000:]}"
            results.append(json.loads(out.read_text()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return results


@pytest.mark.parametrize("framework", ["lightning", "transformers"])
def test_callback_under_ddp_reports_once_over_the_ranks_and_trains_unchanged(framework, tmp_path):
    if not os.environ.get("LOSSLINT_REQUIRE_INTEGRATION"):  # CI's integration environment: a skip is a failure
        pytest.importorskip(framework)
        if framework == "transformers":
            pytest.importorskip("accelerate")
    r0, r1 = run_ranks("lightning" if framework == "lightning" else "hf", tmp_path)
    for r in (r0, r1):
        assert r["identical"] and r["in_sync"]
    # Printed once, on rank 0: both call sites, each with the ranks that saw it.
    assert r1["logged"] == []
    [text] = r0["logged"]
    assert text.startswith("losslint, epoch 0: 2 warnings at 2 call sites\n\n")
    assert f"tests/ddp_callbacks_worker.py:{EVERY_RANK}: CrossEntropyLoss (" in text and "calls with these findings; on all 2 ranks)" in text
    assert f"tests/ddp_callbacks_worker.py:{RANK_1}: CrossEntropyLoss (" in text and "calls with these findings; on rank 1 of 2)" in text
    assert text.count("warning[LL301]") == 2 and text.count("info[LL405]") == 1
    # Each rank keeps what it saw itself.
    assert [(loc, codes) for loc, codes, _ in r0["reports"]] == [(f"tests/ddp_callbacks_worker.py:{EVERY_RANK}", ["LL301"])]
    assert [(loc, codes) for loc, codes, _ in r1["reports"]] == [
        (f"tests/ddp_callbacks_worker.py:{EVERY_RANK}", ["LL301"]),
        (f"tests/ddp_callbacks_worker.py:{RANK_1}", ["LL301", "LL405"]),
    ]
