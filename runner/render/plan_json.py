"""The plan as JSON: the versioned envelope of `Plan.to_json` (format "zdops-plan", version 1).

`zdops plan --format json` prints it and `--out PLAN.json` saves it; `zdops apply PLAN.json`
reads it back with `Plan.from_json`, which rejects a corrupt or edited file.
"""

from __future__ import annotations

from runner.engine.plan import Plan


def render_json(plan: Plan) -> str:
    return plan.to_json(indent=2)
