"""Sensitivity of the sequential gate on the `core` pool: planted regressions, A/A false alarms, trials spent.

A sabotaged build wraps ``reference:v1`` and answers wrong on a chosen share of ONE category's pool (chosen
among the scenarios the baseline solves: baseline per-scenario ``rca_top1`` mean == 1, so the planted drop
is exactly that many points): -5, -10, -15, -20, -30 points, plus a -5-point drop spread over every
category. Per planted drop it prints the detection rate (the sabotaged category regressed on any gated
metric; spread: any category regressed), the share of gates that flagged any OTHER category and the mean
trials spent; then the A/A false-alarm rate of ``reference:v1`` against its own baseline with seeds != 0,
with its one-sided 95% Clopper-Pearson upper bound; then the cost next to the fixed design.

Two ways to run a gate:

- **simulated** (the bulk): candidate rows come from a *reservoir*, a real ``reference:v1`` run on the whole
  pool with one trial per scenario at seed 1..K (cached under ``.evalkit/bench-cache/``); a gate is a seed
  -> ``pool_orders(baseline, seed)`` -> rounds exactly as ``evalkit.rounds.run_rounds`` plays them
  (``sequential.next_round``, then ``compare_sequential`` and its ``meta["stops"]``), the reservoir chosen by
  gate index, the order seed new for every gate. The sabotage sets ``rca_top1`` and ``rca_score`` of the
  sabotaged scenarios' reservoir rows to 0. The decisions are ``compare_sequential``'s own, called with the
  gate's policy minus its report-only metrics (they never decide a stop or a verdict; dropping them makes
  a round ~3x cheaper).
- **end to end** (``--e2e N`` of the -10 gates and N A/A gates): ``evalkit.gate.run_gate`` with a real agent
  in worker processes (``sabotage_agent:make_agent?sabotage=<file>``, or ``reference:v1``), on a fresh
  temporary journal, embedded MLflow store (``sqlite:///...``) and report folder. The sabotaged agent's
  ``rca_score`` is that of its wrong answer (0, or 0.25 when the truth is still in its top three).

    python benchmarks/sensitivity.py [--reps 40] [--aa 200] [--e2e 20] [--quick] [--seed 0] [--sim-jobs 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SUITE = REPO / "suites" / "core"
BASELINES = REPO / "baselines"
CACHE = REPO / ".evalkit" / "bench-cache"
DROPS = (5, 10, 15, 20, 30)           # points, in one category
SPREAD = "spread"                     # -5 points in every category
TARGETS = {10: 0.80, 20: 0.99}        # detection targets (issue 13)
OTHER_TARGET = 0.05
AA_TARGET = 0.05

# Worker processes of the runner import the sabotage agent by module name.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                          if p])


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- evalkit API ------------------------------------------------------------------------------------
def gate_policy():
    from evalkit.compare import load_policy

    return load_policy(BASELINES / "core" / "policy.toml")


# --- statistics ------------------------------------------------------------------------------------
def cp_upper(x: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound: the p with P(X <= x | n, p) = 1 - level (a beta quantile)."""
    return 1.0 if n == 0 or x >= n else float(stats.beta.ppf(level, x + 1, n - x))


