"""Names evalkit uses in MLflow: experiments, tag keys, metric keys (sanitised to MLflow's allowed set).

Metric keys are ``<metric>.<stat>.<category>``, e.g. ``rca_top1.mean.database/slow-query``: MLflow allows
letters, digits, ``_ - . / space`` (and ``:`` off Windows), so categories keep their ``/``; any other
character becomes ``_`` and path-like oddities (``//``, leading ``/``, ``..``) are flattened.
"""

from __future__ import annotations

import re

from evalkit.errors import UserError
from evalkit.vocab import Role, values
from evalkit.workspace import DEFAULT_ALIAS as DEFAULT_ALIAS  # the store's default alias is the workspace's

EXPERIMENT_PREFIX = "evalkit/"
PROMOTIONS_EXPERIMENT = "evalkit-promotions"
ROLES = values(Role)
#: MLflow run statuses evalkit sets and reads (an active run is still being written, or was left so).
RUN_FINISHED, RUN_FAILED = "FINISHED", "FAILED"
RUN_ACTIVE = ("RUNNING", "SCHEDULED")

# tags on evaluation runs
TAG_SUITE = "evalkit.suite"
TAG_SUITE_HASH = "evalkit.suite_hash"
TAG_BUILD = "evalkit.build_id"
TAG_ROLE = "evalkit.role"
TAG_GIT_SHA = "evalkit.git_sha"
TAG_BRANCH = "evalkit.branch"
TAG_PR = "evalkit.pr"
TAG_KEY = "evalkit.idempotency_key"
TAG_OUTCOME = "evalkit.outcome"  # complete | failed
TAG_IMPORTED_FROM = "evalkit.imported_from_run"
TAG_SOURCE = "evalkit.source"  # direct | outbox | import
TAG_UPLOADED = "evalkit.uploaded"  # "true" once every artifact of the run is logged
TAG_UPLOADER = "evalkit.uploader"  # host:pid:process-start of the upload that created the run
TAG_UPLOAD_STARTED = "evalkit.upload_started"  # epoch seconds when that upload began
# the gate's decision on its candidate run, so failed gates can be searched for in MLflow (docs/mlflow.md)
TAG_GATE_VERDICT = "evalkit.gate.verdict"  # regressed | improved | not-worse | within-delta | inconclusive
TAG_GATE_EXIT = "evalkit.gate.exit_code"
TAG_GATE_DESIGN = "evalkit.gate.design"  # sequential | fixed
TAG_GATE_REGRESSED = "evalkit.gate.regressed"  # "category:metric" cells, comma-separated
TAG_GATE_BASELINE = "evalkit.gate.baseline_build"
TAG_GATE_BASELINE_RUN = "evalkit.gate.baseline_run"  # MLflow run id, or export:<manifest path>
TAG_GATE_POLICY_HASH = "evalkit.gate.policy_hash"  # evalkit.compare.policy_hash: 12 hex digits of sha256
TAG_GATE_POLICY = "evalkit.gate.policy"  # where the policy was read from (a policy.toml, or the default)
# tags on the builds of a generated history (evalkit.drift.history)
TAG_HISTORY_PHASE = "evalkit.history.phase"
TAG_HISTORY_LABEL = "evalkit.history.label"
TAG_HISTORY_INDEX = "evalkit.history.index"
TAG_HISTORY_SUITE_PATH = "evalkit.history.suite_path"  # where the (subset) suite folder is, for the answer key
# tags on promotion records (runs of the promotions experiment)
TAG_P_SUITE = "evalkit.promotion.suite"
TAG_P_ALIAS = "evalkit.promotion.alias"
TAG_P_RUN = "evalkit.promotion.run_id"
TAG_P_SUITE_HASH = "evalkit.promotion.suite_hash"
TAG_P_BUILD = "evalkit.promotion.build_id"
TAG_P_TS = "evalkit.promotion.ts"
TAG_P_WHO = "evalkit.promotion.who"
TAG_P_REASON = "evalkit.promotion.reason"

# MLflow traces of investigations (evalkit.labels; the convention is documented in docs/labels.md)
TRACE_EXPERIMENT = "evalkit-traces"
TRACE_TAG_SCENARIO = "evalkit.scenario_id"  # the incident the trace investigated (traces of one incident agree)
TRACE_TAG_TRIAL = "evalkit.trial"
TRACE_TAG_CATEGORY = "evalkit.category"
SPAN_ATTR_REFS = "evalkit.tool.refs"  # the signals a tool call looked at (Toolbox ref form)
SPAN_ATTR_ERROR = "evalkit.tool.error"
SPAN_ATTR_SIZE = "evalkit.tool.result_size"  # bytes of the result's JSON
# assessments on traces read by `evalkit label harvest`
ASSESS_ROOT_CAUSE = "root_cause"  # expectation or feedback {"component", "fault_type"}: the correct answer
ASSESS_CORRECT = "root_cause_correct"  # feedback bool: thumbs-up / thumbs-down on the agent's answer
ASSESS_COMMENT = "comment"  # feedback str: free text

# artifact paths inside a run
ARTIFACT_TABLE = "results/results.parquet"
ARTIFACT_TRAJECTORIES = "trajectories/trajectories.jsonl.gz"
ARTIFACT_META = "meta/meta.json"
ARTIFACT_AGGREGATES = "results/aggregates.parquet"
ARTIFACT_REPORTS = "reports"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_BAD_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.\- /]")
MAX_KEY_LENGTH = 250


def check_name(value: str, where: str, field: str) -> str:
    """Suite names and aliases: letters, digits, ``_ . -`` (they go into filters, paths and tags)."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or len(value) > 100:
        raise UserError.at(where, field, value,
                           "use letters, digits, '_', '.' or '-' (starting with a letter or digit)")
    return value


def experiment_name(suite: str) -> str:
    return f"{EXPERIMENT_PREFIX}{suite}"


def sanitize_key(name: str) -> str:
    """Map ``name`` to a valid, unique-as-a-path MLflow metric/param key."""
    key = _BAD_KEY_CHARS.sub("_", str(name))
    key = re.sub(r"/{2,}", "/", key).strip("/")
    key = "/".join("_" if part in (".", "..") else part for part in key.split("/"))
    return key[:MAX_KEY_LENGTH] or "_"


def metric_key(metric: str, stat: str, category: str) -> str:
    """``<metric>.<stat>.<category>``, sanitised (see module docstring)."""
    return sanitize_key(f"{metric}.{stat}.{category}")
