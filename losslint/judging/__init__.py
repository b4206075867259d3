"""Judging one call: the engine that checks a loss call against its compiled contract.

Owns the engine and `check()` (`engine`), the state of one check (`context`), what it found (`findings`:
Finding and Report), the verdicts from provenance (`origin`), suppression comments (`suppress`) and
the renderings of a report (`render`).

Imports: evidence, the rule language and below. Checks and advice plug in through the rule language's
table (`language.checkbook`), never by import.
"""
