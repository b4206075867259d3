#!/usr/bin/env python
"""Empirical probe: which loss calls does PyTorch reject (raise) vs accept?

Re-run with:  . .venv/bin/activate && python maintainer/probe_torch_behaviour.py
Writes docs/how-it-works/torch-behaviour.md (overwritten) and prints a summary of the
"quirks" list, each of which is re-verified against this run's outcomes.

Conventions
- Every probe runs the nn.Module form (construct, then call) AND the
  functional form with identical arguments.  When both agree, one line is
  written (meaning: nn constructed without error AND its call gave exactly
  the same outcome as F); when they differ, both are written
  (`nn: ... | F: ...`).
- Outcome strings:  `→ accepted`  or  `→ raises Type("first 150 chars")`.
  For the module form a construction-time error is written
  `raises@construct Type("...")`.
- Accepted outcomes are annotated with `[out <dtype>]` when the result dtype
  is not float32, and `[nan]` / `[inf]` when the result is non-finite.
- Warnings (captured with warnings.simplefilter("always") and
  torch.set_warn_always(True)) are appended as `; warns Category("...")`.
- Shorthand: N=4 batch, C=5 classes, D=3 features, H=W=3, T=12, S=4;
  f32/f64/f16/bf16/i64/i32/u8/bool dtypes.
"""
from __future__ import annotations

import math
import os
import re
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_warn_always(True)

N, C, D, H, W, T, S = 4, 5, 3, 3, 3, 12, 4
f32, f64, f16, bf16 = torch.float32, torch.float64, torch.float16, torch.bfloat16
i64, i32, u8, b = torch.int64, torch.int32, torch.uint8, torch.bool
DT = {f32: "f32", f64: "f64", f16: "f16", bf16: "bf16", i64: "i64", i32: "i32",
      u8: "u8", b: "bool", torch.int16: "i16", torch.int8: "i8"}

MSGLEN = 150


# --------------------------------------------------------------------------
# helpers to build tensors
# --------------------------------------------------------------------------
def rn(*s, dtype=f32):
    return torch.randn(*s, dtype=dtype)


def ru(*s, dtype=f32):
    return torch.rand(*s, dtype=dtype)


def idx(*s, hi=C, dtype=i64):
    return torch.randint(0, hi, s, dtype=dtype)


def pm1(*s, dtype=f32):
    return (torch.randint(0, 2, s) * 2 - 1).to(dtype)


def logp(*s, dim=1):
    return torch.randn(*s).log_softmax(dim)


def probs(*s, dim=1):
    return torch.randn(*s).softmax(dim)


def mlm_target(n=N, c=C):
    """MultiLabelMargin target: two labels then -1 terminator."""
    t = torch.full((n, c), -1, dtype=i64)
    t[:, 0] = 1
    t[:, 1] = 3
    return t


# --------------------------------------------------------------------------
# outcome recording
# --------------------------------------------------------------------------
def _clean(msg: str) -> str:
    msg = re.sub(r"\s+", " ", str(msg)).strip()
    if len(msg) > MSGLEN:
        msg = msg[:MSGLEN] + "…"
    return msg.replace("`", "'")


def _annot(res):
    if isinstance(res, str):  # value-check probes return a human-readable note
        return f" [{res}]"
    notes = []
    if isinstance(res, torch.Tensor):
        if res.dtype != f32:
            notes.append(f"out {DT.get(res.dtype, str(res.dtype))}")
        if res.dim() > 0:
            notes.append(f"out shape {tuple(res.shape)}")
        if res.is_floating_point():
            r = res.detach().double()
            if torch.isnan(r).any():
                notes.append("nan")
            elif torch.isinf(r).any():
                notes.append("inf")
    elif isinstance(res, tuple) and hasattr(res, "loss"):  # ALSWL output
        r = res.loss.detach()
        if not torch.isfinite(r).all():
            notes.append("non-finite")
    return f" [{', '.join(notes)}]" if notes else ""


def run(thunk):
    """Return (outcome_string, exception_or_None)."""
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            res = thunk()
            out = "accepted" + _annot(res)
        except Exception as e:  # noqa: BLE001
            out = f'raises {type(e).__name__}("{_clean(e)}")'
    seen = []
    for w in ws:
        s = f'{w.category.__name__}("{_clean(w.message)}")'
        if s not in seen:
            seen.append(s)
    if seen:
        out += "; warns " + "; warns ".join(seen)
    return out


def run_mod(ctor, call):
    """Module form: construction then call, separately attributed."""
    holder = {}

    def c():
        holder["m"] = ctor()
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        try:
            c()
            cerr = None
        except Exception as e:  # noqa: BLE001
            cerr = f'raises@construct {type(e).__name__}("{_clean(e)}")'
    cw = []
    for w in ws:
        s = f'{w.category.__name__}("{_clean(w.message)}")'
        if s not in cw:
            cw.append(s)
    cwarn = ("; warns@construct " + "; warns@construct ".join(cw)) if cw else ""
    if cerr:
        return cerr + cwarn
    return run(lambda: call(holder["m"])) + cwarn


# --------------------------------------------------------------------------
# markdown accumulation
# --------------------------------------------------------------------------
SECTIONS: dict[str, list[str]] = {}
ORDER: list[str] = []
RESULTS: dict[str, str] = {}  # fact id -> line outcome
_cur = {"sec": None}


def sec(name):
    if name not in SECTIONS:
        SECTIONS[name] = []
        ORDER.append(name)
    _cur["sec"] = name
    _cur["sub"] = None


def sub(title):
    SECTIONS[_cur["sec"]].append(f"\n**{title}**\n")
    _cur["sub"] = title


def note(text):
    SECTIONS[_cur["sec"]].append(f"- _note:_ {text}")


RECS: list[tuple[str, str, str]] = []  # (loss name, desc, line) for the index sections


def _emit(desc, line, fid):
    SECTIONS[_cur["sec"]].append(f"- `{desc}` {line}")
    owner = _cur["sec"].split(" ")[0]
    if owner == "All" and _cur["sub"]:
        owner = _cur["sub"]
    RECS.append((owner, desc, line))
    if fid:
        RESULTS[fid] = line


def fact(desc, thunk, fid=None):
    """Single form (functional only, or module only)."""
    _emit(desc, "→ " + run(thunk), fid)


def mfact(desc, ctor, call, fid=None):
    """Module-only fact with construct/call attribution."""
    _emit(desc, "→ " + run_mod(ctor, call), fid)


class Spec:
    def __init__(self, name, mod, fn, args, *, mod_call=None, fn_name=None):
        self.name = name
        self.mod = mod            # kwargs -> module instance
        self.fn = fn              # (args, kwargs) -> result, or None
        self.args = args          # () -> tuple of call args
        self.mod_call = mod_call or (lambda m, a: m(*a))
        self.fn_name = fn_name


def both(spec: Spec, desc, args=None, fid=None, mkw=None, fkw=None, **kw):
    """Run module + functional with the same kwargs (mkw/fkw override) and emit one fact."""
    _emit(desc, both_line(spec, args, mkw, fkw, **kw), fid)


def both_line(spec: Spec, args=None, mkw=None, fkw=None, **kw):
    """Run module + functional; return the outcome line (no emission)."""
    args_fn = args or spec.args
    mk = dict(kw) if mkw is None else mkw
    fk = dict(kw) if fkw is None else fkw
    a1 = args_fn()
    torch.manual_seed(1)
    mo = run_mod(lambda: spec.mod(**mk), lambda m: spec.mod_call(m, a1))
    if spec.fn is None:
        line = "→ " + mo + " (module only)"
    else:
        a2 = args_fn()
        fo = run(lambda: spec.fn(a2, fk))
        if fo == mo:
            line = "→ " + fo
        elif fo == mo.replace("warns@construct", "warns"):
            line = "→ " + fo + " (nn: the warning fires at construction)"
        else:
            line = f"→ **nn:** {mo} **| F:** {fo}"
    return line


# --------------------------------------------------------------------------
# specs
# --------------------------------------------------------------------------
LCE_W = torch.randn(C, 8)


def _lce_fn(a, k):
    return F.linear_cross_entropy(a[0], LCE_W, a[1], **k)


SPECS = {
    "CrossEntropyLoss": Spec("CrossEntropyLoss", lambda **k: nn.CrossEntropyLoss(**k),
                             lambda a, k: F.cross_entropy(*a, **k), lambda: (rn(N, C), idx(N))),
    "NLLLoss": Spec("NLLLoss", lambda **k: nn.NLLLoss(**k),
                    lambda a, k: F.nll_loss(*a, **k), lambda: (logp(N, C), idx(N))),
    "BCELoss": Spec("BCELoss", lambda **k: nn.BCELoss(**k),
                    lambda a, k: F.binary_cross_entropy(*a, **k), lambda: (ru(N, C), ru(N, C))),
    "BCEWithLogitsLoss": Spec("BCEWithLogitsLoss", lambda **k: nn.BCEWithLogitsLoss(**k),
                              lambda a, k: F.binary_cross_entropy_with_logits(*a, **k),
                              lambda: (rn(N, C), ru(N, C))),
    # KLDiv probes default to reduction="batchmean" so the 'mean' UserWarning (recorded once in the
    # reduction section) does not repeat on every line.
    "KLDivLoss": Spec("KLDivLoss", lambda **k: nn.KLDivLoss(**{"reduction": "batchmean", **k}),
                      lambda a, k: F.kl_div(*a, **{"reduction": "batchmean", **k}),
                      lambda: (logp(N, C), probs(N, C))),
    "MSELoss": Spec("MSELoss", lambda **k: nn.MSELoss(**k),
                    lambda a, k: F.mse_loss(*a, **k), lambda: (rn(N, C), rn(N, C))),
    "L1Loss": Spec("L1Loss", lambda **k: nn.L1Loss(**k),
                   lambda a, k: F.l1_loss(*a, **k), lambda: (rn(N, C), rn(N, C))),
    "SmoothL1Loss": Spec("SmoothL1Loss", lambda **k: nn.SmoothL1Loss(**k),
                         lambda a, k: F.smooth_l1_loss(*a, **k), lambda: (rn(N, C), rn(N, C))),
    "HuberLoss": Spec("HuberLoss", lambda **k: nn.HuberLoss(**k),
                      lambda a, k: F.huber_loss(*a, **k), lambda: (rn(N, C), rn(N, C))),
    "PoissonNLLLoss": Spec("PoissonNLLLoss", lambda **k: nn.PoissonNLLLoss(**k),
                           lambda a, k: F.poisson_nll_loss(*a, **k),
                           lambda: (rn(N, C), torch.poisson(torch.full((N, C), 2.0)))),
    "GaussianNLLLoss": Spec("GaussianNLLLoss", lambda **k: nn.GaussianNLLLoss(**k),
                            lambda a, k: F.gaussian_nll_loss(*a, **k),
                            lambda: (rn(N, C), rn(N, C), ru(N, C) + 0.1)),
    "HingeEmbeddingLoss": Spec("HingeEmbeddingLoss", lambda **k: nn.HingeEmbeddingLoss(**k),
                               lambda a, k: F.hinge_embedding_loss(*a, **k), lambda: (rn(N), pm1(N))),
    "MarginRankingLoss": Spec("MarginRankingLoss", lambda **k: nn.MarginRankingLoss(**k),
                              lambda a, k: F.margin_ranking_loss(*a, **k),
                              lambda: (rn(N), rn(N), pm1(N))),
    "CosineEmbeddingLoss": Spec("CosineEmbeddingLoss", lambda **k: nn.CosineEmbeddingLoss(**k),
                                lambda a, k: F.cosine_embedding_loss(*a, **k),
                                lambda: (rn(N, D), rn(N, D), pm1(N))),
    "SoftMarginLoss": Spec("SoftMarginLoss", lambda **k: nn.SoftMarginLoss(**k),
                           lambda a, k: F.soft_margin_loss(*a, **k), lambda: (rn(N, C), pm1(N, C))),
    "MultiMarginLoss": Spec("MultiMarginLoss", lambda **k: nn.MultiMarginLoss(**k),
                            lambda a, k: F.multi_margin_loss(*a, **k), lambda: (rn(N, C), idx(N))),
    "MultiLabelMarginLoss": Spec("MultiLabelMarginLoss", lambda **k: nn.MultiLabelMarginLoss(**k),
                                 lambda a, k: F.multilabel_margin_loss(*a, **k),
                                 lambda: (rn(N, C), mlm_target())),
    "MultiLabelSoftMarginLoss": Spec("MultiLabelSoftMarginLoss",
                                     lambda **k: nn.MultiLabelSoftMarginLoss(**k),
                                     lambda a, k: F.multilabel_soft_margin_loss(*a, **k),
                                     lambda: (rn(N, C), idx(N, C, hi=2).float())),
    "TripletMarginLoss": Spec("TripletMarginLoss", lambda **k: nn.TripletMarginLoss(**k),
                              lambda a, k: F.triplet_margin_loss(*a, **k),
                              lambda: (rn(N, D), rn(N, D), rn(N, D))),
    "TripletMarginWithDistanceLoss": Spec(
        "TripletMarginWithDistanceLoss", lambda **k: nn.TripletMarginWithDistanceLoss(**k),
        lambda a, k: F.triplet_margin_with_distance_loss(*a, **k),
        lambda: (rn(N, D), rn(N, D), rn(N, D))),
    "CTCLoss": Spec("CTCLoss", lambda **k: nn.CTCLoss(**k),
                    lambda a, k: F.ctc_loss(*a, **k),
                    lambda: (logp(T, N, C, dim=2), torch.randint(1, C, (N, S)),
                             torch.full((N,), T, dtype=i64), torch.full((N,), S, dtype=i64))),
    "AdaptiveLogSoftmaxWithLoss": Spec(
        "AdaptiveLogSoftmaxWithLoss",
        lambda **k: nn.AdaptiveLogSoftmaxWithLoss(64, 10, cutoffs=[4, 8], **k),
        None, lambda: (rn(N, 64), idx(N, hi=10))),
    "LinearCrossEntropyLoss": Spec("LinearCrossEntropyLoss",
                                   lambda **k: nn.LinearCrossEntropyLoss(8, C, **k),
                                   _lce_fn, lambda: (rn(N, 8), idx(N))),
}
S_ = SPECS

