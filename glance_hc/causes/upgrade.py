"""The pre-upgrade gate: glance-manage db check and glance-status upgrade check (no log patterns,
no canary rules: the gate's own checks read the tools' answers)."""
from glance_hc.causes.model import Cause

CAUSE = Cause(
    key="upgrade",
    lab_faults=("db-behind", "option-misspelled", "policy-json", "target-removes-option"),
    title="Not ready for upgrade (pre-upgrade gate)",
    runbook_step="Prevention: gate upgrades on a green run",
    symptom="glance-manage db check or glance-status upgrade check reports work to do before (or after) "
            "the upgrade.",
    remediation=(
        "Run the step the command names (`glance-manage db expand`, `migrate`, `contract`) in the order of "
        "the upgrade guide, then run the gate again.",
        "Read `glance-status upgrade check` output: a Failure must be fixed before upgrading; a Warning "
        "should be understood.",
    ),
)
