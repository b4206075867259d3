"""Checks for the conventions of MONAI (rules/monai/)."""

from __future__ import annotations

from . import check  # noqa: F401
