"""Checks for the conventions of torchvision.ops and torchvision's detection models (rules/torchvision/)."""

from __future__ import annotations

from . import check  # noqa: F401
