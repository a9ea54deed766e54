"""Import the PetShop root-cause dataset (Amazon Science, CC-BY-4.0) as an evalkit suite.

Each of the 68 labelled issues (4 traffic scenarios x train/test) becomes one scenario:

* components: the call graph's 41 X-Ray nodes folded to the service level (a Lambda's invocation,
  function and handler nodes are one service; ECS task nodes are their service), with clean names;
* metrics on a 5-minute grid: an hour of the scenario's normal-operation recording (``noissue``, same
  time of day, re-timed to end where the issue window starts: the dataset's own "normal metrics"),
  then the 25-minute issue window; latency in ms, ``requests_per_s``, ``error_rate_pct`` = 100 -
  availability. The two temporal scenarios have no normal recording upstream: their worlds are
  the issue window only;
* the alert: the dataset's target KPI (``PetSite`` average latency or availability) at its timestamp;
* the truth (separate file): the root-cause node folded to its service, the original node names as
  aliases, and a fault type/category derived from the injection command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evalkit.parallel import consume
from evalkit.suite.importers.common import (
    ImportResult, SuiteStage, WorldFiles, fail, read_csv, read_json, robust_threshold,
)

IMPORTER_ID = "evalkit-import-petshop/1"
TRAFFIC = ("low_traffic", "high_traffic", "temporal_traffic1", "temporal_traffic2")
SPLITS = ("train", "test")
STEP = 300
#: 5-minute rows of normal operation placed before each issue window (one hour).
HISTORY_ROWS = 12

ATTRIBUTION = ("PetShop root cause analysis dataset, Amazon Science, licensed CC-BY-4.0 "
               "(Copyright Amazon.com, Inc. or its affiliates); "
               "https://github.com/amazon-science/petshop-root-cause-analysis, commit 1c5992d")
#: ATTRIBUTION.md of an imported suite
ATTRIBUTION_MD = (
    "# Data attribution\n\n"
    f"This suite is derived from the {ATTRIBUTION}.\n\n"
    "Licence: Creative Commons Attribution 4.0 International (CC-BY-4.0); the upstream LICENSE and NOTICE\n"
    "files are kept next to this file. Changes made by evalkit's importer (`evalkit suite import petshop`):\n"
    "X-Ray nodes folded to services and renamed, metrics converted (s -> ms, 5-minute sums -> per second,\n"
    "availability -> error rate), an hour of the normal-operation recording re-timed before each issue\n"
    "window, alerts and truth files derived from target.json. See docs/real-suites.md.\n"
)

#: (regex on the injection command, category, fault type) - first match wins.
FAULT_RULES: tuple[tuple[str, str, str], ...] = (
    (r"issue_dynamo_db_requests", "capacity/request-overload", "request_overload"),
    (r"sed .*sleep\(", "code-defect/slow-code", "code_delay"),
    (r"sed .*inject = ", "code-defect/failing-code", "code_errors"),
    (r"put-parameter .*/petstore/(delaymode\d*|searchdelay)\b", "latency/delay-injection", "injected_delay"),
    (r"put-parameter .*/petstore/(errormode\d*|\w*errorpercent)\b", "errors/error-injection", "injected_errors"),
)

CATEGORIES = {
    "capacity/request-overload": "A request flood against a data store slows everything that reads it.",
    "code-defect/slow-code": "A code change deployed to a function adds a delay to every call.",
    "code-defect/failing-code": "A code change deployed to a function makes its calls fail.",
    "latency/delay-injection": "A runtime parameter makes one service delay its responses.",
    "errors/error-injection": "A runtime parameter makes one service fail a share of its requests.",
}

#: dataset metric/statistic -> (evalkit metric, unit, scale, offset): value' = offset + scale * value
METRIC_MAP: dict[tuple[str, str], tuple[str, str, float, float]] = {
    ("latency", "Average"): ("latency_avg_ms", "ms", 1000.0, 0.0),
    ("latency", "p50"): ("latency_p50_ms", "ms", 1000.0, 0.0),
    ("latency", "p90"): ("latency_p90_ms", "ms", 1000.0, 0.0),
    ("latency", "p95"): ("latency_p95_ms", "ms", 1000.0, 0.0),
    ("latency", "p99"): ("latency_p99_ms", "ms", 1000.0, 0.0),
    ("requests", "Sum"): ("requests_per_s", "req/s", 1.0 / STEP, 0.0),
    ("availability", "Average"): ("error_rate_pct", "%", -1.0, 100.0),
}
#: the role prefix of a folded node's metrics (the service's main node has none).
ROLE_PREFIX = {"main": "", "function": "", "invocation": "invocation_", "handler": "handler_"}


@dataclass(frozen=True)
class Node:
    """Where one X-Ray node of the call graph lands: its service-level component and its role there."""

    component: str
    role: str
    kind: str
    tier: str


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", s.lower()).strip("-")


def _host(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-")


def fold_nodes(names: list[str]) -> dict[str, Node]:
    """Map every X-Ray node name to its service-level component (deterministic, collision-checked)."""
    lambdas = {m.group(1) for n in names for m in [re.match(r"^(.+)_AWS::Lambda(::Function)?$", n)] if m}
    out: dict[str, Node] = {}
    for n in names:
        if m := re.match(r"^(.+)_AWS::Lambda::Function$", n):
            node = Node(_slug(m.group(1)), "function", "service", "service")
        elif m := re.match(r"^(.+)_AWS::Lambda$", n):
            node = Node(_slug(m.group(1)), "invocation", "service", "service")
        elif n in lambdas:
            node = Node(_slug(n), "handler", "service", "service")
        elif m := re.match(r"^(.+)_AWS::ECS::(Fargate|Container)$", n):
            node = Node(_slug(m.group(1)), "main", "service", "service")
        elif m := re.match(r"^(.+)_client$", n):
            node = Node(_slug(m.group(1)) + "-client", "main", "client", "edge")
        elif (m := re.match(r"^(.+)_AWS::DynamoDB(::Table)?$", n)) and m.group(1) != "DynamoDB":
            node = Node(_slug(m.group(1)) + "-table", "main", "database", "data")
        elif m := re.match(r"^(.+?)(/[^/]*)?_AWS::ApiGateway::Stage$", n):
            node = Node(_slug(m.group(1)) + "-api", "main", "gateway", "edge")
        elif m := re.match(r"^([^@]+)@.*_Database::SQL$", n):
            node = Node(_slug(m.group(1)) + "-db", "main", "database", "data")
        elif m := re.match(r"^.*/([^/]+)_AWS::SQS::Queue$", n):
            node = Node(_slug(m.group(1)), "main", "queue", "messaging")
        elif n == "AWS::StepFunctions::StateMachine":
            node = Node("stepfunctions-statemachine", "main", "workflow", "service")
        elif m := re.match(r"^(.+)_remote$", n):
            node = Node(_host(m.group(1)), "main", "external", "external")
        elif m := re.match(r"^([A-Za-z0-9]+)_AWS::([A-Za-z0-9]+)$", n):
            node = Node(_slug(m.group(1)), "main", "external", "external")
        else:
            node = Node(_slug(n) or _host(n), "main", "service", "edge" if n == "PetSite" else "service")
        out[n] = node
    seen: dict[tuple[str, str], str] = {}
    for n in sorted(out):
        key = (out[n].component, out[n].role)
        other = seen.setdefault(key, n)
        # two upstream spellings of one node (graph vs metrics) may share a component and role
        if other != n and not (out[n].kind == "database" and out[other].kind == "database"):
            raise fail(n, "node", n, f"folds onto the same component as '{other}'; extend "
                                     "evalkit.suite.importers.petshop.fold_nodes")
    return out


def classify(command: str) -> tuple[str, str] | None:
    """(category, fault type) of an injection command, or None when no rule knows it."""
    return next(((category, fault) for pattern, category, fault in FAULT_RULES if re.search(pattern, command)), None)


# --- reading the dataset ---------------------------------------------------------------------------------

def _dataset_dir(source: Path) -> tuple[Path, Path]:
    """(folder holding the traffic scenarios, folder holding LICENSE/NOTICE)."""
    for data, lic in ((source / "dataset", source), (source, source.parent)):
        if any((data / t / "graph.csv").is_file() for t in TRAFFIC):
            return data, lic
    raise fail(source, "SOURCE_DIR", str(source), "not a PetShop dataset folder (no dataset/<traffic>/graph.csv "
                                                  "for any of " + ", ".join(TRAFFIC) + "); give the folder that "
                                                  "holds LICENSE and dataset/")


def _read_graph(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    df = read_csv(path, index_col=0)
    names = [str(c) for c in df.columns]
    if [str(i) for i in df.index] != names:
        raise fail(path, "rows", ",".join(map(str, df.index[:3])), "the adjacency matrix must list the same "
                                                                   "nodes as rows and columns")
    import pandas as pd

    vals = df.apply(pd.to_numeric, errors="coerce")
    if vals.isna().to_numpy().any():
        r, c = (int(x[0]) for x in np.nonzero(vals.isna().to_numpy()))
        raise fail(path, f"row {names[r]!r} column {names[c]!r}", str(df.iloc[r, c]),
                   "the adjacency matrix holds 0/1 values; restore the file from the upstream dataset")
    vals = vals.to_numpy(dtype=float)
    src, dst = np.nonzero(vals != 0)
    return names, [(names[i], names[j]) for i, j in zip(src.tolist(), dst.tolist())]


def _read_metrics(path: Path):
    """The three-header-row metrics table: columns (node, metric, statistic), index = epoch seconds."""
    import pandas as pd

    df = read_csv(path, header=[0, 1, 2], index_col=0)
    if not isinstance(df.columns, pd.MultiIndex) or df.columns.nlevels != 3:
        raise fail(path, "header", "", "expected three header rows (microservice, metric, statistic)")
    known = {k[0] for k in METRIC_MAP}
    if bad := [c for c in df.columns if c[1] not in known]:
        raise fail(path, "metric", str(bad[0][1]), f"unknown metric; expected one of {sorted(known)}")
    idx = pd.to_numeric(pd.Series(df.index.astype(str)), errors="coerce")
    if idx.isna().any() or len(idx) == 0:
        i = int(np.argmax(idx.isna().to_numpy())) if len(idx) else 0
        raise fail(path, f"unix_timestamp (row {i + 5})", str(df.index[i]) if len(idx) else "no rows",
                   "expected epoch seconds; the file is corrupt, restore it from the upstream dataset")
    df.index = idx.astype("int64").to_numpy()
    try:
        df = df.apply(pd.to_numeric, errors="raise")
    except (ValueError, TypeError) as exc:
        raise fail(path, "values", str(exc).split(":")[-1].strip()[:60], "expected numbers; the file is corrupt, "
                                                                        "restore it from the upstream dataset")
    steps = np.diff(df.index.to_numpy())
    if len(steps) and not (steps == STEP).all():
        raise fail(path, "unix_timestamp", str(int(steps[steps != STEP][0])), f"rows must be {STEP} s apart")
    return df


def _check_target(doc: object, path: Path) -> dict:
    try:
        t = doc["target"]
        return {"node": str(t["node"]), "metric": str(t["metric"]), "agg": str(t["agg"]), "ts": int(t["timestamp"]),
                "cause": str(doc["root_cause"]["node"]),
                "command": str(doc["metadata"]["reproducibility"]["command"])}
    except (KeyError, TypeError, ValueError) as exc:
        raise fail(path, "target/root_cause/metadata", f"missing or malformed {exc}",
                   "needs target.{node,metric,agg,timestamp}, root_cause.node and metadata.reproducibility.command")


# --- building worlds -------------------------------------------------------------------------------------

def _long(df, nodes: dict[str, Node], ts: np.ndarray) -> list[tuple[int, str, str, float]]:
    rows = []
    for col in df.columns:
        node, metric, stat = (str(x) for x in col)
        spec = METRIC_MAP.get((metric, stat))
        if spec is None or node not in nodes:
            continue
        name, _, scale, offset = spec
        nd = nodes[node]
        vals = offset + scale * df[col].to_numpy(dtype=float)
        full = ROLE_PREFIX[nd.role] + name
        rows.extend((int(t), nd.component, full, float(v)) for t, v in zip(ts.tolist(), vals.tolist())
                    if not np.isnan(v))
    return rows


def _history(normal, issue_start: int):
    """The HISTORY_ROWS normal rows at the time of day just before ``issue_start`` (latest such block)."""
    if normal is None or len(normal) < HISTORY_ROWS:
        return None
    tod = (normal.index.to_numpy() % 86400)
    want = (issue_start - STEP) % 86400
    gap = np.abs(((tod - want) + 43200) % 86400 - 43200)
    order = np.lexsort((-np.arange(len(tod)), gap))        # nearest time of day, latest first
    for i in order.tolist():
        if i + 1 >= HISTORY_ROWS:
            return normal.iloc[i + 1 - HISTORY_ROWS:i + 1]
    return None


def import_petshop(source: str | Path, out: str | Path, *, name: str = "real-petshop", force: bool = False,
                   progress=None) -> ImportResult:
    """Import the PetShop dataset at ``source`` (the folder with LICENSE and dataset/) into suite ``out``."""
    source = Path(source)
    if not source.is_dir():
        raise fail(source, "SOURCE_DIR", str(source), "no such folder; give the PetShop dataset folder")
    data, lic_dir = _dataset_dir(source)
    licence = lic_dir / "LICENSE"
    if not licence.is_file():
        raise fail(licence, "", "missing", "keep the upstream LICENSE (CC-BY-4.0) next to dataset/; the imported "
                                           "suite must carry it")
    skipped: list[tuple[str, str]] = []
    cases = []
    for traffic in TRAFFIC:
        folder = data / traffic
        if not folder.is_dir():
            skipped.append((traffic, "traffic scenario folder missing"))
            continue
        names, edges = _read_graph(folder / "graph.csv")
        normal_path = folder / "noissue" / "metrics.csv"
        normal = _read_metrics(normal_path) if normal_path.is_file() else None
        for split in SPLITS:
            issues = sorted((p for p in (folder / split).glob("issue_*") if p.is_dir()),  # none without the folder
                            key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
            for idir in issues:
                case = f"{traffic}/{split}/{idir.name}"
                if missing := [f for f in ("metrics.csv", "target.json") if not (idir / f).is_file()]:
                    skipped.append((case, f"missing {', '.join(missing)}"))
                    continue
                target = _check_target(read_json(idir / "target.json", "restore target.json"), idir / "target.json")
                metrics = _read_metrics(idir / "metrics.csv")
                cases.append((traffic, split, idir, case, names, edges, normal, target, metrics))

    with SuiteStage(out, force) as stage:
        stage.write_suite_toml(
            name, "1.0.0",
            f"Real incidents: the {len(cases)} labelled issues of the PetShop RCA dataset (AWS, X-Ray metrics). "
            f"Data: {ATTRIBUTION}.",
            {"importer": IMPORTER_ID, "source": "amazon-science/petshop-root-cause-analysis@1c5992d",
             "licence": "CC-BY-4.0", "attribution": ATTRIBUTION, "history_rows": HISTORY_ROWS},
            CATEGORIES)
        for traffic, split, idir, case, names, edges, normal, target, metrics in consume(cases, progress, len(cases)):
            reason = _add_case(stage, traffic, split, idir, names, edges, normal, target, metrics)
            if reason:
                skipped.append((case, reason))
        stage.add_file("LICENSE", licence.read_bytes())
        if (lic_dir / "NOTICE").is_file():
            stage.add_file("NOTICE", (lic_dir / "NOTICE").read_bytes())
        stage.add_file("ATTRIBUTION.md", ATTRIBUTION_MD)
        return stage.finish(skipped)


def _add_case(stage: SuiteStage, traffic, split, idir: Path, names, edges, normal, target, metrics) -> str | None:
    """Write one scenario; returns a reason when the case cannot be imported."""
    import pandas as pd

    got = classify(target["command"])
    if got is None:
        return f"injection command not recognised: {target['command'][:60]}"
    category, fault = got
    all_names = sorted(set(names) | {str(c[0]) for c in metrics.columns}
                       | ({str(c[0]) for c in normal.columns} if normal is not None else set()))
    nodes = fold_nodes(all_names)
    for key, what in (("cause", "root-cause node"), ("node", "target node")):
        if target[key] not in nodes:
            return f"{what} '{target[key]}' is neither in the call graph nor in the metrics"
    issue_ts = metrics.index.to_numpy()
    start_issue, end = int(issue_ts[0]), int(issue_ts[-1]) + STEP
    hist = _history(normal, start_issue)
    rows = _long(metrics, nodes, issue_ts)
    start = start_issue
    if hist is not None:
        start = start_issue - HISTORY_ROWS * STEP
        rows += _long(hist, nodes, np.arange(start, start_issue, STEP))
    if not start <= target["ts"] < end:
        return f"target timestamp {target['ts']} lies outside the metrics window [{start_issue}, {end})"
    comps: dict[str, dict] = {}
    for node_name in all_names:
        nd = nodes[node_name]
        c = comps.setdefault(nd.component, {"name": nd.component, "kind": nd.kind, "tier": nd.tier,
                                            "xray_nodes": []})
        c["xray_nodes"].append(node_name)
    svc_edges = sorted({(nodes[a].component, nodes[b].component, "calls") for a, b in edges
                        if nodes[a].component != nodes[b].component})
    table = pd.DataFrame(rows, columns=["ts", "component", "metric", "value"])
    units = {ROLE_PREFIX[r] + v[0]: v[1] for v in METRIC_MAP.values() for r in ROLE_PREFIX}

    alert_comp = nodes[target["node"]].component
    spec = METRIC_MAP.get((target["metric"], target["agg"]))
    if spec is None:
        return f"target metric {target['metric']}/{target['agg']} has no evalkit mapping"
    alert_metric = ROLE_PREFIX[nodes[target["node"]].role] + spec[0]
    threshold, col = None, (target["node"], target["metric"], target["agg"])
    if normal is not None and col in normal.columns:
        base = spec[3] + spec[2] * normal[col].to_numpy(dtype=float)
        threshold = robust_threshold(base, floor=1.0 if spec[1] == "%" else 0.0)
    kpi = "latency" if target["metric"] == "latency" else "availability"
    mon_name = f"{alert_comp}-{kpi}-slo"
    monitor = {"name": mon_name, "component": alert_comp, "metric": alert_metric, "comparator": ">",
               "threshold": threshold, "state": "ALERT", "last_triggered": target["ts"],
               "history": [{"ts": target["ts"], "state": "ALERT"}]}
    what = "average latency is high" if kpi == "latency" else "availability dropped"
    alert = {"component": alert_comp, "metric": alert_metric, "fired_at": target["ts"], "monitor": mon_name,
             "title": f"{target['node']} {what}", "severity": "critical"}
    if threshold is not None:
        alert["threshold"] = threshold
    cause = nodes[target["cause"]]
    failing = category in ("errors/error-injection", "code-defect/failing-code")
    evidence_metric = "error_rate_pct" if failing else "latency_avg_ms"
    has = set(table[table.component == cause.component].metric)
    evidence = [f"metric:{cause.component}:{m}" for m in (evidence_metric, "requests_per_s")
                if m in has and (m != "requests_per_s" or fault == "request_overload")]
    truth = {"component": cause.component, "fault_type": fault, "evidence": evidence,
             "aliases": sorted(comps[cause.component]["xray_nodes"])}
    sid = f"{traffic}-{split}-{idir.name}"
    tags = [f"traffic:{traffic}", f"split:{split}", f"target:{kpi}", "downstream"
            if cause.component != alert_comp else "self",
            "history:normal-recording" if hist is not None else "history:none"]
    world = WorldFiles(list(comps.values()), svc_edges, table, units, monitors=[monitor])
    stage.add_scenario(sid, category, alert, (start, end, STEP), world, truth, tags,
                       f"PetShop {traffic}/{split}/{idir.name}: {target['node']} {target['metric']} "
                       f"({target['agg']}) alert; 5-minute X-Ray metrics.")
    return None
