"""The Ray executor's cluster options reach the executor, and bad counts are refused by argparse."""

from __future__ import annotations

import pytest

from hsibench.cli import build_parser
from hsibench.cli.run_commands import trial_executor, trial_settings


def _executor(*options: str):
    args = build_parser().parse_args(["run", "--method", "svm", "--protocol", "demo", "--executor", "local", *options])
    return trial_executor(args, trial_settings(args, "smoke"))


def test_cluster_options_reach_the_executor() -> None:
    options = _executor("--retries", "5", "--max-concurrent", "3", "--keep-tune-dir").options
    assert (options.retries, options.max_concurrent, options.keep_tune_dir) == (5, 3, True)


def test_defaults_retry_a_lost_worker_twice_and_do_not_cap_concurrency() -> None:
    options = _executor().options
    assert (options.retries, options.max_concurrent, options.keep_tune_dir) == (2, None, False)


@pytest.mark.parametrize(("flag", "value"), [("--retries", "-1"), ("--max-concurrent", "0"), ("--retries", "two")])
def test_bad_counts_are_usage_errors(flag: str, value: str, capsys) -> None:
    with pytest.raises(SystemExit):
        _executor(flag, value)
    assert "expected an integer" in capsys.readouterr().err
