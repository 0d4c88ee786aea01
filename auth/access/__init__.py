"""Access control: what a principal may see, enforced on every read.

`policy` (roles as data, default deny, read once from the policy file with its purpose
rules), `scope` (the only place that turns a canonical query into a scoped one, or refuses
it), `masking` (named maskers), `suppression` (small groups in summaries), `purpose` (when a
stated purpose is required) and `explain` (why a principal can or cannot see a row).
"""
