"""Evidence about a tensor: what it is and where it came from, independent of any loss.

Owns the facts observed once per tensor (`facts`: metadata first, bounded value statistics), value-kind
tests (`kinds`), descriptions in words (`describe`), provenance recorded under `watch()` (`provenance`),
the conversions between layouts and kinds (`conversion`), and where a call was made (`callsite`).

Imports: the rule language and below; never judging, checks, advice, hooks or integrations.
"""