# which positional args are "input" (float) and which is "target"
ROLE = {
    "CrossEntropyLoss": ([0], 1, "index"), "NLLLoss": ([0], 1, "index"),
    "BCELoss": ([0], 1, "float"), "BCEWithLogitsLoss": ([0], 1, "float"),
    "KLDivLoss": ([0], 1, "float"), "MSELoss": ([0], 1, "float"), "L1Loss": ([0], 1, "float"),
    "SmoothL1Loss": ([0], 1, "float"), "HuberLoss": ([0], 1, "float"),
    "PoissonNLLLoss": ([0], 1, "float"), "GaussianNLLLoss": ([0], 1, "float"),
    "HingeEmbeddingLoss": ([0], 1, "pm1"), "MarginRankingLoss": ([0, 1], 2, "pm1"),
    "CosineEmbeddingLoss": ([0, 1], 2, "pm1"), "SoftMarginLoss": ([0], 1, "pm1"),
    "MultiMarginLoss": ([0], 1, "index"), "MultiLabelMarginLoss": ([0], 1, "index"),
    "MultiLabelSoftMarginLoss": ([0], 1, "float"),
    "TripletMarginLoss": ([0, 1, 2], None, None), "TripletMarginWithDistanceLoss": ([0, 1, 2], None, None),
    "CTCLoss": ([0], 1, "index"), "AdaptiveLogSoftmaxWithLoss": ([0], 1, "index"),
    "LinearCrossEntropyLoss": ([0], 1, "index"),
}


def cast_args(name, in_dtype=None, tgt_dtype=None):
    ins, tgt, _ = ROLE[name]
    base = SPECS[name].args

    def f():
        a = list(base())
        if in_dtype is not None:
            for i in ins:
                if in_dtype.is_floating_point:
                    a[i] = a[i].to(in_dtype)
                else:
                    a[i] = (a[i] * 3).round().to(in_dtype)
        if tgt_dtype is not None and tgt is not None:
            a[tgt] = a[tgt].to(tgt_dtype)
        return tuple(a)
    return f


def replace(name, **pos):
    """args factory replacing positional args given as a0=..., a1=... thunks."""
    base = SPECS[name].args

    def f():
        a = list(base())
        for k, v in pos.items():
            a[int(k[1:])] = v()
        return tuple(a)
    return f


# ==========================================================================
# 1. generic reduction probes for every loss
# ==========================================================================
sec("All losses: `reduction` values")
note("`_Loss.__init__` stores `reduction` unvalidated; validation happens inside the functional/C++ call, "
     "so every invalid value raises at CALL time, never at construction (nn and F identical for all losses "
     "below). Losses with identical outcomes are grouped.")
ABBR = {"CrossEntropyLoss": "CE", "NLLLoss": "NLL", "BCELoss": "BCE", "BCEWithLogitsLoss": "BCEWithLogits",
        "KLDivLoss": "KLDiv", "MSELoss": "MSE", "L1Loss": "L1", "SmoothL1Loss": "SmoothL1",
        "HuberLoss": "Huber", "PoissonNLLLoss": "PoissonNLL", "GaussianNLLLoss": "GaussianNLL",
        "HingeEmbeddingLoss": "HingeEmbedding", "MarginRankingLoss": "MarginRanking",
        "CosineEmbeddingLoss": "CosineEmbedding", "SoftMarginLoss": "SoftMargin",
        "MultiMarginLoss": "MultiMargin", "MultiLabelMarginLoss": "MultiLabelMargin",
        "MultiLabelSoftMarginLoss": "MultiLabelSoftMargin", "TripletMarginLoss": "TripletMargin",
        "TripletMarginWithDistanceLoss": "TripletMarginWithDistance", "CTCLoss": "CTC",
        "LinearCrossEntropyLoss": "LinearCrossEntropy"}
for r in ["avg", None, "batchmean", "MEAN", "elementwise_mean", "sum", "none"]:
    groups: dict[str, list[str]] = {}
    for name, spec in SPECS.items():
        if name == "AdaptiveLogSoftmaxWithLoss":
            continue
        line = both_line(spec, reduction=r)
        RESULTS[f"{name}_red_{r}"] = line
        RECS.append((name, f"reduction={r!r}", line))
        groups.setdefault(line, []).append(ABBR[name])
    sub(f"reduction={r!r}")
    for line, names in groups.items():
        SECTIONS[_cur["sec"]].append(f"- {', '.join(names)}: `reduction={r!r}` {line}")
sub("Other")
mfact('AdaptiveLogSoftmaxWithLoss(64,10,[4,8], reduction="sum")',
      lambda: nn.AdaptiveLogSoftmaxWithLoss(64, 10, cutoffs=[4, 8], reduction="sum"),
      lambda m: None, fid="alswl_reduction")
for name in ("CrossEntropyLoss", "MSELoss", "KLDivLoss"):
    both(SPECS[name], f"{name}: size_average=False (legacy)", size_average=False, fid=f"{name}_legacy")
mfact("nn.KLDivLoss() default reduction ('mean')", lambda: nn.KLDivLoss(),
      lambda m: m(logp(N, C), probs(N, C)), fid="kl_mean")
fact("F.kl_div(x, y) default reduction ('mean')", lambda: F.kl_div(logp(N, C), probs(N, C)))
both(SPECS["KLDivLoss"], "KLDiv: reduction='batchmean', unbatched (C,) input",
     args=lambda: (logp(C, dim=0), probs(C, dim=0)), reduction="batchmean")


# ==========================================================================
# per-loss sections
# ==========================================================================
def dtype_matrix(name, targets=(i64, i32, u8, b, f16, bf16, f64, f32)):
    spec = SPECS[name]
    ins, tgt, kind = ROLE[name]
    sub("Dtypes")
    both(spec, "input i64", args=cast_args(name, in_dtype=i64), fid=f"{name}_in_i64")
    if tgt is not None:
        for td in targets:
            both(spec, f"target {DT[td]} (input f32)", args=cast_args(name, tgt_dtype=td),
                 fid=f"{name}_tgt_{DT[td]}")
    for idt in (f16, bf16, f64):
        tdt = idt if kind in ("float", "pm1") else None
        both(spec, f"input {DT[idt]}" + (f" + target {DT[tdt]}" if tdt else ""),
             args=cast_args(name, in_dtype=idt, tgt_dtype=tdt), fid=f"{name}_in_{DT[idt]}")
    if kind in ("float", "pm1"):
        both(spec, "input f16 + target f32", args=cast_args(name, in_dtype=f16, tgt_dtype=f32),
             fid=f"{name}_in_f16_t32")
        both(spec, "input i64 + target i64 (all-integer)", args=cast_args(name, in_dtype=i64, tgt_dtype=i64),
             fid=f"{name}_all_int")


# ---------------------------------------------------------------- CE
sec("CrossEntropyLoss / F.cross_entropy")
ce = SPECS["CrossEntropyLoss"]
sub("Config")
for ls in (-0.1, -5.0, 0.0, 0.5, 1.0, 1.5):
    both(ce, f"label_smoothing={ls}", label_smoothing=ls, fid=f"ce_ls_{ls}")


def _ls_same(ls, prob=False):
    x = rn(N, C)
    t = probs(N, C) if prob else idx(N)
    a, b_ = F.cross_entropy(x, t, label_smoothing=ls), F.cross_entropy(x, t)
    return f"loss == unsmoothed loss: {bool(torch.allclose(a, b_))}"


fact("F.cross_entropy(x, t, label_smoothing=-0.1) value check", lambda: _ls_same(-0.1), fid="ce_ls_neg_val")
fact("F.cross_entropy(x, prob_t, label_smoothing=-0.1) value check", lambda: _ls_same(-0.1, True))
both(ce, "label_smoothing=1.5, target prob (N,C)", args=lambda: (rn(N, C), probs(N, C)),
     label_smoothing=1.5)
for ii in (1.5, -100.0, 2.0, None, "x"):
    both(ce, f"ignore_index={ii!r}", ignore_index=ii, fid=f"ce_ii_{ii}")
dtype_matrix("CrossEntropyLoss")
both(ce, "input bf16 (N,C,H,W) + target i64", args=lambda: (rn(N, C, H, W, dtype=bf16), idx(N, H, W)))
both(ce, "target u8 (N,) with input (N,C)", args=lambda: (rn(N, C), idx(N, dtype=u8)), fid="ce_u8_2d")
both(ce, "target u8 (N,H,W) with input (N,C,H,W)", args=lambda: (rn(N, C, H, W), idx(N, H, W, dtype=u8)),
     fid="ce_u8_4d")
both(ce, "target u8 (N,T) with input (N,C,T) [3-D]", args=lambda: (rn(N, C, T), idx(N, T, dtype=u8)),
     fid="ce_u8_3d")
both(ce, "target u8 0-d with input (C,) [unbatched]", args=lambda: (rn(C), torch.tensor(2, dtype=u8)))
both(ce, "target u8 (N,) with input (N,C), label_smoothing=0.1", args=lambda: (rn(N, C), idx(N, dtype=u8)),
     label_smoothing=0.1, fid="ce_u8_ls")
both(ce, "target u8 (N,) with input (N,C), weight (C,)", args=lambda: (rn(N, C), idx(N, dtype=u8)),
     weight=torch.ones(C))
both(ce, "target i32 (N,H,W) with input (N,C,H,W)", args=lambda: (rn(N, C, H, W), idx(N, H, W, dtype=i32)))
both(ce, "target bool (N,H,W) with input (N,C,H,W)", args=lambda: (rn(N, C, H, W), idx(N, H, W, hi=2).bool()))
both(ce, "target i16 (N,)", args=lambda: (rn(N, C), idx(N, dtype=torch.int16)))
both(ce, "target f32 (N,) (float class indices)", args=lambda: (rn(N, C), idx(N).float()), fid="ce_float_idx")
both(ce, "target prob (N,C) f64, input f32", args=lambda: (rn(N, C), probs(N, C).double()), fid="ce_prob_f64")
both(ce, "target prob (N,C) f16, input f32", args=lambda: (rn(N, C), probs(N, C).half()))
both(ce, "target (N,C) i64 (same shape as input, integer)", args=lambda: (rn(N, C), idx(N, C)), fid="ce_nc_int")
both(ce, "weight f64 (C,) with input f32", weight=torch.ones(C, dtype=f64), fid="ce_w_f64")
both(ce, "weight i64 (C,)", weight=torch.ones(C, dtype=i64))
sub("Shapes")
both(ce, "input (N,C), target (N,1)", args=lambda: (rn(N, C), idx(N, 1)), fid="ce_n1")
both(ce, "input (N,C), target (N+1,)", args=lambda: (rn(N, C), idx(N + 1)), fid="ce_wrongN")
both(ce, "input (N,C), target (N,C) float not a prob dist", args=lambda: (rn(N, C), rn(N, C)))
both(ce, "input (N,C), target (N,C+1) float", args=lambda: (rn(N, C), probs(N, C + 1)))
both(ce, "input (N,T,C), target (N,T) [class dim must be 1]", args=lambda: (rn(N, T, C), idx(N, T)),
     fid="ce_ntc")
