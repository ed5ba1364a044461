"""ShuffleNet V2's guideline experiments (Tables 1–4) re-run on this hardware (``costlab guidelines``).

:mod:`~costlab.experiments.blocks` (the networks), :mod:`~costlab.experiments.tables` (the paper's
data), :mod:`~costlab.experiments.verdicts` (judging claims on noisy timings) and
:mod:`~costlab.experiments.run` (counting, timing and the results).
"""
