"""The CI gate: budgets (:mod:`~costlab.ci.budgets`), their evaluation (:mod:`~costlab.ci.check`) and
profile comparison (:mod:`~costlab.ci.diff`)."""