both(ce, "input (N,T,C) with T==C? use (N,C,C), target (N,C)", args=lambda: (rn(N, C, C), idx(N, C)),
     fid="ce_ncc")
both(ce, "input (N,H,W,C) channels-last, target (N,H,W)", args=lambda: (rn(N, H, W, C), idx(N, H, W)),
     fid="ce_nhwc")
both(ce, "input (N,C,H,W), target (N,H,W)", args=lambda: (rn(N, C, H, W), idx(N, H, W)))
both(ce, "input (N,C,H,W), target (N,1,H,W)", args=lambda: (rn(N, C, H, W), idx(N, 1, H, W)), fid="ce_n1hw")
both(ce, "input (N,C,H,W), target (N,H,W+1)", args=lambda: (rn(N, C, H, W), idx(N, H, W + 1)))
both(ce, "input (N,C,H,W), target prob (N,C,H,W)", args=lambda: (rn(N, C, H, W), probs(N, C, H, W)))
both(ce, "input (N,C,H,W), target (N,) ", args=lambda: (rn(N, C, H, W), idx(N)))
both(ce, "input (C,) unbatched, target 0-d i64", args=lambda: (rn(C), torch.tensor(2)), fid="ce_unbatched")
both(ce, "input (C,), target (1,) i64", args=lambda: (rn(C), torch.tensor([2])), fid="ce_c_t1")
both(ce, "input (C,), target (1,) i64, reduction='none'", args=lambda: (rn(C), torch.tensor([2])),
     reduction="none")
both(ce, "input (C,), target (C,) float prob", args=lambda: (rn(C), probs(C, dim=0)), fid="ce_c_prob")
both(ce, "input (C,), target (C,) i64", args=lambda: (rn(C), idx(C)))
both(ce, "input 0-d, target 0-d i64", args=lambda: (torch.tensor(1.0), torch.tensor(0)), fid="ce_0d")
both(ce, "input 0-d, target 0-d f32", args=lambda: (torch.tensor(1.0), torch.tensor(1.0)))
both(ce, "input (N,1) C==1, target zeros (N,)", args=lambda: (rn(N, 1), torch.zeros(N, dtype=i64)),
     fid="ce_c1")
both(ce, "input (N,1) C==1, target ones (N,)", args=lambda: (rn(N, 1), torch.ones(N, dtype=i64)))
both(ce, "input (N,0) C==0, target (N,)", args=lambda: (rn(N, 0), torch.zeros(N, dtype=i64)))
both(ce, "input (0,C), target (0,) [empty batch], mean", args=lambda: (rn(0, C), idx(0)), fid="ce_empty")
both(ce, "weight (C+1,)", weight=torch.ones(C + 1), fid="ce_w_wrong")
both(ce, "weight (C-1,)", weight=torch.ones(C - 1))
both(ce, "weight (1,C)", weight=torch.ones(1, C))
both(ce, "weight (C,) + prob target (N,C)", args=lambda: (rn(N, C), probs(N, C)), weight=torch.ones(C))
both(ce, "weight (C+1,) + prob target (N,C)", args=lambda: (rn(N, C), probs(N, C)),
     weight=torch.ones(C + 1), fid="ce_w_wrong_prob")
sub("Values")
both(ce, "target contains C", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, C])), fid="ce_tC")
both(ce, "target contains -1", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, -1])), fid="ce_tm1")
both(ce, "target contains -100 (default ignore_index)", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, -100])))
both(ce, "target all -100 (all ignored), mean", args=lambda: (rn(N, C), torch.full((N,), -100)),
     fid="ce_all_ignored")
both(ce, "target 255, ignore_index=255", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, 255])),
     ignore_index=255, fid="ce_255")
both(ce, "target 255, default ignore_index", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, 255])))
both(ce, "target -100, ignore_index=255", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, -100])),
     ignore_index=255)
both(ce, "target -5, ignore_index=-5", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, -5])), ignore_index=-5)
both(ce, "target contains C, label_smoothing=0.1", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, C])),
     label_smoothing=0.1, fid="ce_tC_ls")
both(ce, "target contains C, weight given", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, C])),
     weight=torch.ones(C))
both(ce, "target contains C, reduction='none'", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, C])),
     reduction="none")
both(ce, "(N,C,H,W) target contains C", args=lambda: (rn(N, C, H, W), torch.full((N, H, W), C)),
     fid="ce_4d_tC")
both(ce, "(N,C,H,W) target contains -1", args=lambda: (rn(N, C, H, W), torch.full((N, H, W), -1)))
both(ce, "(N,C,H,W) target ALL 255, ignore_index=255 (everything ignored)",
     args=lambda: (rn(N, C, H, W), torch.full((N, H, W), 255)), ignore_index=255)
both(ce, "(N,T,C) 3-D target contains C", args=lambda: (rn(N, C, T), torch.full((N, T), C)))
both(ce, "prob target (N,C), ignore_index=0", args=lambda: (rn(N, C), probs(N, C)), ignore_index=0,
     fid="ce_prob_ii0")
both(ce, "prob target (N,C), ignore_index=-1", args=lambda: (rn(N, C), probs(N, C)), ignore_index=-1,
     fid="ce_prob_iim1")
both(ce, "prob target (N,C), ignore_index=-100 explicit", args=lambda: (rn(N, C), probs(N, C)),
     ignore_index=-100)
both(ce, "prob target (N,C), ignore_index=255 (>= C)", args=lambda: (rn(N, C), probs(N, C)), ignore_index=255,
     fid="ce_prob_ii255")
both(ce, "prob target (N,C,H,W), ignore_index=0", args=lambda: (rn(N, C, H, W), probs(N, C, H, W)),
     ignore_index=0)
both(ce, "prob target (N,C), ignore_index=0, label_smoothing=0.1", args=lambda: (rn(N, C), probs(N, C)),
     ignore_index=0, label_smoothing=0.1)
both(ce, "prob target with negatives / not summing to 1", args=lambda: (rn(N, C), rn(N, C) * 5),
     fid="ce_prob_neg")
both(ce, "input contains NaN", args=lambda: (torch.full((N, C), float("nan")), idx(N)))

# ---------------------------------------------------------------- NLL
sec("NLLLoss / F.nll_loss")
nll = SPECS["NLLLoss"]
sub("Config")
for ii in (1.5, -100.0, None):
    both(nll, f"ignore_index={ii!r}", ignore_index=ii, fid=f"nll_ii_{ii}")
both(nll, "label_smoothing=0.1 (not a parameter)", label_smoothing=0.1)
dtype_matrix("NLLLoss")
both(nll, "target f32 (N,) class indices", args=lambda: (logp(N, C), idx(N).float()), fid="nll_float")
both(nll, "(N,C,H,W) target u8", args=lambda: (logp(N, C, H, W), idx(N, H, W, dtype=u8)), fid="nll_u8_4d")
both(nll, "(N,C,H,W) target i32", args=lambda: (logp(N, C, H, W), idx(N, H, W, dtype=i32)))
both(nll, "(N,C,D1,D2,D3) 5-D target u8", args=lambda: (logp(N, C, 2, 2, 2), idx(N, 2, 2, 2, dtype=u8)))
both(nll, "weight f64 with input f32", weight=torch.ones(C, dtype=f64))
sub("Shapes")
both(nll, "input (N,C), target (N,1)", args=lambda: (logp(N, C), idx(N, 1)), fid="nll_n1")
both(nll, "input (N,C), target (N+1,)", args=lambda: (logp(N, C), idx(N + 1)))
both(nll, "input (N,C), target (N,C) i64", args=lambda: (logp(N, C), idx(N, C)), fid="nll_nc")
both(nll, "input (N,C), target (N,C) prob float", args=lambda: (logp(N, C), probs(N, C)), fid="nll_prob")
both(nll, "input (N,T,C), target (N,T)", args=lambda: (logp(N, T, C), idx(N, T)))
both(nll, "input (N,H,W,C) channels-last, target (N,H,W)", args=lambda: (logp(N, H, W, C), idx(N, H, W)))
both(nll, "input (N,C,H,W), target (N,1,H,W)", args=lambda: (logp(N, C, H, W), idx(N, 1, H, W)), fid="nll_n1hw")
both(nll, "input (C,), target 0-d", args=lambda: (logp(C, dim=0), torch.tensor(2)))
both(nll, "input (C,), target (C,) float", args=lambda: (logp(C, dim=0), probs(C, dim=0)))
both(nll, "input 0-d, target 0-d", args=lambda: (torch.tensor(-1.0), torch.tensor(0)), fid="nll_0d")
both(nll, "input (N,1) C==1, target zeros", args=lambda: (logp(N, 1), torch.zeros(N, dtype=i64)))
both(nll, "weight (C+1,)", weight=torch.ones(C + 1), fid="nll_w_wrong")
both(nll, "weight (C+1,), 4-D input", args=lambda: (logp(N, C, H, W), idx(N, H, W)), weight=torch.ones(C + 1))
both(nll, "weight (C-1,)", weight=torch.ones(C - 1))
sub("Values")
both(nll, "target contains C", args=lambda: (logp(N, C), torch.tensor([0, 1, 2, C])), fid="nll_tC")
both(nll, "target contains -1", args=lambda: (logp(N, C), torch.tensor([0, 1, 2, -1])))
both(nll, "target -100 default ignore", args=lambda: (logp(N, C), torch.tensor([0, 1, 2, -100])))
both(nll, "target 255, ignore_index=255", args=lambda: (logp(N, C), torch.tensor([0, 1, 2, 255])), ignore_index=255)
both(nll, "target all ignored, mean", args=lambda: (logp(N, C), torch.full((N,), -100)), fid="nll_all_ign")
both(nll, "(N,C,H,W) target contains C", args=lambda: (logp(N, C, H, W), torch.full((N, H, W), C)))
both(nll, "(N,C,H,W) target contains -1", args=lambda: (logp(N, C, H, W), torch.full((N, H, W), -1)))
both(nll, "(N,C,T) 3-D target contains C", args=lambda: (logp(N, C, T), torch.full((N, T), C)))
both(nll, "positive input (not log-probs)", args=lambda: (ru(N, C) + 1, idx(N)))

# ---------------------------------------------------------------- BCE
sec("BCELoss / F.binary_cross_entropy")
bce = SPECS["BCELoss"]
dtype_matrix("BCELoss")
both(bce, "input f32 + target f64", args=cast_args("BCELoss", tgt_dtype=f64), fid="bce_f32_f64")
both(bce, "weight f64 with f32 input/target", weight=torch.ones(C, dtype=f64))
sub("Shapes")
both(bce, "input (N,1), target (N,)", args=lambda: (ru(N, 1), ru(N)), fid="bce_n1_n")
both(bce, "input (N,), target (N,1)", args=lambda: (ru(N), ru(N, 1)))
both(bce, "input (N,C), target (C,)", args=lambda: (ru(N, C), ru(C)))
both(bce, "input (N,C), target (N,C+1)", args=lambda: (ru(N, C), ru(N, C + 1)))
both(bce, "input (N,), target 0-d", args=lambda: (ru(N), torch.tensor(1.0)))
both(bce, "input 0-d, target 0-d", args=lambda: (torch.tensor(0.3), torch.tensor(1.0)))
both(bce, "weight (C,) broadcast on (N,C)", weight=torch.ones(C), fid="bce_w_c")
both(bce, "weight (N,1) broadcast on (N,C)", weight=torch.ones(N, 1))
both(bce, "weight (C+1,) on (N,C)", weight=torch.ones(C + 1), fid="bce_w_wrong")
both(bce, "weight (N,C,2) bigger than input (N,C)", weight=torch.ones(N, C, 2), fid="bce_w_bigger")
both(bce, "weight (N,) on (N,C) [not broadcastable unless N==C]", weight=torch.ones(N))
sub("Values")
both(bce, "input > 1", args=lambda: (ru(N, C) + 1.5, ru(N, C)), fid="bce_in_gt1")
both(bce, "input < 0", args=lambda: (ru(N, C) - 1.5, ru(N, C)))
both(bce, "input exactly 0 and 1", args=lambda: (idx(N, C, hi=2).float(), ru(N, C)))
both(bce, "input NaN", args=lambda: (torch.full((N, C), float("nan")), ru(N, C)), fid="bce_nan")
both(bce, "target > 1", args=lambda: (ru(N, C), ru(N, C) + 1.5), fid="bce_t_gt1")
both(bce, "target < 0", args=lambda: (ru(N, C), ru(N, C) - 1.5))
both(bce, "target NaN", args=lambda: (ru(N, C), torch.full((N, C), float("nan"))))

