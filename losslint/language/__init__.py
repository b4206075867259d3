"""The rule language, the lowest layer: what a rule file and `[tool.losslint]` may say, and how they are read.

Owns the rule-file models and their validation (`spec`), loading and precedence of rule sources
(`sources`), the compiled registry (`registry`), shape patterns (`shapes`), value domains (`domains`),
the closed vocabularies of kinds and tasks (`vocabulary`), rule examples (`examples`), what differs
between torch releases (`releases`), the table of named checks (`checkbook`), and the configuration
table with its code selection (`config`, `selection`).

Imports: the standard library, pydantic, torch and `losslint.errors` only; never a layer above. The
built-in checks arrive by name (`checkbook.load_builtin_checks`), not by import.
"""
