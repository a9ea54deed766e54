"""Trial seeds: stable, derived from (run seed, scenario, trial) only — never from the build."""

import hashlib
import inspect
import subprocess
import sys

from evalkit.run.seeds import trial_seed


def test_trial_seed_is_sha256_of_run_seed_scenario_and_trial():
    expected = int.from_bytes(hashlib.sha256(b"7:db-slow-query-003:2").digest()[:4], "big")
    assert trial_seed(7, "db-slow-query-003", 2) == expected


def test_trial_seed_is_the_same_in_a_fresh_interpreter():
    code = "from evalkit.run.seeds import trial_seed; print(trial_seed(3, 'net-dns-001', 4))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""}).stdout
    assert int(out) == trial_seed(3, "net-dns-001", 4)


def test_trial_seeds_differ_across_scenarios_trials_and_run_seeds():
    seeds = {trial_seed(s, f"sc-{i}", t) for s in range(3) for i in range(50) for t in range(5)}
    assert len(seeds) == 3 * 50 * 5
    assert all(0 <= x < 2**32 for x in seeds)


def test_trial_seed_does_not_take_the_build():
    assert list(inspect.signature(trial_seed).parameters) == ["run_seed", "scenario_id", "trial"]
