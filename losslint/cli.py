"""The `losslint` command (a first cut: `demo` and `rules`; `check`, `explain` and `run` follow)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="losslint", description="Explains PyTorch loss-function mismatches.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="a short tour on generated tensors")
    sub.add_parser("rules", help="every covered loss, one line each")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run

        return run()
    from .registry import builtin_registry

    for loss in sorted(builtin_registry().losses.values(), key=lambda l: l.name):
        functional = f"F.{loss.functional.__name__}" if loss.functional else "-"
        formats = "; ".join(f.name for f in loss.formats)
        print(f"{loss.name:<32} {functional:<40} {formats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
