#!/usr/bin/env python3
"""An evalkit example agent that speaks MCP, built on the official `mcp` client SDK (pip install mcp).

evalkit starts it with EVALKIT_MCP_CONFIG (a client config file, {"mcpServers": {"evalkit": ...}}) and
EVALKIT_TRIAL (the alert, seed and call budget); see docs/mcp.md. It connects to the `evalkit` server the
config names (a stdio command, or a streamable-HTTP url), runs the strategy of strategy.py through MCP tool
calls, and ends the investigation with `submit_finding`. Logs go to stderr.

    evalkit run --suite smoke --agent 'mcp:python examples/agents/mcp/agent.py'
    evalkit run --suite smoke --agent 'mcp+http:python examples/agents/mcp/agent.py'
"""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters

from strategy import investigate

REFS_KEY = "evalkit/refs"


def server_target(config_path):
    """What `mcp.Client` connects to: the url or the stdio command of the config's `evalkit` server."""
    with open(config_path) as fh:
        entry = json.load(fh)["mcpServers"]["evalkit"]
    if "url" in entry:
        return entry["url"]
    return StdioServerParameters(command=entry["command"], args=entry.get("args", []), env=entry.get("env"))


async def main():
    with open(os.environ["EVALKIT_TRIAL"]) as fh:
        trial = json.load(fh)
    async with Client(server_target(os.environ["EVALKIT_MCP_CONFIG"])) as client:
        loop = asyncio.get_running_loop()

        async def call_async(tool, args):
            result = await client.call_tool(tool, args)
            if result.is_error:
                print(f"{tool} failed: {result.content[0].text}", file=sys.stderr)
                return None, []
            return json.loads(result.content[0].text), (result.meta or {}).get(REFS_KEY, [])

        def call(tool, args):  # the strategy is synchronous: it runs in a thread, each call on the client's loop
            return asyncio.run_coroutine_threadsafe(call_async(tool, args), loop).result()

        finding = await asyncio.to_thread(investigate, call, trial)
        print(finding["summary"], file=sys.stderr)
        await client.call_tool("submit_finding", finding)


if __name__ == "__main__":
    asyncio.run(main())
