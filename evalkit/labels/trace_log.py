"""Log evalkit's own trials as MLflow traces: a root span per investigation (alert and window in, finding out),
a TOOL span per tool call (arguments in, result out, the signal refs as an attribute), scenario, trial, build
and suite as trace tags. This is the span convention `evalkit label harvest` reads (docs/labels.md).

The trial ran in a worker that kept only the trajectory (tool, arguments, refs); the results are recomputed here
by replaying each call on the scenario's world, which the Toolbox answers deterministically.
"""

from __future__ import annotations

import os
import time
from typing import Any

from evalkit.store import names
from evalkit.world.toolbox import ToolError, Toolbox


#: traces logged between waits for MLflow's export queue (its default bound is 1,000 queued traces)
FLUSH_EVERY = 100


def log_run_traces(result: Any, suite: Any, *, experiment: str = names.TRACE_EXPERIMENT,
                   tracking_uri: str | None = None) -> list[str]:
    """Log every trial of ``result`` (a RunResult of ``suite``) as one trace; returns the trace ids in order."""
    if (tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")).startswith("sqlite:"):
        # SQLite takes one writer at a time: MLflow's parallel trace exporters hit "database is locked" and
        # drop traces. One exporter thread (read when MLflow starts exporting) keeps every trace.
        os.environ.setdefault("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS", "1")
    import mlflow

    from evalkit.store.tracking import mlflow_tracking
    from evalkit.suite import load_suite, load_world

    suite_obj = load_suite(suite) if not hasattr(suite, "scenarios") else suite
    by_id = {s.id: s for s in suite_obj.scenarios}
    build = str(result.meta.get("build_id", ""))
    worlds: dict[str, Any] = {}
    ids: list[str] = []
    with mlflow_tracking(tracking_uri):
        exp = mlflow.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp is not None else mlflow.create_experiment(experiment)
        for traj in result.trajectories:
            scenario = by_id[traj["scenario_id"]]
            if scenario.id not in worlds:
                worlds = {scenario.id: load_world(scenario)}  # trajectories are sorted by scenario: keep one
            tags = {names.TRACE_TAG_SCENARIO: scenario.id, names.TRACE_TAG_TRIAL: str(traj["trial"]),
                    names.TRACE_TAG_CATEGORY: scenario.category,
                    names.TAG_BUILD: build, names.TAG_SUITE: suite_obj.name, names.TAG_SUITE_HASH: suite_obj.hash}
            window = {"start": scenario.window[0], "end": scenario.window[1], "step": scenario.step}
            ids.append(log_trial_trace(mlflow, exp_id, worlds[scenario.id], scenario.alert, window, traj, tags))
            if len(ids) % FLUSH_EVERY == 0:
                mlflow.flush_trace_async_logging()  # backpressure: a full export queue would discard traces
        mlflow.flush_trace_async_logging()
    return ids


def log_trial_trace(mlflow: Any, experiment_id: str, world: Any, alert: dict, window: dict, trajectory: dict,
                    tags: dict[str, str]) -> str:
    """One trial as one trace (see the module doc); returns its trace id."""
    from mlflow.entities import SpanType

    now = time.time_ns()
    root = mlflow.start_span_no_context("investigate", span_type=SpanType.AGENT, experiment_id=experiment_id,
                                        inputs={"alert": alert, "window": window}, tags=tags, start_time_ns=now)
    replay = Toolbox(world, max_calls=len(trajectory["calls"]) + 1)
    t = now
    for call in trajectory["calls"]:
        span = mlflow.start_span_no_context(call["tool"], span_type=SpanType.TOOL, parent_span=root,
                                            inputs=call["args"], start_time_ns=t,
                                            attributes={names.SPAN_ATTR_REFS: list(call.get("refs") or []),
                                                        names.SPAN_ATTR_SIZE: int(call.get("result_size") or 0)})
        try:
            out = replay.call(call["tool"], call["args"])
        except ToolError as exc:
            out = None
            span.set_attribute(names.SPAN_ATTR_ERROR, str(exc))
        t += int(float(call.get("duration_s") or 0.0) * 1e9) + 1
        span.end(outputs=out, end_time_ns=t)
    root.end(outputs={"finding": trajectory.get("finding")}, end_time_ns=max(t, now) + 1)
    return root.trace_id
