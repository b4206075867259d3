"""What check() costs on a 3-D segmentation volume or a language-model batch, against the loss itself:
`python benchmarks/volumes.py` (CPU, one thread; about 20 seconds).

Value checks read a bounded sample for the heuristics, and every element only where exactness is
cheap: one reduction per tensor (`TensorFacts.value_range`, a single `aminmax` for a tensor whose
values are all finite). Each figure is the median of 5 calls, after one to warm up.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn as nn

import losslint


def _cases() -> dict[str, tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    volume = (1, 1, 192, 192, 192)  # 7.1M values
    return {
        "CrossEntropyLoss, 3-D logits (1, 4, 128, 128, 128)": (nn.CrossEntropyLoss(), torch.randn(1, 4, 128, 128, 128), torch.randint(0, 4, (1, 128, 128, 128))),
        "BCEWithLogitsLoss, a volume (1, 1, 192, 192, 192)": (nn.BCEWithLogitsLoss(), torch.randn(volume), (torch.rand(volume) > 0.5).float()),
        "BCELoss, a volume of probabilities": (nn.BCELoss(), torch.rand(volume), (torch.rand(volume) > 0.5).float()),
        "MSELoss, a volume": (nn.MSELoss(), torch.randn(volume), torch.randn(volume)),
        "KLDivLoss(batchmean), 64 x 32000": (nn.KLDivLoss(reduction="batchmean"), torch.randn(64, 32000).log_softmax(1), torch.randn(64, 32000).softmax(1)),
    }


def _median_ms(call, repeats: int = 5) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    torch.set_num_threads(1)
    print(f"losslint {losslint.__version__}, torch {torch.__version__}, 1 thread")
    print(f"{'call':55s} {'check()':>10s} {'the loss':>10s}")
    for name, (criterion, prediction, target) in _cases().items():
        checked = _median_ms(lambda: losslint.check(criterion, prediction, target))
        loss = _median_ms(lambda: criterion(prediction, target))
        print(f"{name:55s} {checked:8.1f} ms {loss:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