# --- the pool and the sabotage draws --------------------------------------------------------------
class Pool:
    def __init__(self):
        from evalkit.store.exchange import resolve_baseline
        from evalkit.suite import load_suite

        self.suite = load_suite(SUITE)
        self.alerts = {s.id: s.alert for s in self.suite.scenarios}
        # the baseline table the gate uses (the committed export baselines/core/main)
        self.baseline, _ = resolve_baseline(None, "core", "main", BASELINES, suite_hash=self.suite.hash)
        b = self.baseline
        per = b.groupby(["category", "scenario_id"], observed=True)["rca_top1"].mean()
        self.categories = sorted(b["category"].astype(str).unique())
        self.pool_size = b.drop_duplicates("scenario_id").groupby("category", observed=True).size().astype(int)
        self.solved = {c: sorted(per.loc[c][per.loc[c] == 1.0].index.astype(str)) for c in self.categories}
        from sabotage_agent import alert_fingerprint

        fps = {alert_fingerprint(a) for a in self.alerts.values()}
        if len(fps) != len(self.alerts):
            raise SystemExit(f"alert fingerprints are not unique over the pool ({len(fps)} of {len(self.alerts)})")

    def draw(self, drop, index: int, seed: int) -> tuple[list[str], list[str]]:
        """(sabotaged categories, sabotaged scenario ids) of draw ``index`` for a planted drop."""
        rng = np.random.default_rng([seed, 77, index, 0 if drop == SPREAD else int(drop)])
        cats = self.categories if drop == SPREAD else [self.categories[index % len(self.categories)]]
        points = 5 if drop == SPREAD else int(drop)
        ids = []
        for c in cats:
            n = int(round(points / 100 * int(self.pool_size[c])))
            if n > len(self.solved[c]):
                raise SystemExit(f"{c}: the baseline solves only {len(self.solved[c])} scenarios, {n} needed")
            ids += list(rng.choice(self.solved[c], size=n, replace=False))
        return cats, ids


# --- reservoirs ------------------------------------------------------------------------------------
def reservoirs(pool: Pool, k: int, jobs: int) -> list[pd.DataFrame]:
    from evalkit.agents.spec import load_agent
    from evalkit.run import JournalConfig, RunConfig, run_suite

    build = str(load_agent("reference:v1").build).replace(":", "-").replace("/", "-")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for s in range(1, k + 1):
        path = CACHE / f"sensitivity-reservoir-{build}-seed{s}-{pool.suite.hash[:16]}.parquet"
        if path.is_file():
            table = pd.read_parquet(path)
        else:
            say(f"reservoir {s}/{k}: reference:v1 on the whole pool, 1 trial, seed {s} (cached at {path})")
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="evalkit-sens-res-") as tmp:
                config = RunConfig(trials=1, seed=s, jobs=jobs, journal=JournalConfig(tmp))
                table = run_suite(pool.suite, "reference:v1", config).table
            table.to_parquet(path.with_suffix(".tmp"), index=False)
            path.with_suffix(".tmp").replace(path)
            say(f"reservoir {s}/{k}: {len(table)} trials in {time.perf_counter() - t0:.0f} s")
        out.append(table.reset_index(drop=True))
    return out


# --- simulated gates -------------------------------------------------------------------------------
_SIM: dict = {}
def _sim_init(baseline, policy, reservoir_tables, in_suite):
    _SIM.update(baseline=baseline, policy=policy, in_suite=in_suite,
                reservoirs=[(t, pd.Index(t["scenario_id"].astype(str))) for t in reservoir_tables])


def simulate_gate(job: tuple) -> dict:
    """One gate through the gate's own loop (``evalkit.rounds.play_rounds``), its candidate read from a
    reservoir (sabotaged rows zeroed) instead of run; returns its outcome."""
    from evalkit.compare.pool_comparison import pool_orders
    from evalkit.rounds import play_rounds

    order_seed, res_index, sabotaged = job
    base, pol = _SIM["baseline"], _SIM["policy"]
    table, index = _SIM["reservoirs"][res_index]
    if sabotaged:
        table = table.copy()
        hit = index.isin(sabotaged)
        table.loc[hit, "rca_top1"] = 0.0
        table.loc[hit, "rca_score"] = 0.0
    orders = pool_orders(base, order_seed, keep=_SIM["in_suite"])
    played = play_rounds(orders, base, pol, lambda ids: table.iloc[index.get_indexer(ids)])
    comparison, n_rows, rounds = played.comparison, len(played.run), len(played.rounds)
    cells = comparison.regressed_cells
    return {"regressed_categories": sorted({c for c, _ in cells if c in orders}),
            "any_cell": bool(cells), "trials": n_rows, "rounds": rounds}


