"""placeholder"""
from . import check  # noqa: F401