# ---------------------------------------------------------------- BCEWithLogits
sec("BCEWithLogitsLoss / F.binary_cross_entropy_with_logits")
bcel = SPECS["BCEWithLogitsLoss"]
dtype_matrix("BCEWithLogitsLoss")
both(bcel, "pos_weight f64 with f32 input", pos_weight=torch.ones(C, dtype=f64))
both(bcel, "pos_weight i64", pos_weight=torch.ones(C, dtype=i64))
sub("Shapes")
both(bcel, "input (N,1), target (N,)", args=lambda: (rn(N, 1), ru(N)), fid="bcel_n1_n")
both(bcel, "input (N,C), target (C,) broadcastable", args=lambda: (rn(N, C), ru(C)))
both(bcel, "input (N,C), target (N,C+1)", args=lambda: (rn(N, C), ru(N, C + 1)))
both(bcel, "pos_weight (C,) with input (N,C)", pos_weight=torch.ones(C), fid="bcel_pw_c")
both(bcel, "pos_weight (C,) with input (N,C,H,W), W!=C",
     args=lambda: (rn(N, C, H, W), ru(N, C, H, W)), pos_weight=torch.ones(C), fid="bcel_pw_4d")
both(bcel, "pos_weight (C,) with input (N,C,H,C) [W==C: silently broadcasts on last dim]",
     args=lambda: (rn(N, C, H, C), ru(N, C, H, C)), pos_weight=torch.ones(C), fid="bcel_pw_4d_wc")
both(bcel, "pos_weight (C,1,1) with input (N,C,H,W)",
     args=lambda: (rn(N, C, H, W), ru(N, C, H, W)), pos_weight=torch.ones(C, 1, 1))
both(bcel, "pos_weight (C+1,) with (N,C)", pos_weight=torch.ones(C + 1))
both(bcel, "pos_weight (1,) with (N,C)", pos_weight=torch.ones(1))
both(bcel, "pos_weight 0-d with (N,C)", pos_weight=torch.tensor(2.0))
both(bcel, "pos_weight (N,C,2) bigger than input", pos_weight=torch.ones(N, C, 2))
both(bcel, "weight (C+1,)", weight=torch.ones(C + 1))
both(bcel, "weight (N,C,2) bigger than input", weight=torch.ones(N, C, 2), fid="bcel_w_bigger")
sub("Values")
both(bcel, "target > 1", args=lambda: (rn(N, C), ru(N, C) + 1.5))
both(bcel, "target < 0 / negative pos_weight", args=lambda: (rn(N, C), ru(N, C) - 1.5),
     pos_weight=-torch.ones(C))
both(bcel, "input NaN", args=lambda: (torch.full((N, C), float("nan")), ru(N, C)))

# ---------------------------------------------------------------- KLDiv
sec("KLDivLoss / F.kl_div")
kl = SPECS["KLDivLoss"]
sub("Config")
for lt in (True, False, 1, "yes"):
    both(kl, f"log_target={lt!r}", log_target=lt)
dtype_matrix("KLDivLoss")
sub("Shapes")
both(kl, "input (N,1), target (N,)", args=lambda: (logp(N, 1), ru(N)), fid="kl_n1_n")
both(kl, "input (N,C), target (C,)", args=lambda: (logp(N, C), probs(C, dim=0)))
both(kl, "input (C,), target (N,C) [target bigger]", args=lambda: (logp(C, dim=0), probs(N, C)))
both(kl, "input (N,C), target (N,C+1)", args=lambda: (logp(N, C), probs(N, C + 1)))
sub("Values")
both(kl, "target negative, log_target=False", args=lambda: (logp(N, C), -probs(N, C)), fid="kl_neg_t")
both(kl, "target zero, log_target=False", args=lambda: (logp(N, C), torch.zeros(N, C)))
both(kl, "target negative, log_target=True", args=lambda: (logp(N, C), -probs(N, C)), log_target=True)
both(kl, "input positive (not log-probs)", args=lambda: (ru(N, C) + 1, probs(N, C)))

# ---------------------------------------------------------------- elementwise regressions
for name, extra in [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {"beta": [0.0, -1.0, 0.5]}),
                    ("HuberLoss", {"delta": [0.0, -1.0, 0.5, 1, "1"]}), ("SoftMarginLoss", {}),
                    ("PoissonNLLLoss", {}), ("MultiLabelSoftMarginLoss", {})]:
    fname = {"MSELoss": "mse_loss", "L1Loss": "l1_loss", "SmoothL1Loss": "smooth_l1_loss",
             "HuberLoss": "huber_loss", "SoftMarginLoss": "soft_margin_loss",
             "PoissonNLLLoss": "poisson_nll_loss",
             "MultiLabelSoftMarginLoss": "multilabel_soft_margin_loss"}[name]
    sec(f"{name} / F.{fname}")
    sp = SPECS[name]
    if extra:
        sub("Config")
        for k, vals in extra.items():
            for v in vals:
                both(sp, f"{k}={v!r}", fid=f"{name}_{k}_{v}", **{k: v})
    if name == "SmoothL1Loss":
        both(sp, "beta=0.0 (functional→l1 path) with reduction='none'", beta=0.0, reduction="none")
    if name == "PoissonNLLLoss":
        sub("Config")
        for lin in (True, False):
            for e in (0.0, -1.0, 1e-8):
                both(sp, f"log_input={lin}, eps={e} (input in [0.5,1.5))", log_input=lin, eps=e,
                     args=lambda: (ru(N, C) + 0.5, torch.poisson(torch.full((N, C), 2.0))),
                     fid=f"pnll_{lin}_{e}")
        both(sp, "log_input=False, eps=0, input contains 0",
             args=lambda: (torch.zeros(N, C), torch.ones(N, C)), log_input=False, eps=0.0)
        both(sp, "log_input=False, eps=-1, input 0.5 (log of negative)",
             args=lambda: (torch.full((N, C), 0.5), torch.ones(N, C)), log_input=False, eps=-1.0,
             fid="pnll_negeps_nan")
        both(sp, "full=True", full=True)
    dtype_matrix(name)
    both(sp, "input f32 + target f64", args=cast_args(name, tgt_dtype=f64), fid=f"{name}_f32_f64")
    both(sp, "input f64 + target f32", args=cast_args(name, in_dtype=f64, tgt_dtype=f32))
    sub("Shapes")
    both(sp, "input (N,1), target (N,)", args=lambda: (rn(N, 1), rn(N)), fid=f"{name}_n1_n")
    both(sp, "input (N,), target (N,1)", args=lambda: (rn(N), rn(N, 1)))
    both(sp, "input (N,C), target (C,) broadcastable", args=lambda: (rn(N, C), rn(C)), fid=f"{name}_bc")
    both(sp, "input (C,), target (N,C) [target bigger]", args=lambda: (rn(C), rn(N, C)))
    both(sp, "input (N,C), target (N,C+1) non-broadcastable", args=lambda: (rn(N, C), rn(N, C + 1)),
         fid=f"{name}_nbc")
    both(sp, "input (N,), target 0-d", args=lambda: (rn(N), torch.tensor(1.0)))
    both(sp, "input 0-d, target 0-d", args=lambda: (torch.tensor(1.0), torch.tensor(0.0)))
    both(sp, "input (0,), target (0,) empty, mean", args=lambda: (rn(0), rn(0)), fid=f"{name}_empty")
    if name in ("MSELoss", "L1Loss", "HuberLoss"):
        f = getattr(F, fname)
        fact(f"F.{fname}(x(N,C), y(N,C), weight=(C,)) [functional-only kwarg]",
             lambda f=f: f(rn(N, C), rn(N, C), weight=torch.ones(C)), fid=f"{name}_fw")
        fact(f"F.{fname}(x(N,C), y(N,C), weight=(C+1,))", lambda f=f: f(rn(N, C), rn(N, C), weight=torch.ones(C + 1)))
        mfact(f"nn.{name}(weight=torch.ones(C))", lambda: getattr(nn, name)(weight=torch.ones(C)), lambda m: None)
    if name == "MultiLabelSoftMarginLoss":
        both(sp, "weight (C,)", weight=torch.ones(C))
        both(sp, "weight (C+1,)", weight=torch.ones(C + 1), fid="mlsm_w_wrong")
        both(sp, "input (N,C,H) 3-D", args=lambda: (rn(N, C, H), ru(N, C, H)))
        both(sp, "input (C,) 1-D", args=lambda: (rn(C), ru(C)))
    if name == "SoftMarginLoss":
        both(sp, "target values 0/1 instead of ±1", args=lambda: (rn(N, C), idx(N, C, hi=2).float()))
    if name == "PoissonNLLLoss":
        sub("Values")
        both(sp, "negative target", args=lambda: (rn(N, C), -ru(N, C)))
        both(sp, "negative input, log_input=False", args=lambda: (-ru(N, C), ru(N, C)), log_input=False)

# ---------------------------------------------------------------- Gaussian NLL
sec("GaussianNLLLoss / F.gaussian_nll_loss")
g = SPECS["GaussianNLLLoss"]
sub("Config")
for e in (0.0, -1.0, 1e-6):
    both(g, f"eps={e}", eps=e, fid=f"g_eps_{e}")
both(g, "eps=0, var contains 0", args=replace("GaussianNLLLoss", a2=lambda: torch.zeros(N, C)), eps=0.0,
     fid="g_eps0_var0")
both(g, "eps=-1, var 0.5", args=replace("GaussianNLLLoss", a2=lambda: torch.full((N, C), 0.5)), eps=-1.0,
     fid="g_negeps")
both(g, "full=True", full=True)
mfact("nn.GaussianNLLLoss(False) [positional arg]", lambda: nn.GaussianNLLLoss(False), lambda m: None)
dtype_matrix("GaussianNLLLoss")
both(g, "var f64 with f32 input/target", args=replace("GaussianNLLLoss", a2=lambda: ru(N, C).double() + 0.1))
both(g, "var i64", args=replace("GaussianNLLLoss", a2=lambda: torch.ones(N, C, dtype=i64)))
sub("Shapes (input/target (N,C) unless stated)")
both(g, "var (N,C) same", fid="g_var_same")
both(g, "var (N,) [input without last dim]", args=replace("GaussianNLLLoss", a2=lambda: ru(N) + 0.1),
     fid="g_var_n")
both(g, "var (N,1)", args=replace("GaussianNLLLoss", a2=lambda: ru(N, 1) + 0.1), fid="g_var_n1")
both(g, "var (1,C)", args=replace("GaussianNLLLoss", a2=lambda: ru(1, C) + 0.1), fid="g_var_1c")
both(g, "var (C,)", args=replace("GaussianNLLLoss", a2=lambda: ru(C) + 0.1), fid="g_var_c")
both(g, "var (N,C+1) wrong size", args=replace("GaussianNLLLoss", a2=lambda: ru(N, C + 1) + 0.1),
     fid="g_var_wrong")
both(g, "var (N+1,) wrong size", args=replace("GaussianNLLLoss", a2=lambda: ru(N + 1) + 0.1))
both(g, "var python float 0.5", args=replace("GaussianNLLLoss", a2=lambda: 0.5), fid="g_var_float")
both(g, "var python int 1", args=replace("GaussianNLLLoss", a2=lambda: 1))
both(g, "var 0-d tensor", args=replace("GaussianNLLLoss", a2=lambda: torch.tensor(0.5)), fid="g_var_0d")
both(g, "var (N,C,1) [extra trailing dim]", args=replace("GaussianNLLLoss", a2=lambda: ru(N, C, 1) + 0.1))
both(g, "input (N,C,H,W), var (1,1,H,W)",
     args=lambda: (rn(N, C, H, W), rn(N, C, H, W), ru(1, 1, H, W) + 0.1), fid="g_var_11hw")
both(g, "input (N,C,H,W), var (N,C,H)",
     args=lambda: (rn(N, C, H, W), rn(N, C, H, W), ru(N, C, H) + 0.1), fid="g_var_nch")
both(g, "input (N,C,H,W), var (N,C,H,1)",
     args=lambda: (rn(N, C, H, W), rn(N, C, H, W), ru(N, C, H, 1) + 0.1))
both(g, "input (N,C,H,W), var (N,1,H,W)",
     args=lambda: (rn(N, C, H, W), rn(N, C, H, W), ru(N, 1, H, W) + 0.1))