class Simulator:
    """The simulated gates, run by ``sim_jobs`` forked processes in the background (``start``) or inline;
    ``results()`` waits for them."""

    def __init__(self, jobs_list: list[tuple], pool: Pool, res: list[pd.DataFrame], sim_jobs: int):
        self.jobs_list, self.sim_jobs = jobs_list, sim_jobs
        # the gate's policy without report-only metrics (not part of any stop or verdict)
        self.args = (pool.baseline, dataclasses.replace(gate_policy(), report=()), res, frozenset(pool.alerts))
        self.out: list[dict] = []
        self.wall = 0.0
        self._thread = self._workers = None

    def _consume(self, results, t0: float) -> None:
        for i, r in enumerate(results):
            self.out.append(r)
            if (i + 1) % 20 == 0 or i + 1 == len(self.jobs_list):
                say(f"simulator: {i + 1}/{len(self.jobs_list)} gates ({time.perf_counter() - t0:.0f} s)")
        self.wall = time.perf_counter() - t0

    def start(self) -> "Simulator":
        import multiprocessing as mp
        import threading

        t0 = time.perf_counter()
        if self.sim_jobs <= 1 or not self.jobs_list:
            _sim_init(*self.args)
            self._consume(map(simulate_gate, self.jobs_list), t0)
            return self
        self._workers = mp.get_context("fork").Pool(self.sim_jobs, initializer=_sim_init, initargs=self.args)
        results = self._workers.imap(simulate_gate, self.jobs_list, chunksize=1)
        self._thread = threading.Thread(target=self._consume, args=(results, t0), daemon=True)
        self._thread.start()
        return self

    def results(self) -> list[dict]:
        if self._thread is not None:
            self._thread.join()
            self._workers.close()
            self._workers.join()
        if len(self.out) != len(self.jobs_list):
            raise SystemExit(f"simulator: {len(self.out)} of {len(self.jobs_list)} gates came back")
        return self.out


# --- end-to-end gates ------------------------------------------------------------------------------
def e2e_gate(pool: Pool, work: Path, tag: str, spec: str, seed: int, jobs: int, sabotaged: list[str]) -> dict:
    from evalkit.gate import run_gate
    from evalkit.run import JournalConfig, RunConfig

    t0 = time.perf_counter()
    result = run_gate(SUITE, spec, RunConfig(seed=seed, jobs=jobs, journal=JournalConfig(work / "journal")),
                      tracking_uri=f"sqlite:///{work / 'mlflow.db'}", output_dir=work / "reports" / tag,
                      baselines_dir=BASELINES, log=lambda m: None)
    wall = time.perf_counter() - t0
    comparison = result.comparison
    cats = set(pool.categories)
    table = result.run.table
    hit = table[table["scenario_id"].astype(str).isin(set(sabotaged))]
    return {"regressed_categories": sorted({c for c, _ in comparison.regressed_cells if c in cats}),
            "any_cell": bool(comparison.regressed_cells), "trials": int(len(table)), "wall_s": wall,
            "exit": result.exit_code, "sabotaged_trials": int(len(hit)),
            "not_ok": int((table["status"].astype(str) != "ok").sum()),
            "sabotaged_wrong": int((hit["rca_top1"] == 0).sum()) if len(hit) else 0,
            "sabotaged_score": float(hit["rca_score"].mean()) if len(hit) else float("nan"),
            "build": str(table["build_id"].iloc[0]) if len(table) else ""}


