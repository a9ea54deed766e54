"""``evalkit label``: harvest production traces into candidate labels, validate, review and admit them."""

from __future__ import annotations

import sys

import click

from evalkit.cli.options import tracking_option


@click.group("label")
def label() -> None:
    """Turn investigations traced in MLflow plus user feedback into validated, hidden-truth scenarios.

    \b
    Examples:
      evalkit label harvest --experiment production --output-dir labels/
      evalkit label validate labels/ --policy label-policy.json --against suites/harvested
      evalkit label review labels/ --reviewer alice --html review.html
      evalkit label admit labels/ --suite suites/harvested
    See docs/labels.md for the span convention, the confidence parts and the policy file.
    """


@label.command("harvest")
@click.option("--experiment", required=True, help="MLflow experiment whose traces to read.")
@click.option("--output-dir", "out", required=True, type=click.Path(file_okay=False),
              help="Folder for the candidates.")
@click.option("--mapping", default=None, help="pkg.module:function reading a trace of another span convention.")
@click.option("--force", is_flag=True, help="Replace a non-empty --output-dir folder.")
@tracking_option
def harvest_cmd(experiment, out, mapping, force, tracking_uri) -> None:
    """Write a candidate label for every trace with root-cause feedback.

    \b
    Examples:
      evalkit label harvest --experiment production-investigations --output-dir labels/
      evalkit label harvest --experiment prod --output-dir labels/ --mapping mypkg.traces:read --force
    """
    from evalkit.labels.harvest import harvest
    from evalkit.labels.reading import load_mapping
    from evalkit.workspace import Workspace

    store = Workspace.resolve(tracking_uri=tracking_uri).store()
    store.require_existing()  # a reader: a mistyped store path is named, not created (with MLflow's log lines)
    uri = store.target.uri  # the URI itself: tracking_uri is its display form, without credentials
    res = harvest(experiment, out, tracking_uri=uri, mapping=load_mapping(mapping), force=force)
    click.echo(f"{len(res.candidates)} candidates from {res.traces} traces in {res.out} "
               f"({len(res.skipped)} skipped: no feedback or not an investigation)")


@label.command("validate")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--policy", "policy_path", default=None, help="Label policy JSON (default thresholds otherwise).")
@click.option("--against", default=None, help="A suite whose scenarios count as existing labels (duplication).")
@click.option("--jobs", type=int, default=2, show_default=True, help="Processes for the solvability investigations.")
def validate_cmd(folder, policy_path, against, jobs) -> None:
    """Score every candidate (specificity, support, consistency, leakage, duplication, solvability).

    \b
    Examples:
      evalkit label validate labels/
      evalkit label validate labels/ --policy label-policy.json --against suites/harvested --jobs 2
    """
    from evalkit.labels.policy import load_policy
    from evalkit.labels.validation import validate_folder
    from evalkit.parallel import check_jobs

    scores = validate_folder(folder, load_policy(policy_path), against=against, jobs=check_jobs("--jobs", jobs))
    flagged = sum(s.flagged for s in scores)
    click.echo(f"{len(scores)} candidates: {flagged} flagged for review, {len(scores) - flagged} above every "
               f"threshold, {sum(s.hard for s in scores)} hard; scores in {folder}/scores.json")


@label.command("review")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--reviewer", required=True, help="Who decides (recorded with every decision).")
@click.option("--log", "log_path", default=None, help="Decision log (default FOLDER/decisions.jsonl).")
@click.option("--policy", "policy_path", default=None, help="Label policy JSON (spot-check share and seed).")
@click.option("--html", "html_path", default=None, help="Also write the static review page here.")
def review_cmd(folder, reviewer, log_path, policy_path, html_path) -> None:
    """Review the queue: keys a(pprove) r(eject) e(dit) s(kip) q(uit); stdin lines when not a terminal.

    \b
    Examples:
      evalkit label review labels/ --reviewer alice --html review.html
      printf 'a\\nr vague feedback\\ne payments-db slow_query\\n' | evalkit label review labels/ --reviewer ci
    """
    from evalkit.labels.decisions import DecisionLog
    from evalkit.labels.policy import load_policy
    from evalkit.labels.review import review
    from evalkit.labels.review_html import write_review_html

    log = DecisionLog(log_path or f"{folder}/decisions.jsonl")
    answers = _keys() if sys.stdin.isatty() else iter(sys.stdin.readline, "")
    done = review(folder, log, reviewer, load_policy(policy_path), answers, click.echo)
    click.echo(f"{len(done.decided)} decided now, {len(done.auto_approved)} auto-approved, "
               f"{len(done.pending)} still open; log: {log.path}")
    if html_path:
        click.echo(f"review page: {write_review_html(folder, log, html_path)}")


def _keys():
    """Answers from single key presses; ``e`` then asks for the corrected truth, every key for a reason."""
    while True:
        key = click.getchar()
        if key.lower() == "q":
            yield "q"
            return
        if key.lower() not in "arse":
            continue
        rest = click.prompt("  component fault_type [why]" if key == "e" else "  why", default="", show_default=False)
        yield f"{key} {rest}"


@label.command("admit")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--suite", "suite_dir", required=True, type=click.Path(file_okay=False),
              help="Suite folder to create, or an existing harvested suite to extend (new version).")
@click.option("--log", "log_path", default=None, help="Decision log (default FOLDER/decisions.jsonl).")
@click.option("--name", default="harvested", show_default=True, help="Suite name of a new suite.")
def admit_cmd(folder, suite_dir, log_path, name) -> None:
    """Write the approved labels into a suite (truth hidden, provenance kept).

    \b
    Examples:
      evalkit label admit labels/ --suite suites/harvested
      evalkit label admit labels/ --suite suites/harvested --log labels/decisions.jsonl --name prod-labels
    """
    from evalkit.labels.admit import admit
    from evalkit.labels.decisions import DecisionLog

    res = admit(folder, DecisionLog(log_path or f"{folder}/decisions.jsonl"), suite_dir, name=name)
    click.echo(f"admitted {len(res.admitted)} labels ({len(res.hard)} hard) into {res.path} version {res.version} "
               f"hash {res.hash[:12]}")