both(g, "input (N,C,H,W), var (C,1,1)",
     args=lambda: (rn(N, C, H, W), rn(N, C, H, W), ru(C, 1, 1) + 0.1))
both(g, "input (N,1), target (N,) [input/target mismatch]", args=lambda: (rn(N, 1), rn(N), ru(N, 1) + 0.1),
     fid="g_n1_n")
both(g, "input (N,C), target (C,) broadcastable", args=lambda: (rn(N, C), rn(C), ru(N, C) + 0.1))
both(g, "input (N,C), target (N,C+1)", args=lambda: (rn(N, C), rn(N, C + 1), ru(N, C) + 0.1))
sub("Values")
both(g, "var contains negative", args=replace("GaussianNLLLoss", a2=lambda: -ru(N, C)), fid="g_var_neg")
both(g, "var python float -1.0", args=replace("GaussianNLLLoss", a2=lambda: -1.0), fid="g_var_negfloat")
both(g, "var all zeros (clamped by eps)", args=replace("GaussianNLLLoss", a2=lambda: torch.zeros(N, C)))
both(g, "var NaN", args=replace("GaussianNLLLoss", a2=lambda: torch.full((N, C), float("nan"))))

# ---------------------------------------------------------------- Hinge
sec("HingeEmbeddingLoss / F.hinge_embedding_loss")
he = SPECS["HingeEmbeddingLoss"]
sub("Config")
for m in (-1.0, 0.0, 2.0):
    both(he, f"margin={m}", margin=m, fid=f"hinge_m_{m}")
dtype_matrix("HingeEmbeddingLoss")
sub("Shapes")
both(he, "input (N,D), target (N,) [broadcast (N,D) vs (N,)→ needs D==N]", args=lambda: (rn(N, D), pm1(N)),
     fid="hinge_nd_n")
both(he, "input (N,), target (N,1)", args=lambda: (rn(N), pm1(N, 1)), fid="hinge_n_n1")
both(he, "input (N,), target (N+1,)", args=lambda: (rn(N), pm1(N + 1)))
both(he, "input (N,), target 0-d", args=lambda: (rn(N), torch.tensor(1.0)))
sub("Values")
both(he, "target values 0/2 (not ±1)", args=lambda: (rn(N), torch.tensor([0.0, 2.0, 0.0, 2.0])))

# ---------------------------------------------------------------- MarginRanking
sec("MarginRankingLoss / F.margin_ranking_loss")
mr = SPECS["MarginRankingLoss"]
sub("Config")
for m in (-1.0, 0.0, 1.0):
    both(mr, f"margin={m}", margin=m, fid=f"mr_m_{m}")
dtype_matrix("MarginRankingLoss")
both(mr, "x1 f32, x2 f64, y f32", args=lambda: (rn(N), rn(N).double(), pm1(N)))
sub("Shapes")
both(mr, "x1 (N,D), x2 (N,D), y (N,)", args=lambda: (rn(N, D), rn(N, D), pm1(N)), fid="mr_2d_1d")
both(mr, "x1 (N,D), x2 (N,D), y (N,D)", args=lambda: (rn(N, D), rn(N, D), pm1(N, D)))
both(mr, "x1 (N,D), x2 (N,D), y (N,1)", args=lambda: (rn(N, D), rn(N, D), pm1(N, 1)), fid="mr_y_n1")
both(mr, "x1 (N,), x2 0-d, y (N,)", args=lambda: (rn(N), torch.tensor(0.5), pm1(N)), fid="mr_1d_0d")
both(mr, "x1 0-d, x2 0-d, y 0-d", args=lambda: (torch.tensor(0.5), torch.tensor(0.1), torch.tensor(1.0)))
both(mr, "x1 (N,), x2 (N+1,), y (N,)", args=lambda: (rn(N), rn(N + 1), pm1(N)), fid="mr_mismatch")
both(mr, "x1 (N,), x2 (1,), y (N,)", args=lambda: (rn(N), rn(1), pm1(N)), fid="mr_bc1")
both(mr, "x1 (N,), x2 (N,), y (N+1,)", args=lambda: (rn(N), rn(N), pm1(N + 1)))

# ---------------------------------------------------------------- Cosine
sec("CosineEmbeddingLoss / F.cosine_embedding_loss")
co = SPECS["CosineEmbeddingLoss"]
sub("Config")
for m in (-1.5, -1.0, 0.0, 0.5, 1.0, 2.0):
    both(co, f"margin={m}", margin=m, fid=f"cos_m_{m}")
dtype_matrix("CosineEmbeddingLoss")
sub("Shapes")
both(co, "x1 (D,), x2 (D,), y 0-d [unbatched]", args=lambda: (rn(D), rn(D), torch.tensor(1.0)), fid="cos_1d")
both(co, "x1 (D,), x2 (D,), y (1,)", args=lambda: (rn(D), rn(D), torch.tensor([1.0])))
both(co, "x1 (N,D), x2 (N,D), y (N,1)", args=lambda: (rn(N, D), rn(N, D), pm1(N, 1)), fid="cos_y_n1")
both(co, "x1 (N,D), x2 (N,D), y (N+1,)", args=lambda: (rn(N, D), rn(N, D), pm1(N + 1)))
both(co, "x1 (N,D), x2 (N+1,D), y (N,)", args=lambda: (rn(N, D), rn(N + 1, D), pm1(N)), fid="cos_mismatchN")
both(co, "x1 (N,D), x2 (1,D) broadcast, y (N,)", args=lambda: (rn(N, D), rn(1, D), pm1(N)), fid="cos_bc")
both(co, "x1 (N,D), x2 (N,D+1)", args=lambda: (rn(N, D), rn(N, D + 1), pm1(N)))
both(co, "x1 (N,D,K) 3-D", args=lambda: (rn(N, D, 2), rn(N, D, 2), pm1(N)), fid="cos_3d")
both(co, "x1 (N,), x2 (N,), y 0-d", args=lambda: (rn(N), rn(N), torch.tensor(1.0)))
sub("Values")
both(co, "y values 0/1 (not ±1)", args=lambda: (rn(N, D), rn(N, D), idx(N, hi=2).float()), fid="cos_y01")
both(co, "zero vectors", args=lambda: (torch.zeros(N, D), torch.zeros(N, D), pm1(N)))

# ---------------------------------------------------------------- MultiMargin
sec("MultiMarginLoss / F.multi_margin_loss")
mm = SPECS["MultiMarginLoss"]
sub("Config")
for p in (0, 1, 2, 3, 1.5, 2.0, True):
    both(mm, f"p={p!r}", p=p, fid=f"mm_p_{p}")
for m in (-1.0, 0.0):
    both(mm, f"margin={m}", margin=m, fid=f"mm_m_{m}")
dtype_matrix("MultiMarginLoss")
both(mm, "target f32 class indices", args=lambda: (rn(N, C), idx(N).float()), fid="mm_float")
sub("Shapes")
both(mm, "weight (C,)", weight=torch.ones(C))
both(mm, "weight (C+1,)", weight=torch.ones(C + 1), fid="mm_w_wrong")
both(mm, "weight (C-1,)", weight=torch.ones(C - 1))
both(mm, "weight (1,C) 2-D", weight=torch.ones(1, C), fid="mm_w_2d")
both(mm, "weight f64", weight=torch.ones(C, dtype=f64))
both(mm, "input (N,C), target (N,1)", args=lambda: (rn(N, C), idx(N, 1)), fid="mm_n1")
both(mm, "input (N,C), target (N+1,)", args=lambda: (rn(N, C), idx(N + 1)))
both(mm, "input (C,), target 0-d", args=lambda: (rn(C), torch.tensor(1)), fid="mm_1d")
both(mm, "input (C,), target (1,)", args=lambda: (rn(C), torch.tensor([1])))
both(mm, "input (N,C,H) 3-D", args=lambda: (rn(N, C, H), idx(N, H)), fid="mm_3d")
both(mm, "input 0-d, target 0-d", args=lambda: (torch.tensor(1.0), torch.tensor(0)))
sub("Values")
both(mm, "target contains C", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, C])), fid="mm_tC")
both(mm, "target contains -1", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, -1])), fid="mm_tm1")
both(mm, "target contains -100", args=lambda: (rn(N, C), torch.tensor([0, 1, 2, -100])))

# ---------------------------------------------------------------- MultiLabelMargin
sec("MultiLabelMarginLoss / F.multilabel_margin_loss")
mlm = SPECS["MultiLabelMarginLoss"]
dtype_matrix("MultiLabelMarginLoss", targets=(i64, i32, u8, b, f32, f64))
both(mlm, "target u8 with no -1 entries (all labels valid)",
     args=lambda: (rn(N, C), torch.tensor([[1, 3, 0, 2, 4]] * N, dtype=u8)), fid="mlm_u8_valid")
both(mlm, "target f32 (same values)", args=lambda: (rn(N, C), mlm_target().float()), fid="mlm_float")
sub("Shapes")
both(mlm, "target (N,C-1) != input shape", args=lambda: (rn(N, C), mlm_target()[:, :-1]), fid="mlm_short")
both(mlm, "target (N,C+1)", args=lambda: (rn(N, C), torch.cat([mlm_target(), torch.full((N, 1), -1)], 1)))
both(mlm, "target (N,)", args=lambda: (rn(N, C), idx(N)), fid="mlm_n")
both(mlm, "input (C,), target (C,) unbatched", args=lambda: (rn(C), mlm_target()[0]), fid="mlm_1d")
both(mlm, "input 0-d, target 0-d", args=lambda: (torch.tensor(1.0), torch.tensor(0)))
both(mlm, "input (N,C,H) 3-D", args=lambda: (rn(N, C, H), torch.full((N, C, H), -1)))
sub("Values")
both(mlm, "target contains C", args=lambda: (rn(N, C), torch.tensor([[C, -1, -1, -1, -1]] * N)), fid="mlm_tC")
both(mlm, "target contains -2 (< -1)", args=lambda: (rn(N, C), torch.tensor([[1, -2, -1, -1, -1]] * N)),
     fid="mlm_tm2")
both(mlm, "target all -1 (no labels)", args=lambda: (rn(N, C), torch.full((N, C), -1)))
both(mlm, "target C after -1 terminator (ignored?)",
     args=lambda: (rn(N, C), torch.tensor([[1, -1, C, C + 7, -5]] * N)), fid="mlm_after_term")
both(mlm, "target duplicate labels", args=lambda: (rn(N, C), torch.tensor([[1, 1, 1, -1, -1]] * N)))

# ---------------------------------------------------------------- Triplet
sec("TripletMarginLoss / F.triplet_margin_loss")
tr = SPECS["TripletMarginLoss"]
sub("Config")
for m in (-1.0, 0.0, 1.0):
    both(tr, f"margin={m}", margin=m, fid=f"tr_m_{m}")
for p in (0, 1, 2, 3, 1.5, -1.0, float("inf")):
    both(tr, f"p={p!r}", p=p, fid=f"tr_p_{p}")
for e in (0.0, -1.0):
    both(tr, f"eps={e}", eps=e, fid=f"tr_eps_{e}")
both(tr, "swap=True", swap=True)
dtype_matrix("TripletMarginLoss")
both(tr, "anchor f32, positive f64, negative f32", args=lambda: (rn(N, D), rn(N, D).double(), rn(N, D)))
sub("Shapes")
both(tr, "all (D,) unbatched", args=lambda: (rn(D), rn(D), rn(D)), fid="tr_1d")
both(tr, "anchor (D,), pos/neg (N,D)", args=lambda: (rn(D), rn(N, D), rn(N, D)), fid="tr_mixdim")
both(tr, "anchor (N,D), pos (N+1,D)", args=lambda: (rn(N, D), rn(N + 1, D), rn(N, D)), fid="tr_mismatchN")
both(tr, "anchor (N,D), pos (1,D) broadcast", args=lambda: (rn(N, D), rn(1, D), rn(N, D)))
both(tr, "(N,D,K) 3-D", args=lambda: (rn(N, D, 2), rn(N, D, 2), rn(N, D, 2)), fid="tr_3d")
both(tr, "0-d", args=lambda: (torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)))
both(tr, "anchor (N,D), pos (N,D+1)", args=lambda: (rn(N, D), rn(N, D + 1), rn(N, D)))

sec("TripletMarginWithDistanceLoss / F.triplet_margin_with_distance_loss")
tw = SPECS["TripletMarginWithDistanceLoss"]
sub("Config")
for m in (-1.0, 0.0, 1.0):
    both(tw, f"margin={m}", margin=m, fid=f"tw_m_{m}")
