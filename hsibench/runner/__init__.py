"""Runner layer: trials as plain specs, executed locally or as a Ray Tune grid, each leaving a durable record.

``run_trial(spec) -> TrialRecord`` is one trial; :func:`run_campaign` runs a batch with an
executor (``local`` or ``ray``), runs each shared source pretraining once first, skips trials
that already have an ``ok`` record made by today's code, reruns (and keeps aside) records made by
other code, and records failures instead of stopping.

Names are imported on first use: reading records (the report layer, ``results ls``) needs
neither torch nor Ray.
"""

from hsibench.lazy import lazy_exports

_NAMES = {
    "CampaignResult": "campaign", "run_campaign": "campaign",
    "EXECUTORS": "executors", "ExecutorOptions": "executors", "ResourceRequestError": "executors",
    "create_executor": "executors",
    "DEFAULT_RESULTS_DIR": "layout", "ResultsLayout": "layout", "default_pretraining_cache": "layout",
    "Scores": "metrics", "score_predictions": "metrics",
    "MAP_SEED": "plan", "TrialSettings": "plan", "choose_seeds": "plan", "expand_grid": "plan",
    "parse_assignments": "plan", "plan_trials": "plan",
    "RECORD_SCHEMA": "record_schema", "STATUS_FAILED": "record_schema", "STATUS_OK": "record_schema",
    "RecordError": "record_schema", "TrialRecord": "record_schema",
    "load_records": "records", "read_record": "records",
    "ResolvedTrial": "spec", "TrialSpec": "spec", "apply_protocol_overrides": "spec", "load_plugins": "spec",
    "protocol_identity": "spec", "resolve": "spec", "split_overrides": "spec",
    "execute_trial": "trial", "run_trial": "trial",
}


__getattr__ = lazy_exports(__name__, {name: f"hsibench.runner.{module}" for name, module in _NAMES.items()})


__all__ = sorted(_NAMES)
