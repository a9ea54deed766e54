"""`evalkit world serve`: one scenario's world over MCP, for exploring it with any MCP client (thin over
evalkit.agents.mcp_serve; the mcp SDK is imported only when the command runs)."""

from __future__ import annotations

import click

from evalkit.errors import UserError


@click.group("world")
def world() -> None:
    """Explore a scenario's replayed world.

    \b
    Examples:
      evalkit world serve --suite smoke --scenario database-slow-query-001
      evalkit world serve --suite smoke --scenario database-slow-query-001 --http 8765
    """


@world.command("serve")
@click.option("--suite", required=True, help="Suite (a path or a name such as smoke).")
@click.option("--scenario", "scenario_id", required=True, help="Scenario id (`evalkit suite show SUITE` lists them).")
@click.option("--http", "http_port", type=click.IntRange(0, 65535), default=None,
              help="Serve streamable HTTP on 127.0.0.1:PORT (0 = any free port) instead of stdio.")
@click.option("--max-calls", type=click.IntRange(min=1), default=None,
              help="Tool-call budget (default: the scenario's, as in a run).")
def serve(suite: str, scenario_id: str, http_port: int | None, max_calls: int | None) -> None:
    """Serve the world of one scenario over MCP (stdio by default) until the client disconnects or Ctrl-C.

    The tools are those an agent gets in a run (with their schemas and the scenario's call budget) plus
    submit_finding, which checks a finding without scoring it. The truth is never served. In a client's
    config: {"mcpServers": {"evalkit": {"command": "evalkit", "args": ["world", "serve", ...]}}}.

    \b
    Examples:
      evalkit world serve --suite smoke --scenario database-slow-query-001
      evalkit world serve --suite smoke --scenario database-slow-query-001 --http 0
    """
    import importlib.util

    from evalkit.agents.mcp_serve import serve_world

    if importlib.util.find_spec("mcp") is None:
        raise UserError.at("world serve", "", "mcp", "the MCP SDK is not installed; pip install 'evalkit[mcp]'")
    serve_world(suite, scenario_id, http_port=http_port, max_calls=max_calls, announce=lambda s: click.echo(s, err=True))