def run_e2e(pool: Pool, n: int, seed: int, jobs: int, work: Path, deadline: float | None, start: int = 0
            ) -> tuple[list[dict], list[dict], str]:
    """n sabotaged (-10) and n A/A gates end to end, alternating, until done or past ``deadline``; gate
    numbers (draws, seeds, categories) start at ``start``, so that other processes can run other gates."""
    from sabotage_agent import write_sabotage_file

    drops, aas, note = [], [], ""
    draws = work / "draws"
    draws.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        for kind in ("drop10", "aa"):
            if deadline is not None and time.perf_counter() > deadline:
                note = (f"stopped by --e2e-minutes after {len(drops)} sabotaged and {len(aas)} A/A gates "
                        f"(of {n} each)")
                say(note)
                return drops, aas, note
            if kind == "drop10":
                cats, ids = pool.draw(10, 10_000 + i, seed)
                path = write_sabotage_file(draws / f"drop10-{i:03d}.json", [pool.alerts[s] for s in ids],
                                           category=cats[0], scenarios=sorted(ids))
                gate_seed = 10_000 + 1000 * seed + i
                r = e2e_gate(pool, work, f"drop10-{i}", f"sabotage_agent:make_agent?sabotage={path}", gate_seed,
                             jobs, ids)
                r.update(categories=cats)
                drops.append(r)
                say(f"e2e -10 gate {i + 1 - start}/{n} (#{i}, {cats[0]}, seed {gate_seed}): exit {r['exit']}, regressed "
                    f"{r['regressed_categories'] or '-'}, {r['trials']} trials, {r['wall_s']:.0f} s; sabotaged "
                    f"trials {r['sabotaged_wrong']}/{r['sabotaged_trials']} wrong, mean rca_score "
                    f"{r['sabotaged_score']:.2f}; {r['not_ok']} trials not ok")
            else:
                gate_seed = 20_000 + 1000 * seed + i
                r = e2e_gate(pool, work, f"aa-{i}", "reference:v1", gate_seed, jobs, [])
                aas.append(r)
                say(f"e2e A/A gate {i + 1 - start}/{n} (#{i}, seed {gate_seed}): exit {r['exit']}, regressed cells: "
                    f"{'yes' if r['any_cell'] else 'none'}, {r['trials']} trials, {r['wall_s']:.0f} s; "
                    f"{r['not_ok']} trials not ok")
    return drops, aas, note


# --- summary ---------------------------------------------------------------------------------------
def summarize(rows: list[dict], cats_per_row: list[list[str]], spread: bool) -> dict:
    n = len(rows)
    if not n:
        return {"n": 0, "det": None, "other": None, "trials": float("nan")}
    det = sum(bool(set(r["regressed_categories"]) & set(c)) for r, c in zip(rows, cats_per_row))
    other = sum(bool(set(r["regressed_categories"]) - set(c)) for r, c in zip(rows, cats_per_row))
    out = {"n": n, "det": det, "other": None if spread else other,
           "trials": float(np.mean([r["trials"] for r in rows]))}
    if "wall_s" in rows[0]:
        out["wall"] = statistics.median(r["wall_s"] for r in rows)
    return out