both(tw, "distance_function=nn.PairwiseDistance(p=1)", distance_function=nn.PairwiseDistance(p=1))
both(tw, "distance_function=lambda a,b: 1-F.cosine_similarity(a,b)",
     distance_function=lambda a, b: 1 - F.cosine_similarity(a, b))
both(tw, "distance_function returning (N,1)", distance_function=lambda a, b: (a - b).norm(dim=1, keepdim=True))
both(tw, "distance_function returning python float", distance_function=lambda a, b: 1.0)
both(tw, "distance_function='euclidean' (string)", distance_function="euclidean")
both(tw, "p=2 (not a parameter)", p=2)
dtype_matrix("TripletMarginWithDistanceLoss")
sub("Shapes")
both(tw, "all (D,) unbatched", args=lambda: (rn(D), rn(D), rn(D)))
both(tw, "anchor (D,), pos/neg (N,D)", args=lambda: (rn(D), rn(N, D), rn(N, D)), fid="tw_mixdim")
both(tw, "anchor (N,D), pos (N+1,D)", args=lambda: (rn(N, D), rn(N + 1, D), rn(N, D)))
both(tw, "(N,D,K) 3-D", args=lambda: (rn(N, D, 2), rn(N, D, 2), rn(N, D, 2)))

# ---------------------------------------------------------------- CTC
sec("CTCLoss / F.ctc_loss")
ctc = SPECS["CTCLoss"]
note("Default call: log_probs (T,N,C) f32 log_softmax, targets (N,S) i64 in [1,C), "
     "input_lengths=full(T) i64, target_lengths=full(S) i64. CPU kernel only (no cuDNN on this box).")


def ctc_args(lp=None, tg=None, il=None, tl=None):
    def f():
        a = list(ctc.args())
        for i, v in enumerate((lp, tg, il, tl)):
            if v is not None:
                a[i] = v()
        return tuple(a)
    return f


sub("Config")
for bl in (-1, 0, C - 1, C, C + 1):
    tg = (lambda: torch.randint(0, C - 1, (N, S))) if bl == C - 1 else None
    both(ctc, f"blank={bl}", args=ctc_args(tg=tg), blank=bl, fid=f"ctc_blank_{bl}")
both(ctc, "blank=1.0 (float)", blank=1.0)
both(ctc, "zero_infinity='yes'", zero_infinity="yes")
sub("Dtypes")
both(ctc, "log_probs f64", args=ctc_args(lp=lambda: logp(T, N, C, dim=2).double()))
both(ctc, "log_probs f16", args=ctc_args(lp=lambda: logp(T, N, C, dim=2).half()), fid="ctc_f16")
both(ctc, "log_probs bf16", args=ctc_args(lp=lambda: logp(T, N, C, dim=2).bfloat16()))
both(ctc, "log_probs i64", args=ctc_args(lp=lambda: torch.zeros(T, N, C, dtype=i64)))
for td in (i32, u8, b, torch.int16, f32, f64):
    both(ctc, f"targets {DT[td]}", args=ctc_args(tg=lambda td=td: torch.randint(1, 2 if td == b else C, (N, S)).to(td)),
         fid=f"ctc_tg_{DT[td]}")
for ld in (i32, f32, torch.int16, u8):
    both(ctc, f"input_lengths {DT[ld]}", args=ctc_args(il=lambda ld=ld: torch.full((N,), T).to(ld)),
         fid=f"ctc_il_{DT[ld]}")
    both(ctc, f"target_lengths {DT[ld]}", args=ctc_args(tl=lambda ld=ld: torch.full((N,), S).to(ld)),
         fid=f"ctc_tl_{DT[ld]}")
both(ctc, "input_lengths i32 + target_lengths i64 (mixed)", args=ctc_args(il=lambda: torch.full((N,), T, dtype=i32)))
both(ctc, "lengths as python lists", args=ctc_args(il=lambda: [T] * N, tl=lambda: [S] * N), fid="ctc_lists")
both(ctc, "lengths as python tuples", args=ctc_args(il=lambda: (T,) * N, tl=lambda: (S,) * N))
both(ctc, "input_lengths list, target_lengths tensor", args=ctc_args(il=lambda: [T] * N))
both(ctc, "lengths as list of floats", args=ctc_args(il=lambda: [float(T)] * N, tl=lambda: [float(S)] * N))
sub("Shapes")
both(ctc, "log_probs (N,T,C) batch-first [N!=T]", args=ctc_args(lp=lambda: logp(N, T, C, dim=2)),
     fid="ctc_ntc")
both(ctc, "log_probs (N,T,C), input_lengths all <= N",
     args=ctc_args(lp=lambda: logp(N, T, C, dim=2), il=lambda: torch.full((N,), N), tl=lambda: torch.full((N,), 1)))
both(ctc, "log_probs (N,T,C) with N==T==4 [silently wrong layout]",
     args=lambda: (logp(4, 4, C, dim=2), torch.randint(1, C, (4, 2)), torch.full((4,), 4), torch.full((4,), 2)),
     fid="ctc_ntc_square")
both(ctc, "unbatched log_probs (T,C), targets (S,), lengths 0-d",
     args=lambda: (logp(T, C), torch.randint(1, C, (S,)), torch.tensor(T), torch.tensor(S)), fid="ctc_unbatched")
both(ctc, "unbatched log_probs (T,C), lengths (1,)",
     args=lambda: (logp(T, C), torch.randint(1, C, (S,)), torch.tensor([T]), torch.tensor([S])))
both(ctc, "unbatched log_probs (T,C), lengths python int",
     args=lambda: (logp(T, C), torch.randint(1, C, (S,)), T, S))
both(ctc, "input_lengths size N+1", args=ctc_args(il=lambda: torch.full((N + 1,), T)), fid="ctc_il_size")
both(ctc, "target_lengths size N-1", args=ctc_args(tl=lambda: torch.full((N - 1,), S)), fid="ctc_tl_size")
both(ctc, "input_lengths (N,1) 2-D", args=ctc_args(il=lambda: torch.full((N, 1), T)))
both(ctc, "targets (N+1,S) batch mismatch", args=ctc_args(tg=lambda: torch.randint(1, C, (N + 1, S))))
both(ctc, "1-D concatenated targets, sum(target_lengths)==len",
     args=ctc_args(tg=lambda: torch.randint(1, C, (N * S,))), fid="ctc_concat_ok")
both(ctc, "1-D concatenated targets, sum(target_lengths) < len",
     args=ctc_args(tg=lambda: torch.randint(1, C, (N * S + 3,))), fid="ctc_concat_long")
both(ctc, "1-D concatenated targets, sum(target_lengths) > len",
     args=ctc_args(tg=lambda: torch.randint(1, C, (N * S - 3,))), fid="ctc_concat_short")
both(ctc, "targets 3-D (N,S,1)", args=ctc_args(tg=lambda: torch.randint(1, C, (N, S, 1))))
sub("Values")
both(ctc, "input_lengths > T", args=ctc_args(il=lambda: torch.tensor([T + 1, T, T, T])), fid="ctc_il_gtT")
both(ctc, "input_lengths == 0", args=ctc_args(il=lambda: torch.tensor([0, T, T, T])))
both(ctc, "input_lengths negative", args=ctc_args(il=lambda: torch.tensor([-1, T, T, T])), fid="ctc_il_neg")
both(ctc, "target_lengths > S (padded 2-D targets)", args=ctc_args(tl=lambda: torch.tensor([S + 1, S, S, S])),
     fid="ctc_tl_gtS")
both(ctc, "target_lengths negative", args=ctc_args(tl=lambda: torch.tensor([-1, S, S, S])), fid="ctc_tl_neg")
both(ctc, "target_lengths == 0", args=ctc_args(tl=lambda: torch.tensor([0, S, S, S])), fid="ctc_tl_0")
both(ctc, "targets contain blank (0)", args=ctc_args(tg=lambda: torch.zeros(N, S, dtype=i64)), fid="ctc_tg_blank")
note("targets with labels outside [0,C) are NOT bounds-checked by the CPU kernel: the loss reads "
     "out-of-bounds memory (garbage values; very large labels such as 10**6 segfaulted the process in "
     "manual testing). Probed here only with C and -1.")


def _ctc_float_trunc():
    lp_, tg_ = logp(T, N, C, dim=2), torch.randint(1, C, (N, S))
    il_, tl_ = torch.full((N,), T), torch.full((N,), S)
    a = F.ctc_loss(lp_, tg_, il_, tl_)
    b_ = F.ctc_loss(lp_, tg_.float() + 0.7, il_, tl_)
    return f"float targets t+0.7 give same loss as int t (truncation): {bool(torch.allclose(a, b_))}"


fact("F.ctc_loss(..., targets=float(t)+0.7, ...) value check", _ctc_float_trunc, fid="ctc_float_trunc")
both(ctc, "targets contain C (out of range)", args=ctc_args(tg=lambda: torch.full((N, S), C)), fid="ctc_tg_C")
both(ctc, "targets contain -1", args=ctc_args(tg=lambda: torch.full((N, S), -1)), fid="ctc_tg_m1")
both(ctc, "targets padding beyond target_length = -1 / C (ignored?)",
     args=ctc_args(tg=lambda: torch.tensor([[1, 2, -1, C]] * N), tl=lambda: torch.full((N,), 2)),
     fid="ctc_pad_garbage")
both(ctc, "input too short: T=3 for S=4 distinct labels",
     args=ctc_args(il=lambda: torch.full((N,), 3)), fid="ctc_short")
both(ctc, "input too short, zero_infinity=True", args=ctc_args(il=lambda: torch.full((N,), 3)),
     zero_infinity=True)
both(ctc, "repeated labels need T >= 2S-1: targets [1,1,1,1], T=4",
     args=ctc_args(tg=lambda: torch.ones(N, S, dtype=i64), il=lambda: torch.full((N,), 4)))
both(ctc, "log_probs not normalised (raw randn)", args=ctc_args(lp=lambda: rn(T, N, C)))

# ---------------------------------------------------------------- AdaptiveLogSoftmaxWithLoss
sec("AdaptiveLogSoftmaxWithLoss (module only, forward returns (output, loss))")
al = SPECS["AdaptiveLogSoftmaxWithLoss"]
note("Default: AdaptiveLogSoftmaxWithLoss(in_features=64, n_classes=10, cutoffs=[4, 8]); input (N,64), "
     "target (N,) i64. There is no functional form and no `reduction` (always mean).")
sub("Config (construction)")
for co_ in ([4, 8], [8, 4], [4, 4, 8], [0, 8], [4, 10], [4, 12], [4.0, 8], [], [4, 8, 9], (4, 8)):
    mfact(f"AdaptiveLogSoftmaxWithLoss(64, 10, cutoffs={co_!r})",
          lambda co_=co_: nn.AdaptiveLogSoftmaxWithLoss(64, 10, cutoffs=co_), lambda m: None,
          fid=f"al_cut_{co_}")
for dv in (0.0, -1.0, 4.0, 1.0, 100.0):
    mfact(f"div_value={dv}", lambda dv=dv: nn.AdaptiveLogSoftmaxWithLoss(64, 10, [4, 8], div_value=dv),
          lambda m: m(rn(N, 64), idx(N, hi=10)), fid=f"al_div_{dv}")
mfact("in_features=8, div_value=4 (tail projection 8//16 = 0 features)",
      lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4, 8]), lambda m: m(rn(N, 8), idx(N, hi=10)),
      fid="al_zero_proj")
mfact("n_classes=1, cutoffs=[]", lambda: nn.AdaptiveLogSoftmaxWithLoss(64, 1, cutoffs=[]), lambda m: None)
sub("Dtypes")
both(al, "input i64", args=lambda: (torch.ones(N, 64, dtype=i64), idx(N, hi=10)))
for td in (i64, i32, u8, b, f32, f64, f16):
    both(al, f"target {DT[td]}", args=lambda td=td: (rn(N, 64), idx(N, hi=2 if td == b else 10).to(td)),
         fid=f"al_tg_{DT[td]}")
