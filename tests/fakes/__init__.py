"""Test doubles shared by the agent tests: a hand-built World, scripted agents, a fake chat endpoint."""