def fmt_rate(x, n) -> str:
    return "—" if x is None or not n else f"{x}/{n} ({100 * x / n:.0f}%)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40, help="simulated gates per planted drop (default 40)")
    ap.add_argument("--aa", type=int, default=200, help="simulated A/A gates (default 200)")
    ap.add_argument("--e2e", type=int, default=20, help="end-to-end gates for -10 and for A/A each (0: skip)")
    ap.add_argument("--reservoirs", type=int, default=3, help="reference:v1 pool runs at seeds 1..K (default 3)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sabotage draws and gate seeds")
    ap.add_argument("--jobs", type=int, default=2, help="--jobs of the agent runs (default 2)")
    ap.add_argument("--sim-jobs", type=int, default=2, help="processes for the simulated gates (default 2)")
    ap.add_argument("--e2e-minutes", type=float, default=None,
                    help="start no new end-to-end gate after this many minutes from the start (shared machines)")
    ap.add_argument("--e2e-start", type=int, default=0,
                    help="number of the first end-to-end gate (split the gates over processes: 0, 100, ...)")
    ap.add_argument("--serial", action="store_true", help="run the simulator after the end-to-end gates, not beside")
    ap.add_argument("--quick", action="store_true", help="smoke check: 4 gates per drop, 12 A/A, 1 e2e each")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder of the end-to-end gates")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.aa, args.e2e = min(args.reps, 4), min(args.aa, 12), min(args.e2e, 1)

    t_start = time.perf_counter()
    say("loading the suite and the baseline")
    pool = Pool()
    pol = gate_policy()
    res = reservoirs(pool, args.reservoirs, args.jobs)
    K = len(res)

    # Simulated gates: every gate gets its own order seed; reservoirs rotate by gate index.
    cells = list(DROPS) + [SPREAD]
    planned = [(drop, *pool.draw(drop, i, args.seed)) for drop in cells for i in range(args.reps)]
    planned += [("aa", [], [])] * args.aa
    jobs = [(1 + 100_000 * args.seed + g, g % K, frozenset(ids)) for g, (_, _, ids) in enumerate(planned)]
    meta = [(drop, cats) for drop, cats, _ in planned]
    # The simulator runs in the background while the end-to-end gates run (both are CPU-bound: on a shared
    # machine, --sim-jobs 1 or --serial leaves more room to others).
    simulator = Simulator(jobs, pool, res, args.sim_jobs)
    if not args.serial:
        simulator.start()
    deadline = t_start + 60 * args.e2e_minutes if args.e2e_minutes else None
    e2e_drop, e2e_aa, t_e2e, e2e_note = [], [], 0.0, ""
    if args.e2e > 0:
        t0 = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="evalkit-sens-e2e-"))
        try:
            e2e_drop, e2e_aa, e2e_note = run_e2e(pool, args.e2e, args.seed, args.jobs, work, deadline,
                                                 args.e2e_start)
        finally:
            if args.keep:
                say(f"kept {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
        t_e2e = time.perf_counter() - t0
    if args.serial:
        simulator.start()
    sims = simulator.results()
    t_sim = simulator.wall

    # ---- the table
    pool_total = int(pool.pool_size.sum())
    print(f"# Sequential gate sensitivity on suites/core ({len(pool.categories)} categories x "
          f"{int(pool.pool_size.min())}-{int(pool.pool_size.max())} scenarios = {pool_total}), baseline "
          f"reference:v1 k=3 seed 0; policy {BASELINES / 'core' / 'policy.toml'} (alpha {pol.alpha}, round "
          f"{pol.round_size} scenarios/category, margin {pol.margin_for('', 'rca_top1'):g}, delta "
          f"{pol.delta_for('rca_top1'):g}); candidate 1 trial per scenario")
    print(f"# simulated: {K} reservoirs (reference:v1, whole pool, 1 trial, seeds 1..{K}), sabotage sets rca_top1 = "
          f"rca_score = 0 on the sabotaged scenarios; end to end: run_gate with sabotage_agent (its rca_score "
          f"is that of its wrong answer: 0, or 0.25 when the truth stays in its top 3)")
    print("# detected = the sabotaged category regressed on any gated metric (spread: any category); "
          "other = a gate flagged any category that was not sabotaged")
    print()
    head = ("planted drop", "sim gates", "detected", "other categories flagged", "mean trials",
            "e2e gates", "e2e detected", "e2e other", "e2e mean trials", "e2e median wall s")
    lines = [head]
    by_cell: dict = {}
    for drop in cells:
        rows = [(r, c) for r, (d, c) in zip(sims, meta) if d == drop]
        s = summarize([r for r, _ in rows], [c for _, c in rows], drop == SPREAD)
        by_cell[drop] = s
        e = summarize(e2e_drop, [r["categories"] for r in e2e_drop], False) if drop == 10 else {"n": 0}
        label = "-5 in every category" if drop == SPREAD else f"-{drop} in one category"
        lines.append((label, str(s["n"]), fmt_rate(s["det"], s["n"]), fmt_rate(s["other"], s["n"]),
                      f"{s['trials']:.0f}" if s["n"] else "—",
                      str(e["n"]) if e["n"] else "—", fmt_rate(e.get("det"), e["n"]), fmt_rate(e.get("other"), e["n"]),
                      f"{e['trials']:.0f}" if e["n"] else "—", f"{e['wall']:.0f}" if e["n"] else "—"))
    aa_sim = [r for r, (d, _) in zip(sims, meta) if d == "aa"]
    e_aa = summarize(e2e_aa, [[] for _ in e2e_aa], False) if e2e_aa else {"n": 0}
    lines.append(("0 (A/A, reference:v1)", str(len(aa_sim)), "—",
                  fmt_rate(sum(bool(r["regressed_categories"]) for r in aa_sim), len(aa_sim)),
                  f"{np.mean([r['trials'] for r in aa_sim]):.0f}" if aa_sim else "—",
                  str(e_aa["n"]) if e_aa["n"] else "—", "—", fmt_rate(e_aa.get("other"), e_aa["n"]),
                  f"{e_aa['trials']:.0f}" if e_aa["n"] else "—", f"{e_aa['wall']:.0f}" if e_aa["n"] else "—"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    for j, row in enumerate(lines):
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)))
        if j == 0:
            print("-+-".join("-" * w for w in widths))
    print()

    # ---- targets
    for drop, goal in TARGETS.items():
        s = by_cell.get(drop)
        if s and s["n"]:
            e = summarize(e2e_drop, [r["categories"] for r in e2e_drop], False) if drop == 10 and e2e_drop else None
            extra = f"; end to end {fmt_rate(e['det'], e['n'])}" if e else ""
            print(f"target -{drop} detected >= {goal:.0%}: simulated {fmt_rate(s['det'], s['n'])} -> "
                  f"{'met' if s['det'] / s['n'] >= goal else 'NOT met'}{extra}")
    shares = [s["other"] / s["n"] for d, s in by_cell.items() if d != SPREAD and s["n"]]
    if shares:
        worst = max(shares)
        print(f"target other categories flagged <= {OTHER_TARGET:.0%}: worst simulated cell {100 * worst:.1f}% -> "
              f"{'met' if worst <= OTHER_TARGET else 'NOT met'}")

    # ---- A/A
    print()
    for name, rows in (("simulated", aa_sim), ("end to end", e2e_aa),
                       ("all", aa_sim + e2e_aa) if aa_sim and e2e_aa else ("", [])):
        if not rows:
            continue
        x, n = sum(r["any_cell"] for r in rows), len(rows)
        cat_x = sum(bool(r["regressed_categories"]) for r in rows)
        print(f"A/A {name}: {n} gates of reference:v1 (seeds != 0) against its baseline: false alarm (any gated "
              f"cell regressed) {x}/{n} = {100 * x / n:.1f}%, one-sided 95% Clopper-Pearson upper bound "
              f"{100 * cp_upper(x, n):.1f}% (target <= {AA_TARGET:.0%}); a category flagged in {cat_x}/{n}")
    if e2e_drop:
        wrong = sum(r["sabotaged_wrong"] for r in e2e_drop)
        total = sum(r["sabotaged_trials"] for r in e2e_drop)
        sc = [r["sabotaged_score"] for r in e2e_drop if r["sabotaged_trials"]]
        print(f"end-to-end sabotage check: {wrong}/{total} trials of sabotaged scenarios answered wrong (rca_top1 "
              f"= 0), their mean rca_score {np.mean(sc) if sc else float('nan'):.3f}; builds e.g. "
              f"{e2e_drop[0]['build']}")

    # ---- cost
    print()
    fixed1, fixedk = pool_total, pool_total * 3
    aa_mean = np.mean([r["trials"] for r in aa_sim]) if aa_sim else float("nan")
    d10 = by_cell.get(10, {}).get("trials", float("nan"))
    if aa_sim:
        print(f"cost: the fixed design runs the whole pool in one shot: {fixed1:,} trials at k=1 ({fixedk:,} at k=3). "
              f"The sequential gate spent on average {aa_mean:.0f} trials on an unchanged build "
              f"({100 * aa_mean / fixed1:.0f}% of k=1) and {d10:.0f} on a -10 build ({100 * d10 / fixed1:.0f}%).")
    if e2e_note:
        print(f"end to end: {e2e_note}")
    total = time.perf_counter() - t_start
    print(f"wall: simulator {t_sim:.0f} s ({len(sims)} gates, {args.sim_jobs} processes), end to end {t_e2e:.0f} s "
          f"({len(e2e_drop) + len(e2e_aa)} gates, --jobs {args.jobs}){'' if args.serial else ', side by side'}, "
          f"total {total:.0f} s")


if __name__ == "__main__":
    main()