both(al, "input f64 (module params f32)", args=lambda: (rn(N, 64, dtype=f64), idx(N, hi=10)))
both(al, "input bf16", args=lambda: (rn(N, 64, dtype=bf16), idx(N, hi=10)))
sub("Shapes")
both(al, "input (64,) unbatched, target 0-d", args=lambda: (rn(64), torch.tensor(3)), fid="al_unbatched")
both(al, "input (64,) unbatched, target (1,)", args=lambda: (rn(64), torch.tensor([3])))
both(al, "input (N,64), target (N,1)", args=lambda: (rn(N, 64), idx(N, 1, hi=10)), fid="al_n1")
both(al, "input (N,64), target (N+1,)", args=lambda: (rn(N, 64), idx(N + 1, hi=10)))
both(al, "input (N,65) wrong in_features", args=lambda: (rn(N, 65), idx(N, hi=10)))
both(al, "input (N,T,64) 3-D, target (N,T)", args=lambda: (rn(N, T, 64), idx(N, T, hi=10)))
sub("Values")
both(al, "target == n_classes (10)", args=lambda: (rn(N, 64), torch.tensor([0, 1, 2, 10])), fid="al_tC")
both(al, "target -1", args=lambda: (rn(N, 64), torch.tensor([0, 1, 2, -1])), fid="al_tm1")
both(al, "target -100 (no ignore_index concept)", args=lambda: (rn(N, 64), torch.tensor([0, 1, 2, -100])))
mfact("forward(input, target, reduction='sum')", lambda: nn.AdaptiveLogSoftmaxWithLoss(64, 10, [4, 8]),
      lambda m: m(rn(N, 64), idx(N, hi=10), reduction="sum"))

# ---------------------------------------------------------------- LinearCrossEntropyLoss
sec("LinearCrossEntropyLoss / F.linear_cross_entropy (new in this torch)")
lce = SPECS["LinearCrossEntropyLoss"]
note("nn: LinearCrossEntropyLoss(in_features=8, num_classes=C, ...)(input (N,8), target); "
     "F: F.linear_cross_entropy(input (N,8), linear_weight (C,8), target, ...). Both default options=None "
     "(reference path: linear → cross_entropy).")
sub("Config")
for ls in (-0.1, 0.0, 1.0, 1.5):
    both(lce, f"label_smoothing={ls}", label_smoothing=ls, fid=f"lce_ls_{ls}")
for ii in (None, -100, 1.5, 255):
    both(lce, f"ignore_index={ii!r}", ignore_index=ii, fid=f"lce_ii_{ii}")
both(lce, "weight (C,)", weight=torch.ones(C))
both(lce, "weight (C+1,)", weight=torch.ones(C + 1), fid="lce_w_wrong")
both(lce, "weight (1,C)", weight=torch.ones(1, C))
LCEO = getattr(nn, "LinearCrossEntropyOptions", None)
if LCEO is not None:
    fact("nn.LinearCrossEntropyOptions()", lambda: LCEO())
    fact("LinearCrossEntropyOptions(acc_policy='fast')", lambda: LCEO(acc_policy="fast"))
    fact("LinearCrossEntropyOptions(chunking_method='bogus')", lambda: LCEO(chunking_method="bogus"))
    fact("LinearCrossEntropyOptions(batch_chunk_size=0)", lambda: LCEO(batch_chunk_size=0))
    fact("LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method=None)",
         lambda: LCEO(batch_chunk_size=2, chunking_method=None))
    fact("LinearCrossEntropyOptions(batch_chunk_size=2) [chunking_method default 'auto']",
         lambda: LCEO(batch_chunk_size=2))
    both(lce, "options=LinearCrossEntropyOptions()", options=LCEO(), fid="lce_opts")
    both(lce, "options=Options(), target i32 [falls back]", options=LCEO(),
         args=lambda: (rn(N, 8), idx(N, dtype=i32)), fid="lce_opts_i32")
    both(lce, "options=Options(), label_smoothing=0.1", options=LCEO(), label_smoothing=0.1)
    both(lce, "options=Options(), reduction='avg'", options=LCEO(), reduction="avg", fid="lce_opts_avg")
    both(lce, "options=Options(), target contains C", options=LCEO(),
         args=lambda: (rn(N, 8), torch.tensor([0, 1, 2, C])), fid="lce_opts_tC")
    both(lce, "options=Options(), target -100 (ignored)", options=LCEO(),
         args=lambda: (rn(N, 8), torch.tensor([0, 1, 2, -100])))
    both(lce, "options=Options(), input bf16", options=LCEO(),
         args=lambda: (rn(N, 8, dtype=bf16), idx(N)))
    both(lce, "options=Options(), input f64", options=LCEO(),
         args=lambda: (rn(N, 8, dtype=f64), idx(N)))
dtype_matrix("LinearCrossEntropyLoss")
sub("Shapes")
both(lce, "input (8,) unbatched, target 0-d", args=lambda: (rn(8), torch.tensor(2)), fid="lce_unbatched")
both(lce, "input (N,8), target (N,1)", args=lambda: (rn(N, 8), idx(N, 1)), fid="lce_n1")
both(lce, "input (N,8), target (N,C) prob", args=lambda: (rn(N, 8), probs(N, C)), fid="lce_prob")
both(lce, "input (N,8), target (N,C) prob + ignore_index=-100 explicit", args=lambda: (rn(N, 8), probs(N, C)),
     ignore_index=-100, fid="lce_prob_ii")
both(lce, "input (N,T,8) 3-D", args=lambda: (rn(N, T, 8), idx(N, T)), fid="lce_3d")
both(lce, "input (N,9) wrong in_features", args=lambda: (rn(N, 9), idx(N)))
sub("Values")
both(lce, "target contains C", args=lambda: (rn(N, 8), torch.tensor([0, 1, 2, C])), fid="lce_tC")
both(lce, "target 255, ignore_index=255", args=lambda: (rn(N, 8), torch.tensor([0, 1, 2, 255])),
     ignore_index=255)
fact("F.linear_cross_entropy(x (N,8), W (C,H,8) K-dim, target (N,H))",
     lambda: F.linear_cross_entropy(rn(N, 8), rn(C, H, 8), idx(N, H)))
fact("F.linear_cross_entropy(x (8,), W (C,H,8) K-dim, target (H,))",
     lambda: F.linear_cross_entropy(rn(8), rn(C, H, 8), idx(H)))
fact("F.linear_cross_entropy(x, W, t, linear_bias=(C+1,))",
     lambda: F.linear_cross_entropy(rn(N, 8), LCE_W, idx(N), linear_bias=torch.zeros(C + 1)))
mfact("nn.LinearCrossEntropyLoss(8, C, out_features=(H,))(x (N,8), t (N,H))",
      lambda: nn.LinearCrossEntropyLoss(8, C, out_features=(H,)), lambda m: m(rn(N, 8), idx(N, H)))


