"""A Checker that records the depth of every call it judges: what the hooks' tests count calls with."""

from __future__ import annotations

import losslint


class Counting(losslint.Checker):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.depths: list = []

    def check_call(self, loss, args=(), kwargs=None, *, depth=None, **options):
        self.depths.append(depth)
        return super().check_call(loss, args, kwargs, depth=depth, **options)
