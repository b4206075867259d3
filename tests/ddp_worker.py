"""One rank of the distributed tests (tests/test_distributed.py): `python ddp_worker.py RANK WORLD PORT SCENARIO OUT`.

"train": a DDP-wrapped model trained plainly and then with its criterion attached (inside watch()),
on correct targets; then a run where rank 1's targets are ±1 labels, which torch accepts and
losslint warns about. "raise": rank 1's third batch comes 1-based; losslint stops that rank before
the loss runs. Each rank writes what it saw to OUT as JSON.
"""

from __future__ import annotations

import datetime
import json
import sys
import warnings

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP

import losslint


def batches(rank: int, steps: int, binary: bool = False):
    gen = torch.Generator().manual_seed(100 + rank)
    for _ in range(steps):
        x = torch.randn(16, 6, generator=gen)
        y = torch.randint(0, 2, (16, 4), generator=gen).float() if binary else torch.randint(0, 4, (16,), generator=gen)
        yield x, y


def model() -> nn.Module:
    torch.manual_seed(0)
    return DDP(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4)))


def train(rank: int, criterion: nn.Module, steps: int, *, binary: bool = False, signed_on: int | None = None):
    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for x, y in batches(rank, steps, binary):
        if rank == signed_on:
            y = 2 * y - 1  # {-1, 1} labels: BCE takes them and computes nonsense
        opt.zero_grad()
        loss = criterion(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().clone() for p in net.parameters()]


def main() -> None:
    rank, world, port, scenario, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=60)
    )
    result: dict = {"rank": rank}
    try:
        if scenario == "train":
            plain_losses, plain_params = train(rank, nn.CrossEntropyLoss(), 4)
            criterion = nn.CrossEntropyLoss()
            with warnings.catch_warnings(record=True) as caught, losslint.attach(criterion) as hook, losslint.watch() as w:
                warnings.simplefilter("always")
                hooked_losses, hooked_params = train(rank, criterion, 4)
            result["identical"] = plain_losses == hooked_losses and all(torch.equal(a, b) for a, b in zip(plain_params, hooked_params))
            result["clean"] = (hook.calls, w.calls, len(hook.reports), len(caught))
            # Every rank holds the same parameters after DDP's all-reduce: gather rank 0's to compare.
            flat = torch.cat([p.reshape(-1) for p in hooked_params])
            gathered = [torch.empty_like(flat) for _ in range(world)]
            dist.all_gather(gathered, flat)
            result["in_sync"] = all(torch.equal(gathered[0], g) for g in gathered)

            criterion = nn.BCEWithLogitsLoss()
            with warnings.catch_warnings(record=True) as caught, losslint.attach(criterion) as hook:
                warnings.simplefilter("always")
                train(rank, criterion, 4, binary=True, signed_on=1)
            result["signed"] = {
                "warnings": [str(w.message).splitlines()[0] for w in caught if issubclass(w.category, losslint.LossLintWarning)],
                "reports": [(r.codes, r.count) for r in hook.reports],
            }
        elif scenario == "same":
            # Every rank makes the same mistake: one warning in the whole group, then one merged report.
            from losslint.hooks.distributed import gather_reports, render_ranked

            criterion = nn.BCEWithLogitsLoss()
            with warnings.catch_warnings(record=True) as caught, losslint.attach(criterion) as hook:
                warnings.simplefilter("always")
                train(rank, criterion, 4, binary=True, signed_on=rank)
            result["warnings"] = [str(w.message) for w in caught if issubclass(w.category, losslint.LossLintWarning)]
            ranked = gather_reports(hook.reports)
            result["merged"] = [(item.report.codes, item.report.count, list(item.ranks)) for item in ranked]
            result["text"] = render_ranked(ranked, title="epoch 0", world=world)
        elif scenario == "raise":
            criterion = nn.CrossEntropyLoss()
            net = model()
            opt = torch.optim.SGD(net.parameters(), lr=0.1)
            losslint.attach(criterion)
            for step, (x, y) in enumerate(batches(rank, 4)):
                if rank == 1 and step == 2:
                    y = y + 1  # this rank's labels come 1-based
                opt.zero_grad()
                criterion(net(x), y).backward()
                opt.step()
                result["steps"] = step + 1
    except losslint.LossLintError as error:
        result["error"] = {"codes": error.report.codes, "location": error.report.location}
    except Exception as error:  # noqa: BLE001 - the peer of a rank that stopped sees a collective fail
        result["peer_error"] = f"{type(error).__name__}: {error}"[:500]
    with open(out, "w") as f:
        json.dump(result, f)
    # A rank that stopped must not wait for the others' collectives: leave without the teardown barrier.
    if "error" in result or "peer_error" in result:
        sys.stdout.flush()
        import os

        os._exit(3)
    # Leave together, then skip the interpreter's own teardown: with gloo's threads still winding down,
    # it aborted one rank now and then (SIGABRT after its results were written).
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    import os

    os._exit(0)


if __name__ == "__main__":
    main()
