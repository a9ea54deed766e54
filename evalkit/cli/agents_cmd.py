"""`evalkit agents`: list the built-in agent builds and the spec forms; `describe SPEC` resolves one spec.
The agent modules (numpy and friends) are imported inside the commands, so `--help` stays instant."""

from __future__ import annotations

import json

import click

from evalkit.vocab import SandboxMode, values


@click.group("agents", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def agents(ctx: click.Context, as_json: bool) -> None:
    """List the built-in agent builds (reference:<version>) and the agent spec forms.

    \b
    Examples:
      evalkit agents
      evalkit agents describe 'cmd:node examples/agents/node/agent.js'
    """
    if ctx.invoked_subcommand is not None:
        return
    from evalkit.agents.spec import SPEC_FORMS, reference_builds

    builds = reference_builds()
    if as_json:
        click.echo(json.dumps({"builds": {f"reference:{v}": flags for v, flags in (builds or {}).items()},
                               "spec_forms": [{"form": f, "description": d} for f, d in SPEC_FORMS]},
                              indent=2, sort_keys=True, default=str))
        return
    click.echo("Built-in builds:")
    if builds is None:
        click.echo("  (the reference investigator is not installed)")
    for version, flags in (builds or {}).items():
        summary = ", ".join(f"{k}={v}" for k, v in _changed_flags(builds, flags).items())
        click.echo(f"  reference:{version:<8} {summary or 'baseline flags'}")
    click.echo("\nSpec forms:")
    width = max(len(f) for f, _ in SPEC_FORMS)
    for form, description in SPEC_FORMS:
        click.echo(f"  {form:<{width}}  {description}")
    click.echo("\nProtocol and options: docs/agent-protocol.md")


def _changed_flags(builds: dict, flags: dict) -> dict:
    """Flags where a build differs from the first (baseline) build; none for the baseline itself."""
    first = next(iter(builds.values()))
    if flags is first or not isinstance(flags, dict) or not isinstance(first, dict):
        return {}
    return {k: v for k, v in flags.items() if first.get(k) != v}


@agents.command("describe")
@click.argument("spec")
@click.option("--timeout", "timeout_s", type=float, default=None, help="Investigation timeout in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def describe(spec: str, timeout_s: float | None, as_json: bool) -> None:
    """Resolve SPEC to an agent build and print its build id (checks the spec without running it).

    \b
    Examples:
      evalkit agents describe reference:v2
      evalkit agents describe mypkg.agent:build --json
      evalkit agents describe 'cmd:node examples/agents/node/agent.js' --timeout 30
    """
    from evalkit.agents.spec import load_agent

    options = {} if timeout_s is None else {"timeout_s": timeout_s}
    agent = load_agent(spec, **options)
    build = agent.build
    doc = {"spec": spec, "build_id": str(build), "name": build.name, "version": build.version,
           "config_hash": build.config_hash, "git_sha": build.git_sha, "dirty": build.dirty,
           "config": build.config,
           "adapter": type(agent).__name__, "timeout_s": getattr(agent, "timeout_s", None),
           "deterministic": bool(getattr(agent, "deterministic", False))}
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True, default=str))
        return
    for key in ("spec", "build_id", "adapter", "name", "version", "git_sha", "dirty", "timeout_s", "deterministic"):
        click.echo(f"{key + ':':<15}{doc[key]}")
    click.echo(f"{'config:':<15}{json.dumps(build.config, sort_keys=True, default=str)}")


@agents.command("check")
@click.argument("spec")
@click.option("--suite", default="smoke", show_default=True, help="Suite to take the scenario from.")
@click.option("--scenario", default=None, help="Scenario id (default: the suite's first).")
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True,
              help="Investigation timeout in seconds.")
@click.option("--sandbox", "sandbox_mode", type=click.Choice(values(SandboxMode)), default=SandboxMode.ON.value,
              show_default=True, help="Sandbox for cmd: agents (as for evalkit run).")
@click.option("--agent-env", "agent_env", multiple=True, help="Pass this variable to the agent (repeatable).")
@click.option("--agent-path", "agent_paths", multiple=True, help="Show this path to the sandboxed agent (repeatable).")
def check(spec, suite, scenario, timeout_s, sandbox_mode, agent_env, agent_paths) -> None:
    """Try SPEC on one scenario and print the protocol exchange, the finding or the failure, and stderr.
    Exit 0 when the agent returned a valid finding, 2 when it failed.

    \b
    Examples:
      evalkit agents check 'cmd:bash my_agent.sh'
      evalkit agents check 'cmd:python agent.py' --suite core --scenario database-slow-query-001
    """
    from evalkit.agents.check import check_agent, format_check
    from evalkit.run.config import SandboxConfig

    settings = SandboxConfig(mode=sandbox_mode, env=agent_env, paths=agent_paths).settings()
    result = check_agent(spec, suite=suite, scenario=scenario, timeout_s=timeout_s, sandbox=settings)
    click.echo(format_check(result))
    if not result.ok:
        raise click.exceptions.Exit(2)
