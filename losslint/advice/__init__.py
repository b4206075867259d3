"""Advice: what to do instead, built from the rule files and the conversion model.

Owns `suggest()` (`suggestion`), the hint that another loss takes the target as it is (`switch`, added to
the engine as a step through `language.checkbook`), the targets page (`targets`) and the generated
reference docs (`docs`).

Imports: checks, judging, evidence and the rule language; never hooks or integrations.
"""
