"""Hooks into training: `attach()`, `pre_hook`, `watch()` and what they share.

Owns the module hooks (`hook`), the `watch()` context manager (`watcher`) and its interception of
functionals (`intercept`), the per-call-site bookkeeping and reporting (`monitor`), provenance tracing
(`tracing`), compile-time checks (`compiled`), device-side index asserts (`device_asserts`), merging
reports across ranks (`distributed`) and the sampling policy (`policy`).

Imports: advice, checks, libraries, judging, evidence and the rule language; never integrations.
"""
