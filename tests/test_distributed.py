"""losslint in DDP training: two gloo ranks on this machine, each with its criterion attached.

The ranks are real processes (tests/ddp_worker.py) started together; each writes what it saw as JSON.
The wait on them has a generous bound only so that a hang fails this test instead of the whole run.
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
WORKER = os.path.join(HERE, "ddp_worker.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(scenario: str, tmp_path, world: int = 2) -> list[tuple[int, dict]]:
    port = str(_free_port())
    env = {**os.environ, "PYTHONPATH": os.path.dirname(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    outs = [tmp_path / f"{scenario}-{rank}.json" for rank in range(world)]
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, str(rank), str(world), port, scenario, str(outs[rank])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(world)
    ]
    results = []
    try:
        for proc, out in zip(procs, outs):
            log, _ = proc.communicate(timeout=120)
            assert out.exists(), f"rank wrote no result (exit {proc.returncode}):\n{log}"
            results.append((proc.returncode, json.loads(out.read_text())))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return results


def test_ddp_trains_unchanged_and_a_rank_with_wrong_targets_warns(tmp_path):
    (rc0, r0), (rc1, r1) = run_ranks("train", tmp_path)
    assert (rc0, rc1) == (0, 0), (r0, r1)
    for r in (r0, r1):
        assert r["identical"] and r["in_sync"]
        assert r["clean"] == [4, 4, 0, 0]  # 4 calls judged, seen by the watch too, no report, no warning
    assert r0["signed"] == {"warnings": [], "reports": []}
    [warning] = r1["signed"]["warnings"]
    assert warning.startswith("error[LL402] BCEWithLogitsLoss: `target` has")
    assert r1["signed"]["reports"] == [[["LL402"], 4]]


def test_a_rank_whose_targets_torch_rejects_raises_and_the_run_does_not_hang(tmp_path):
    (rc0, r0), (rc1, r1) = run_ranks("raise", tmp_path)
    assert rc1 == 3 and "error" in r1, (r0, r1)
    assert r1["error"]["codes"] == ["LL401"] and r1["steps"] == 2
    lines = open(WORKER).read().splitlines()
    call = next(i for i, text in enumerate(lines, 1) if "criterion(net(x), y).backward()" in text)
    assert r1["error"]["location"].endswith(f"ddp_worker.py:{call}")
    # Rank 0 learns from its collective that its peer is gone, instead of waiting for it.
    assert rc0 == 3 and r0["peer_error"] and r0["steps"] >= 2


def test_the_same_mistake_on_every_rank_is_warned_once_and_merged_with_its_ranks(tmp_path):
    (rc0, r0), (rc1, r1) = run_ranks("same", tmp_path)
    assert (rc0, rc1) == (0, 0), (r0, r1)
    # One warning in the whole group (not one per rank), naming the rank that saw it first.
    warned = r0["warnings"] + r1["warnings"]
    assert len(warned) == 1, warned
    assert warned[0].startswith("error[LL402] BCEWithLogitsLoss: `target` has")
    assert "seen first on rank " in warned[0] and " of 2; other ranks that see the same findings at this line stay quiet" in warned[0]
    # At a point every rank reaches, every rank gets the merged report: both calls' counts, both ranks.
    assert r0["merged"] == r1["merged"] == [[["LL402"], 8, [0, 1]]]
    assert "(8 calls with these findings; on all 2 ranks)" in r0["text"]
    assert r0["text"].startswith("losslint, epoch 0: 1 error at 1 call site\n\n")
