"""losslint in a distributed run: one report for what every rank sees, and which ranks saw it.

Under DDP every rank runs the same code on its own shard, so a wrong target format shows up on every
rank at once, and N ranks would warn N identical warnings. Two tools, one for each moment:

- While training (the hooks' warnings): the first rank to report a finding at a line says so, with
  its rank; the others record it without warning. Deciding takes one `add` on the process group's
  key-value store, a point-to-point request that never waits for the other ranks (a collective here
  could hang a rank whose peers never make that call), and only on a finding not seen before.
- At a point every rank reaches (the end of an epoch, of the run): `gather_reports()` collects every
  rank's reports on every rank, merged, each with the ranks that saw it. The Lightning and
  HuggingFace callbacks call it at the end of each epoch and print on rank 0.

Nothing here imports torch.distributed unless the program did: a single-process run pays nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from typing import Iterable, Sequence

from ..judging.findings import Report
from ..judging.render import _plural, render_text, repeat_text


@dataclasses.dataclass(frozen=True)
class RankedReport:
    """A report merged over ranks: `count` summed, `ranks` the ranks whose calls had these findings."""

    report: Report
    ranks: tuple[int, ...]


def process_group() -> tuple[int, int] | None:
    """(rank, world size) when torch.distributed is initialized with more than one rank, else None."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is None or not dist.is_available() or not dist.is_initialized():
            return None
        world = dist.get_world_size()
        return (dist.get_rank(), world) if world > 1 else None
    except Exception:  # noqa: BLE001 - a half torn-down group is a single process to us
        return None


def _key(report: Report) -> tuple:
    return (report.location, frozenset((f.code, f.argument) for f in report.findings))


def first_to_report(report: Report) -> bool:
    """Whether this rank is the first in the process group to report these findings at this line.

    True outside a distributed run, and whenever the store cannot be asked (better twice than never).
    """
    if process_group() is None:
        return True
    try:
        from torch.distributed import distributed_c10d

        store = distributed_c10d._get_default_store()
        digest = hashlib.sha1(repr(sorted(map(str, _key(report)[1]))).encode() + str(report.location).encode()).hexdigest()
        return store.add(f"losslint/{digest}", 1) == 1
    except Exception:  # noqa: BLE001
        return True


def rank_note() -> str:
    """`" (rank 1 of 2; the other ranks that see it stay quiet)"`, or "" outside a distributed run."""
    group = process_group()
    if group is None:
        return ""
    rank, world = group
    return f"\n  seen first on rank {rank} of {world}; other ranks that see the same findings at this line stay quiet"


def merge(per_rank: Sequence[Iterable[Report]]) -> list[RankedReport]:
    """Reports of each rank (index = rank) merged by call site and findings, in first-seen order."""
    merged: dict[tuple, tuple[Report, list[int]]] = {}
    for rank, reports in enumerate(per_rank):
        for report in reports:
            if not report.findings:
                continue
            key = _key(report)
            if key in merged:
                kept, ranks = merged[key]
                merged[key] = (dataclasses.replace(kept, count=kept.count + report.count), ranks)
            else:
                merged[key] = (report, [])
                ranks = merged[key][1]
            if rank not in ranks:
                ranks.append(rank)
    return [RankedReport(report, tuple(ranks)) for report, ranks in merged.values()]


def gather_reports(reports: Iterable[Report]) -> list[RankedReport]:
    """Every rank's reports, merged, on every rank. A collective: every rank of the group must call
    it at the same point (an epoch's end). Outside a distributed run, this process's reports as rank 0."""
    mine = [r for r in reports if r.findings]
    group = process_group()
    if group is None:
        return merge([mine])
    import torch.distributed as dist

    gathered: list = [None] * group[1]
    dist.all_gather_object(gathered, mine)
    return merge(gathered)


def _ranks_text(ranks: tuple[int, ...], world: int | None) -> str:
    if world is None:
        return ""
    if len(ranks) == world:
        return f"; on all {world} ranks"
    label = "rank" if len(ranks) == 1 else "ranks"
    return f"; on {label} {', '.join(map(str, ranks))} of {world}"


def render_ranked(ranked: Sequence[RankedReport], *, title: str, world: int | None = None) -> str:
    """The text the training callbacks print: each report under its call site, with its ranks."""
    if not ranked:
        return f"losslint, {title}: no problems found"
    blocks = []
    for item in ranked:
        report = item.report
        count = repeat_text(report.count, None).strip(" ()") or "1 call"
        inside = f" (computed inside {report.context})" if report.context else ""
        blocks.append(f"{report.location}: {report.loss}{inside} ({count}{_ranks_text(item.ranks, world)})\n{render_text(report)}")
    found = [f for item in ranked for f in item.report.findings if f.severity != "info"]
    counts = ", ".join(_plural(sum(1 for f in found if f.severity == s), s) for s in ("error", "warning") if any(f.severity == s for f in found))
    sites = _plural(len({item.report.location for item in ranked}), "call site")
    summary = f"losslint, {title}: {counts or 'infos only'} at {sites}"
    return summary + "\n\n" + "\n\n".join(blocks)
