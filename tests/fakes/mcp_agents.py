"""Scripted MCP client agents for tests/test_agent_mcp.py: one behaviour per mode (argv[1]), each an `mcp:`
agent built on the official SDK that connects to the server named in EVALKIT_MCP_CONFIG."""

import asyncio
import json
import os
import signal
import sys
import time


def target():
    from mcp import StdioServerParameters

    with open(os.environ["EVALKIT_MCP_CONFIG"]) as fh:
        entry = json.load(fh)["mcpServers"]["evalkit"]
    return entry["url"] if "url" in entry else StdioServerParameters(command=entry["command"], args=entry["args"])


def finding(component, **extra):
    return {"hypotheses": [{"component": component, "confidence": 0.9, "evidence": ["monitor:api-gateway"]}],
            "summary": "scripted", **extra}


async def run(mode):
    trial = json.load(open(os.environ["EVALKIT_TRIAL"]))
    if mode == "hang":  # never connects, never answers
        time.sleep(300)
    if mode == "exit":
        print("fatal: cannot continue", file=sys.stderr)
        sys.exit(3)
    if mode == "exit0":
        return
    if mode == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    from mcp import Client  # imported (about a second) only by the modes that connect

    async with Client(target()) as client:
        if mode == "env":
            print(json.dumps(dict(os.environ)), file=sys.stderr)
        if mode == "peek":  # can the agent see this path (argv[2])?
            print(json.dumps({"visible": os.path.exists(sys.argv[2])}), file=sys.stderr)
        if mode == "tools":  # what tools/list offers, then a normal answer
            print(json.dumps([t.model_dump(by_alias=True, exclude_none=True) for t in (await client.list_tools()).tools]),
                  file=sys.stderr)
        if mode == "budget":  # calls until the server ends the trial (it never stops by itself)
            while True:
                await client.call_tool("get_alert", {})
        if mode == "unknown_tool":
            await client.call_tool("read_ground_truth", {})
            time.sleep(300)
        if mode == "huge_call":  # one request of 2 MB: over the 1 MB message limit
            await client.call_tool("search_logs", {"query": "x" * 2_000_000})
            time.sleep(300)
        if mode == "hang_connected":
            await asyncio.sleep(300)
        alert = await client.call_tool("get_alert", {})
        if mode == "tool_error":  # a bad argument is an error result the agent may recover from
            bad = await client.call_tool("list_metrics", {"component": "no-such-component"})
            print(json.dumps({"is_error": bad.is_error, "text": bad.content[0].text}), file=sys.stderr)
        if mode == "malformed":
            await client.call_tool("submit_finding", {"hypotheses": "api-gateway"})
        elif mode == "unknown_component":
            await client.call_tool("submit_finding", finding("no-such-component"))
        else:
            print(json.dumps({"trial": trial, "alert_meta": alert.meta}), file=sys.stderr)
            await client.call_tool("submit_finding", finding("api-gateway", usage={"tokens_in": 12, "tokens_out": 3}))
    if mode == "linger":  # answered, then keeps running: evalkit ends it
        time.sleep(300)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1]))
