"""RunConfig: one frozen value for the run settings, checked once, built by one option decorator."""

import dataclasses

import click
import pytest
from click.testing import CliRunner

from evalkit.cli.options import run_options
from evalkit.errors import UserError
from evalkit.agents.limits import DEFAULT_LIMITS
from evalkit.agents.sandbox import SandboxSettings
from evalkit.run.config import NO_JOURNAL, JournalConfig, RetryConfig, RunConfig


def test_defaults_are_the_python_api_defaults_and_the_value_is_frozen():
    config = RunConfig()
    assert (config.trials, config.seed, config.jobs, config.executor, config.timeout_s) == (None, 0, 1, "local", 60.0)
    assert config.journal == JournalConfig() and config.journal.enabled and config.retry == RetryConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.trials = 3  # type: ignore[misc]


@pytest.mark.parametrize("changes, line", [
    ({"trials": 0}, "--trials: 0: give an integer >= 1"),
    ({"seed": -3}, "--seed: -3: give an integer >= 0"),
    ({"seed": 2**63}, f"--seed: {2**63}: give an integer below 2^63"),  # overflowed the results table after the run
    ({"jobs": -1}, "--jobs: -1: give a number of parallel investigations >= 1 (0 = all CPUs)"),
    ({"timeout_s": 0}, "--timeout: 0: give the per-investigation timeout in seconds (> 0)"),
    ({"executor": "dask"}, "--executor: 'dask': choose one of local, threads, processes, ray"),
])
def test_bad_values_are_one_line_errors_when_built_and_when_replaced(changes, line):
    with pytest.raises(UserError) as err:
        RunConfig(**changes)
    assert str(err.value) == line
    with pytest.raises(UserError):
        RunConfig(trials=1).replace(**changes)


def test_every_problem_is_reported_at_once():
    with pytest.raises(UserError) as err:
        RunConfig(trials=0, seed=-1)
    assert str(err.value).splitlines() == ["--trials: 0: give an integer >= 1", "--seed: -1: give an integer >= 0"]


def test_agent_kwargs_carry_the_timeout_and_sequences_are_normalised():
    config = RunConfig(timeout_s=5, agent_options={"a": 1}, scorers=["x=m:f"], journal=NO_JOURNAL)
    kwargs = config.agent_kwargs(protect=("/suite",))
    assert {k: kwargs[k] for k in ("a", "timeout_s")} == {"a": 1, "timeout_s": 5.0}
    assert kwargs["sandbox"] == SandboxSettings(protect=("/suite",)) and kwargs["limits"] == DEFAULT_LIMITS
    assert config.scorers == ("x=m:f",) and not config.journal.enabled
    assert JournalConfig("j").dir.name == "j"


@pytest.mark.parametrize("command", ["run", "gate"])
def test_the_option_decorator_hands_the_command_one_runconfig(command):
    seen = {}

    @click.command()
    @run_options(command)
    @click.option("--other", default="x")
    def cmd(config, other):
        seen.update(config=config, other=other)

    result = CliRunner().invoke(cmd, ["--trials", "2", "--seed", "4", "--journal-dir", "jd", "--fresh",
                                      "--scorer", "a=m:f", "--scorer", "m:g", "--timeout", "9", "--other", "y"])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.trials, config.seed, config.jobs, config.timeout_s) == (2, 4, 2, 9.0)  # --jobs defaults to 2
    assert config.journal.dir.name == "jd" and config.journal.fresh and config.scorers == ("a=m:f", "m:g")
    assert seen["other"] == "y"
