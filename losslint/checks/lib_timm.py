"""Checks for the conventions of timm (rules/timm/)."""

from __future__ import annotations

from . import check  # noqa: F401
