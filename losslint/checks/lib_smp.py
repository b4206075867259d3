"""Checks for the conventions of segmentation_models_pytorch (rules/segmentation_models_pytorch/)."""

from __future__ import annotations

from . import check  # noqa: F401