# ==========================================================================
# output
# ==========================================================================
# Curated "surprises" for linter authors. Each entry: (text, [(fact_id, check), ...]).
# check: "substr" must occur in the recorded outcome; "!substr" must NOT occur; "=text" exact match.
# Any failing check marks the quirk STALE in the generated markdown (so re-runs on a new torch flag drift).
QUIRKS = [
    ("**Negative `label_smoothing` is accepted by `CrossEntropyLoss`/`F.cross_entropy` and silently "
     "treated as 0** (only > 1.0 raises, at call time). `nn.LinearCrossEntropyLoss` instead rejects < 0 "
     "at construction, while `F.linear_cross_entropy` accepts it.",
     [("ce_ls_-0.1", "=→ accepted"), ("ce_ls_-5.0", "=→ accepted"), ("ce_ls_neg_val", "True"),
      ("ce_ls_1.5", "raises RuntimeError"), ("lce_ls_-0.1", "raises@construct"), ("lce_ls_-0.1", "F:** accepted")]),
    ("**No loss validates `reduction` at construction.** `nn.XLoss(reduction='avg')` constructs fine and "
     "raises `ValueError` on the first call. Legacy `'elementwise_mean'` is still accepted (UserWarning) by "
     "most losses but raises for PoissonNLL, GaussianNLL, MultiLabelSoftMargin and "
     "TripletMarginWithDistance; `reduction=None` raises `TypeError` (not ValueError) for PoissonNLL, "
     "GaussianNLL, MultiLabelSoftMargin. `'batchmean'` is valid only for KLDiv. GaussianNLL/MLSM messages "
     "read `'avg is not valid'`, the rest `'avg is not a valid value for reduction'`.",
     [("MSELoss_red_avg", "=→ raises ValueError(\"avg is not a valid value for reduction\")"),
      ("MSELoss_red_elementwise_mean", "warns UserWarning"),
      ("PoissonNLLLoss_red_elementwise_mean", "raises ValueError"),
      ("TripletMarginWithDistanceLoss_red_elementwise_mean", "raises ValueError"),
      ("PoissonNLLLoss_red_None", "raises TypeError"), ("GaussianNLLLoss_red_None", "raises TypeError"),
      ("KLDivLoss_red_batchmean", "=→ accepted"), ("CrossEntropyLoss_red_batchmean", "raises ValueError"),
      ("GaussianNLLLoss_red_avg", "avg is not valid")]),
    ("**CE/NLL accept `uint8` class-index targets, but only for (N,C)/(C,) input**; spatial/K-dim inputs "
     "(N,C,d1,...) reject the same dtype with a different message (`expected scalar type Long but found "
     "Byte`). int32/int16/bool/float targets are always rejected (`expected target dtype to be Long or Byte`).",
     [("ce_u8_2d", "=→ accepted"), ("ce_u8_4d", "found Byte"), ("ce_u8_3d", "found Byte"),
      ("CrossEntropyLoss_tgt_i32", "Long or Byte"), ("nll_u8_4d", "found Byte")]),
    ("**Element-wise shape mismatches are handled 4 different ways.** MSE/L1/SmoothL1/Huber: broadcastable "
     "mismatch → accepted + UserWarning, non-broadcastable → RuntimeError (plus the warning). BCE: *any* size "
     "mismatch → ValueError (message still says 'is deprecated'). BCEWithLogits: any mismatch → ValueError. "
     "PoissonNLL, GaussianNLL (input vs target), KLDiv, MultiLabelSoftMargin, HingeEmbedding: broadcast "
     "**silently, no warning** — e.g. (N,1) vs (N,) becomes (N,N). SoftMargin: raises RuntimeError "
     "('output with shape … doesn't match the broadcast shape') when the broadcast result is bigger than the "
     "input, but silently accepts a target that broadcasts into the input shape.",
     [("MSELoss_n1_n", "warns UserWarning(\"Using a target size"), ("MSELoss_nbc", "raises RuntimeError"),
      ("bce_n1_n", "raises ValueError"), ("bcel_n1_n", "raises ValueError"),
      ("PoissonNLLLoss_n1_n", "=→ accepted"), ("g_n1_n", "=→ accepted"), ("kl_n1_n", "=→ accepted"),
      ("MultiLabelSoftMarginLoss_n1_n", "=→ accepted"), ("hinge_n_n1", "=→ accepted"),
      ("SoftMarginLoss_n1_n", "output with shape"), ("SoftMarginLoss_bc", "=→ accepted")]),
    ("**BCELoss value-checks both input and target** (input NaN / outside [0,1] → RuntimeError; target "
     "outside [0,1] or NaN → RuntimeError 'all elements of target should be between 0 and 1'). "
     "BCEWithLogits checks nothing (any target, NaN input → nan).",
     [("bce_in_gt1", "all elements of input"), ("bce_nan", "raises RuntimeError"),
      ("bce_t_gt1", "all elements of target should be between 0 and 1")]),
    ("**BCELoss demands identical input/target dtypes** (f32 input + f64 target → RuntimeError "
     "'Found dtype Double but expected Float'; integer targets rejected), while BCEWithLogits promotes "
     "(and an f16 target with f32 input yields an **f16** loss). BCEWithLogits rejects integer targets "
     "('result type Float can't be cast to the desired output type Long').",
     [("bce_f32_f64", "Found dtype Double but expected Float"), ("BCEWithLogitsLoss_tgt_f16", "out f16"),
      ("BCEWithLogitsLoss_tgt_i64", "can't be cast")]),
    ("**`pos_weight` of size C with (N,C,H,W) input broadcasts against the last dim (W)**: it raises only "
     "when W != C, and is silently wrong when W == C. (C,1,1) is the correct shape.",
     [("bcel_pw_c", "=→ accepted"), ("bcel_pw_4d", "raises RuntimeError"), ("bcel_pw_4d_wc", "=→ accepted")]),
    ("**CE/NLL class dim must be dim 1.** Channels-last (N,H,W,C) raises 'size mismatch', and (N,T,C) raises "
     "'Expected target size' — but both are **silently accepted** when the sizes happen to line up "
     "(e.g. (N,C,C) input with (N,C) target).",
     [("ce_nhwc", "size mismatch"), ("ce_ntc", "Expected target size"), ("ce_ncc", "=→ accepted")]),
    ("**CE with integer target of the same shape as input is treated as a probability target** and "
     "rejected with 'Expected floating point type for target with class probabilities, got Long' — the same "
     "message appears for 0-d input + 0-d int target and (C,) input + (C,) int target.",
     [("ce_nc_int", "class probabilities"), ("ce_0d", "class probabilities")]),
    ("**CE probability targets + `ignore_index`**: any `ignore_index >= 0` (including values >= C) raises "
     "'ignore_index is not supported for floating point target'; any negative value (default -100, -1) is "
     "accepted. `F.linear_cross_entropy` is stricter: *any* explicit ignore_index with probability targets raises.",
     [("ce_prob_ii0", "not supported for floating point target"), ("ce_prob_ii255", "not supported"),
      ("ce_prob_iim1", "=→ accepted"), ("lce_prob_ii", "cannot be specified")]),
    ("**CE/NLL out-of-range class index raises IndexError 'Target X is out of bounds.'** (C, -1, 255) — except "
     "the exact `ignore_index` value, which may be any int (255, -5 …). All-ignored or empty batch with "
     "`reduction='mean'` returns **nan**, no error. `ignore_index` must be a Python int (float/None → TypeError "
     "at call time).",
     [("ce_tC", "IndexError(\"Target 5 is out of bounds.\")"), ("ce_255", "=→ accepted"),
      ("ce_all_ignored", "nan"), ("ce_empty", "nan"), ("ce_ii_-100.0", "must be int, not float")]),
    ("**TripletMarginLoss / TripletMarginWithDistanceLoss reject margin <= 0** (nn: ValueError at "
     "construction; F: ValueError at call, different message). MarginRanking, Hinge, Cosine and "
     "MultiMargin accept any margin, including negative. Triplet `p` (0, -1, 1.5, inf) and `eps` (0, "
     "negative) are never validated.",
     [("tr_m_0.0", "raises@construct"), ("tr_m_-1.0", "F:** raises ValueError(\"margin must be greater than 0"),
      ("tw_m_0.0", "raises@construct"), ("mr_m_-1.0", "=→ accepted"), ("hinge_m_-1.0", "=→ accepted"),
      ("cos_m_-1.5", "=→ accepted"), ("mm_m_-1.0", "=→ accepted"), ("tr_p_0", "=→ accepted"),
      ("tr_p_-1.0", "=→ accepted"), ("tr_eps_-1.0", "=→ accepted")]),
    ("**MultiMarginLoss `p` is validated at construction in nn** (ValueError 'only p == 1 and p == 2 "
     "supported'); F raises the same message at call. `p=2.0` and `p=True` pass. A 2-D weight raises at "
     "construction in nn but with a different message in F.",
     [("mm_p_3", "raises@construct ValueError(\"only p == 1 and p == 2 supported\")"), ("mm_p_1.5", "raises@construct"),
      ("mm_p_True", "=→ accepted"), ("mm_w_2d", "raises@construct")]),
    ("**GaussianNLL `var` rules** (Python-side): same shape; or input.shape[:-1]; or same ndim with exactly "
     "one differing dim where var has 1. So (N,1), (1,C), (N,), (N,1,H,W) pass, but (C,), (1,1,H,W), a 0-d "
     "tensor and (N,C,1) raise ValueError('var is of incorrect size'). A Python **float** is accepted but a "
     "Python **int** raises TypeError. Negative var → ValueError; `eps` 0/negative never validated "
     "(var=0 with eps=0 → nan).",
     [("g_var_n1", "=→ accepted"), ("g_var_1c", "=→ accepted"), ("g_var_n", "=→ accepted"),
      ("g_var_c", "incorrect size"), ("g_var_11hw", "incorrect size"), ("g_var_0d", "incorrect size"),
      ("g_var_float", "=→ accepted"), ("g_var_neg", "var has negative"), ("g_eps_-1.0", "=→ accepted"),
      ("g_eps0_var0", "nan")]),
    ("**CTC (CPU) does not bounds-check target labels** (C and -1 accepted; reads out of bounds — huge labels "
     "segfaulted in manual testing) and accepts **float/bool targets** (silently truncated). Targets equal to "
     "`blank` are accepted. Lengths must be integral tensors (float → RuntimeError) or Python lists/tuples — "
     "but only if *both* are lists (mixing list+tensor → TypeError). 0-d lengths OK for unbatched input, "
     "Python ints are not.",
     [("ctc_tg_C", "=→ accepted"), ("ctc_tg_m1", "=→ accepted"), ("ctc_tg_f32", "=→ accepted"),
      ("ctc_float_trunc", "True"), ("ctc_tg_blank", "=→ accepted"), ("ctc_il_f32", "must be integral"),
      ("ctc_lists", "=→ accepted")]),
    ("**CTC infeasible alignments are not errors**: input too short for the target (or input_length 0) "
     "returns **inf** unless `zero_infinity=True`. Batch-first (N,T,C) log_probs is detected only indirectly "
     "('input_lengths must be of size batch_size') and is silently accepted when N == T. "
     "`blank` must be in [0, C) (RuntimeError 'blank must be in label range' at call time).",
     [("ctc_short", "inf"), ("ctc_ntc", "input_lengths must be of size batch_size"),
      ("ctc_ntc_square", "=→ accepted"), ("ctc_blank_5", "blank must be in label range"),
      ("ctc_blank_-1", "blank must be in label range")]),
    ("**MultiLabelMarginLoss range-checks the entire target row, even entries after the -1 terminator** "
     "(RuntimeError \"argument #2 'target' is out of range\"), and a target whose shape != input shape raises "
     "'inconsistent target size'.",
     [("mlm_after_term", "out of range"), ("mlm_short", "inconsistent target size")]),
    ("**KLDivLoss**: integer targets raise 'kl_div: Integral inputs not supported.'; a negative target with "
     "`log_target=False` is accepted and yields nan; default `reduction='mean'` emits a UserWarning on every "
     "call (not an error).",
     [("KLDivLoss_tgt_i64", "Integral inputs not supported"), ("kl_neg_t", "nan"), ("kl_mean", "warns UserWarning")]),
    ("**Loss parameters are mostly unvalidated at construction**: HuberLoss `delta<=0` and SmoothL1 `beta<0` "
     "raise only at call (RuntimeError); SmoothL1 `beta=0` is fine but Huber `delta=0` is not. Construction-"
     "time checks exist only for: MultiMargin `p`/2-D weight, Triplet*/margin<=0, Huber non-numeric delta "
     "(TypeError), LinearCrossEntropyLoss label_smoothing/weight shape, AdaptiveLogSoftmax cutoffs/div_value.",
     [("HuberLoss_delta_0.0", "non-positive"), ("SmoothL1Loss_beta_0.0", "=→ accepted"),
      ("SmoothL1Loss_beta_-1.0", "negative values for beta")]),
    ("**Dtype acceptance is loss-specific on CPU**: f16/bf16 inputs work for CE/NLL/BCE*/regression losses "
     "but MultiMargin, MultiLabelMargin and CTC raise NotImplementedError. MSE/L1/SmoothL1/PoissonNLL accept "
     "an int64 *input* with float target; L1Loss and MultiLabelSoftMargin reject a bool target while "
     "MSE/SmoothL1/Huber accept it.",
     [("MultiMarginLoss_in_f16", "NotImplementedError"), ("ctc_f16", "NotImplementedError"),
      ("CrossEntropyLoss_in_f16", "accepted"), ("MSELoss_in_i64", "=→ accepted"),
      ("L1Loss_tgt_bool", "raises RuntimeError"), ("MSELoss_tgt_bool", "=→ accepted")]),
    ("**AdaptiveLogSoftmaxWithLoss** accepts int32 targets (unlike CE), has no `ignore_index`/`reduction` "
     "(target -100 raises 'Target values should be in [0, 9]'), and small `in_features // div_value**k` "
     "gives zero-size projections with only a UserWarning.",
     [("al_tg_i32", "accepted"), ("al_tm1", "Target values should be in"), ("al_zero_proj", "zero-element")]),
    ("**LinearCrossEntropyLoss chunked path (`options=LinearCrossEntropyOptions()`) differs from the "
     "reference path**: unsupported configs (int32 target, label_smoothing>0, bad reduction) fall back with "
     "a UserWarning and then fail/succeed as CE would; an out-of-range target raises RuntimeError "
     "'index 5 is out of bounds…' instead of IndexError; bf16 input with f32 weights works only on the "
     "chunked path.",
     [("lce_opts_i32", "options'' ignored"), ("lce_opts_tC", "RuntimeError(\"index 5 is out of bounds"),
      ("lce_tC", "IndexError")]),
]


def summaries():
    """Auto-generated cross-loss indexes: construction-time errors, nn/F divergences, warnings."""
    cons, diverge, warns = [], [], {}
    for owner, desc, line in RECS:
        if "raises@construct" in line:
            m = re.search(r'raises@construct (\w+)\("(.*?)"\)', line)
            cons.append(f"- {owner}: `{desc}` → {m.group(1)}(\"{m.group(2)}\")")
        elif "**nn:**" in line:
            diverge.append(f"- {owner}: `{desc}` {line}")
        for m in re.finditer(r'warns(?:@construct)? (\w+)\("(.*?)"\)', line):
            msg = re.sub(r"\(torch\.Size\(\[[^)]*\]\)\)", "(…)", m.group(2))[:90] + "…"
            key = f'{m.group(1)}("{msg}")'
            warns.setdefault(key, [])
            if owner not in warns[key]:
                warns[key].append(owner)
    out = ["\n## Index: errors raised at nn construction time\n",
           "Everything not listed here raises (if at all) only when the loss is CALLED "
           "(including every invalid `reduction`, `label_smoothing`, `ignore_index`, `blank`, `delta`, `beta`).\n"]
    out += cons
    out += ["\n## Index: nn vs F divergences other than construction-time checks\n"]
    out += diverge or ["- none"]
    out += ["\n## Index: warnings (emitted as warnings; the call still succeeds unless noted on the fact)\n"]
    for k, v in warns.items():
        out.append(f"- {k} — {', '.join(v)}")
    return "\n".join(out) + "\n"


def render():
    out = []
    out.append(f"# PyTorch loss behaviour reference (torch {torch.__version__}, CPU)\n")
    out.append("Generated by `maintainer/probe_torch_behaviour.py` — empirical, re-runnable "
               "(`. .venv/bin/activate && python maintainer/probe_torch_behaviour.py`). Do not hand-edit; edit the probe "
               "and re-run. The quirks list at the end is re-verified on every run (STALE markers on drift).\n")
    out.append(__doc__.split("Conventions", 1)[1].strip("\n"))
    out.append("")
    out.append("## Contents\n")
    for s_ in ORDER + ["Index: errors raised at nn construction time",
                       "Index: nn vs F divergences other than construction-time checks",
                       "Index: warnings (emitted as warnings; the call still succeeds unless noted on the fact)",
                       "Surprising quirks (each re-verified against this run's outcomes)"]:
        # GitHub's and the docs site's slug (mkdocs.yml: pymdownx.slugs): underscores stay.
        anchor = re.sub(r"[^a-z0-9_ -]", "", s_.lower()).replace(" ", "-")
        out.append(f"- [{s_}](#{anchor})")
    for s_ in ORDER:
        out.append(f"\n## {s_}\n")
        out.extend(SECTIONS[s_])
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    md = render()
    md += summaries()
    qlines = []
    stale = 0
    for text, checks in QUIRKS:
        bad = []
        for fid, chk in checks:
            got = RESULTS.get(fid, "<missing>")
            if chk.startswith("="):
                ok = got == chk[1:]
            elif chk.startswith("!"):
                ok = chk[1:] not in got
            else:
                ok = chk in got
            if not ok:
                bad.append(f"{fid}: expected `{chk}`, got `{got}`")
        stale += bool(bad)
        qlines.append(f"{len(qlines) + 1}. {text}" + ("" if not bad else "  **STALE:** " + "; ".join(bad)))
    md += ("\n## Surprising quirks (each re-verified against this run's outcomes)\n\n"
           + "\n".join(qlines) + "\n")
    path = os.path.join(here, "..", "docs", "how-it-works", "torch-behaviour.md")
    with open(path, "w") as fh:
        fh.write(md)
    print(f"wrote {path}: {md.count(chr(10))} lines, {len(RESULTS)} fact ids, "
          f"{len(QUIRKS)} quirks, stale={stale}")
    for q in qlines:
        if "STALE" in q:
            print(q)
    if "--dump" in sys.argv:
        print(md)
