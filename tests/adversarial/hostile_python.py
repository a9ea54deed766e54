"""A hostile Python agent (``adversarial.hostile_python:investigate``): it looks for the truth from where it
runs — the working directory, the folders above its own file, its environment — and reports what it found
in its summary. In evalkit's process it finds the truth; isolated (``--isolate``) it must find nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from adversarial.hostile_agent import leaky, walk


def investigate(alert: dict, toolbox, seed: int) -> dict:
    leaks = walk(os.getcwd(), depth=5) + walk(str(Path(__file__).resolve().parents[2]), depth=5)
    leaks += [k for k, v in os.environ.items() if "adversarial-secret-value" in v]
    leaks += [f for f in (leaky("/proc/self/environ"), leaky(f"/proc/{os.getppid()}/environ")) if f]
    return {"hypotheses": [{"component": alert["component"], "confidence": 0.5}],
            "summary": json.dumps({"attack": "python", "leaks": leaks[:5]})}
