"""ShuffleNet V2's four guidelines (Ma et al. 2018, Sec. 2) as lint rules over a :class:`~costlab.cost.report.Report`.

* :mod:`~costlab.rules.registry` — the rule registry (:func:`~costlab.rules.registry.rule`, thresholds);
* :mod:`~costlab.rules.g1` … :mod:`~costlab.rules.g4` — one file per guideline;
* :mod:`~costlab.rules.graph` — what the rules read from a Report (convolutions, blocks, branches);
* :mod:`~costlab.rules.findings` — :class:`Finding`, what a rule reports;
* :mod:`~costlab.rules.settings` — selection, severities and thresholds from the config;
* :mod:`~costlab.rules.engine` — :func:`lint`, which runs them.
"""

from costlab.rules.engine import LintResult, lint
from costlab.rules.findings import SEVERITIES, Finding, Location, severity_rank
from costlab.rules.registry import RULES, Context, Param, Rule
from costlab.rules.settings import LintSettings, parse_rule_list, settings_from_config

__all__ = [
    "RULES",
    "SEVERITIES",
    "Context",
    "Finding",
    "LintResult",
    "LintSettings",
    "Location",
    "Param",
    "Rule",
    "lint",
    "parse_rule_list",
    "settings_from_config",
    "severity_rank",
]
