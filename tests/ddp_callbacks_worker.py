"""One rank of the callbacks' distributed tests (tests/test_distributed_callbacks.py):
`python ddp_callbacks_worker.py FRAMEWORK OUT` with the variables torchrun sets (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so that Lightning's `ddp` strategy and the HuggingFace Trainer
use the processes they are given, as under `torchrun --nproc-per-node 2`.

Each rank trains the same small classifier twice, on its own shard of the data: plainly, then with the
framework's losslint callback. The model's output goes through a softmax before CrossEntropyLoss (a
warning losslint reports at the same line on every rank), and rank 1's labels also come as one-hot
float rows on one call site of its own (a finding only rank 1 sees). Writes JSON to OUT: whether the
two runs trained bit-identically, what the callback logged on this rank, and its reports.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


def data(rank: int):
    gen = torch.Generator().manual_seed(10 + rank)  # each rank its own shard
    return torch.randn(64, 12, generator=gen), torch.randint(0, 4, (64,), generator=gen)


def network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4), nn.Softmax(dim=1))


def compute_loss(net: nn.Module, x, y, rank: int):
    out = net(x)
    loss = F.cross_entropy(out, y)  # softmax output as logits: a warning on every rank
    if rank == 1:
        # Only rank 1: one-hot float targets, read as class probabilities (an info; a second site).
        loss = loss + 0.0 * F.cross_entropy(out, F.one_hot(y, 4).float())
    return loss


def lightning_run(rank: int, callbacks: list):
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    class Classifier(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = network()

        def training_step(self, batch, batch_idx):
            x, y = batch
            return compute_loss(self.net, x, y, self.global_rank)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    x, y = data(rank)
    # Each rank's own shard, in order: no sampler shuffling across ranks, the same batches each run.
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    module = Classifier()
    trainer = L.Trainer(
        max_epochs=2, callbacks=callbacks, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu", devices=2, strategy="ddp", num_sanity_val_steps=0,
        use_distributed_sampler=False,
    )
    trainer.fit(module, loader)
    return [p.detach().clone() for p in module.parameters()]


def hf_run(rank: int, callbacks: list, out_dir: str):
    from transformers import Trainer, TrainingArguments
    from torch.utils.data import Dataset

    x, y = data(rank)

    class Shard(Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return {"x": x[i], "labels": y[i]}

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = network()

        def forward(self, x, labels=None):
            return {"loss": compute_loss(self.net, x, labels, rank), "logits": self.net(x)}

    model = Model()
    args = TrainingArguments(
        output_dir=out_dir, per_device_train_batch_size=16, num_train_epochs=2, learning_rate=0.1,
        report_to=[], use_cpu=True, save_strategy="no", logging_strategy="no", disable_tqdm=True,
        ddp_backend="gloo", dataloader_num_workers=0, seed=0, data_seed=0,
        optim="sgd", lr_scheduler_type="constant", weight_decay=0.0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=Shard(), callbacks=callbacks)
    trainer.train()
    return [p.detach().clone() for p in model.parameters()]


def main() -> None:
    framework, out = sys.argv[1], sys.argv[2]
    rank = int(os.environ["RANK"])
    torch.set_num_threads(1)
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    result: dict = {"rank": rank}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's and transformers' advice on workers and CPUs
        if framework == "lightning":
            from losslint.integrations.lightning import LossLint, log

            log.addHandler(handler)
            plain = lightning_run(rank, [])
            callback = LossLint()
            hooked = lightning_run(rank, [callback])
        else:
            from losslint.integrations.hf import LossLintCallback, log

            log.addHandler(handler)
            plain = hf_run(rank, [], os.path.dirname(out))
            callback = LossLintCallback()
            hooked = hf_run(rank, [callback], os.path.dirname(out))
    result["identical"] = len(plain) == len(hooked) and all(torch.equal(a, b) for a, b in zip(plain, hooked))
    result["logged"] = records
    result["reports"] = sorted((r.location, r.codes, r.count) for r in callback.reports)
    import torch.distributed as dist

    # Every rank holds the same parameters after DDP's all-reduce.
    flat = torch.cat([p.reshape(-1) for p in hooked])
    gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, flat)
    result["in_sync"] = all(torch.equal(gathered[0], g) for g in gathered)
    with open(out, "w") as f:
        json.dump(result, f)
    dist.barrier()
    sys.stdout.flush()
    os._exit(0)  # skip the interpreter's teardown with gloo's threads winding down (see ddp_worker.py)


if __name__ == "__main__":
    main()
