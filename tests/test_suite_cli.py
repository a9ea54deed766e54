"""`evalkit suite list / show / generate` through the console-script entry point."""

from __future__ import annotations

from suite_helpers import SMOKE, run_cli


def test_list_shows_shipped_suites_with_counts():
    code, out, err = run_cli(["suite", "list"])
    assert code == 0, err
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert "4800 scenarios" in lines["core"] and "12 categories" in lines["core"]
    assert "24 scenarios" in lines["smoke"]
    names = [ln.split()[0] for ln in out.splitlines() if ln.strip()]
    assert len(names) == len(set(names))  # a suite shipped in the package and present in the checkout: once


def test_a_projects_own_suite_is_listed_instead_of_a_shipped_one_of_that_name(tmp_path, monkeypatch):
    from suite_helpers import copy_suite

    copy_suite(SMOKE, tmp_path / "suites" / "smoke", keep=3)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["suite", "list"])
    smoke = [ln for ln in out.splitlines() if ln.startswith("smoke ")]
    assert code == 0 and len(smoke) == 1 and "3 scenarios" in smoke[0], out


def test_show_prints_the_agents_view_and_never_the_truth():
    from evalkit.suite import load_suite, load_truth

    s = load_suite(SMOKE)
    for sc in s.scenarios:
        if "downstream" not in sc.tags:
            continue
        code, out, err = run_cli(["suite", "show", "smoke", sc.id])
        assert code == 0, err
        truth = load_truth(s, sc.id)
        assert sc.alert["title"] in out and "components (" in out and "log lines" in out
        assert truth.fault_type not in out and "truth" not in out.lower()
        assert "distractor" not in out.lower()


def test_show_unknown_scenario_is_a_one_line_user_error():
    code, out, err = run_cli(["suite", "show", "smoke", "nope-001"])
    assert code == 2 and err.startswith("error: ") and "no such scenario" in err
    assert len(err.strip().splitlines()) == 1


def test_generate_writes_a_valid_suite_and_reports_its_hash(tmp_path):
    from evalkit.suite import suite_hash

    out_dir = tmp_path / "gen"
    code, out, err = run_cli(["suite", "generate", "--output-dir", str(out_dir), "--name", "gen", "--per-category", "2",
                              "--seed", "9", "--categories", "kubernetes/oom,database/slow-query", "--noise", "0.5"])
    assert code == 0, err
    assert f"wrote 4 scenarios (hash {suite_hash(out_dir)[:12]})" in out
    code, out, err = run_cli(["suite", "validate", str(out_dir)])
    assert code == 0 and "4 scenarios in 2 categories" in out


def test_generate_rejects_bad_options_with_one_line(tmp_path):
    for args, text in ((["--categories", "made/up"], "known categories"), (["--noise", "2"], "--noise"),
                       (["--per-category", "0"], "--per-category"), (["--trials", "0"], "--trials: 0"),
                       (["--name", "../x y"], "--name: '../x y'")):
        base = ["suite", "generate", "--output-dir", str(tmp_path / "x"), "--name", "x", "--per-category", "1"]
        code, _, err = run_cli(base + args if "--per-category" not in args else base[:-2] + args)
        assert code == 2 and text in err and "Traceback" not in err, err
        assert not (tmp_path / "x").exists()  # nothing written that `suite validate` would refuse
