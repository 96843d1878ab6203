"""Runner layer: trials as plain specs, executed locally or as a Ray Tune grid, each leaving a durable record.

``run_trial(spec) -> record`` is one trial; :func:`run_campaign` runs a batch with an executor
(``local`` or ``ray``), runs each shared source pretraining once first, skips trials that already
have an ``ok`` record, and records failures instead of stopping.
"""

from hsibench.runner.campaign import CampaignResult, run_campaign
from hsibench.runner.executors import EXECUTORS, ExecutorOptions, ResourceRequestError, create_executor
from hsibench.runner.layout import DEFAULT_RESULTS_DIR, ResultsLayout, default_pretraining_cache
from hsibench.runner.metrics import Scores, score_predictions
from hsibench.runner.plan import MAP_SEED, TrialSettings, choose_seeds, expand_grid, parse_assignments, plan_trials
from hsibench.runner.records import STATUS_FAILED, STATUS_OK, load_records, read_record
from hsibench.runner.spec import (
    ResolvedTrial,
    TrialSpec,
    apply_protocol_overrides,
    load_plugins,
    protocol_identity,
    resolve,
    split_overrides,
)
from hsibench.runner.trial import execute_trial, run_trial

__all__ = [
    "DEFAULT_RESULTS_DIR", "EXECUTORS", "MAP_SEED", "STATUS_FAILED", "STATUS_OK", "CampaignResult",
    "ExecutorOptions", "ResolvedTrial", "ResourceRequestError", "ResultsLayout", "Scores", "TrialSettings",
    "TrialSpec", "apply_protocol_overrides", "choose_seeds", "create_executor", "default_pretraining_cache",
    "execute_trial", "expand_grid", "load_plugins", "load_records", "parse_assignments", "plan_trials",
    "protocol_identity", "read_record", "resolve", "run_campaign", "run_trial", "score_predictions",
    "split_overrides",
]
