"""A hostile cmd: agent: ``hostile_agent.py ATTACK --project P --truth T --journal J --baseline B --extra X``.

It speaks the protocol honestly, but first tries one attack (or, with ATTACK ``all``, every attack in turn)
to find the ground truth (or evalkit's secrets) outside the tools. It answers with the alerting component
(a normal, usually wrong, answer) and reports every leak it found in its summary as JSON:
``{"attack": ..., "leaks": {attack: [...]}}``. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

#: bytes that only the truth, the results of a run or evalkit's environment contain.
MARKERS = (b'"distractors"', b"expected_component", b"EVALKIT_ADVERSARIAL_SECRET", b"adversarial-secret-value")
SKIP = ("/proc", "/sys", "/dev")
BUDGET_S = 20.0
DEADLINE = time.monotonic() + 120.0  # all attacks together


def leaky(path: str) -> str | None:
    """A description of the leak if ``path`` is a readable file holding truth, results or secrets."""
    try:
        if "/fd/" in path and os.readlink(path).startswith(("pipe:", "socket:", "anon_inode:", "/dev/")):
            return None  # reading a pipe would block
    except OSError:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(4 << 20)
    except OSError:
        return None
    for marker in MARKERS:
        if marker in data:
            return f"{path}: {marker.decode()}"
    return None


def walk(root: str, depth: int = 4, deadline: float | None = None) -> list[str]:
    """Leaks in files under ``root`` (bounded depth and time; stops at the first leak)."""
    deadline = min(deadline or time.monotonic() + BUDGET_S, DEADLINE)
    root = root.rstrip("/") or "/"
    base = root.count("/")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if time.monotonic() > deadline:
            break
        if dirpath.count("/") - base >= depth:
            dirnames[:] = []
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in SKIP]
        for name in filenames:
            if name.endswith((".json", ".jsonl", ".parquet", ".toml", ".db", ".txt")) or "environ" in name:
                found = leaky(os.path.join(dirpath, name))
                if found:
                    return [found]
    return []


ATTACKS = ["proc_parent", "proc_all", "dotdot", "absolute", "find_root", "journal", "baseline", "dot_evalkit",
           "reports", "environment", "fds", "whitelist_escape", "symlink_escape", "tmp_and_home", "proc_root_escape"]


def attack(name: str, a: argparse.Namespace) -> list[str]:
    ppid = os.getppid()
    if name == "proc_parent":  # /proc/$PPID/{cwd,root,cmdline,environ}
        out = [f for f in (leaky(f"/proc/{ppid}/environ"), leaky(f"/proc/{ppid}/cmdline")) if f]
        for link in ("cwd", "root"):
            out += walk(f"/proc/{ppid}/{link}", depth=4)
        return out
    if name == "proc_all":  # every visible process: environment, working folder, open files
        out, budget = [], time.monotonic() + BUDGET_S
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            out += [f for f in (leaky(f"/proc/{pid}/environ"),) if f]
            out += walk(f"/proc/{pid}/cwd", depth=3, deadline=budget)
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                fds = []
            out += [f for f in (leaky(f"/proc/{pid}/fd/{fd}") for fd in fds) if f]
            if out:
                return out
        return out
    if name == "dotdot":  # climb out of the working folder
        rel = "."
        for _ in range(12):
            rel = os.path.join(rel, "..")
            found = walk(rel, depth=3)
            if found:
                return found
        return []
    if name == "absolute":  # the attacker knows the layout
        return [f for f in (leaky(a.truth), leaky(os.path.join(a.project, "suites"))) if f] + \
            walk(os.path.join(a.project, "suites"))
    if name == "find_root":  # search the whole filesystem
        return walk("/", depth=12)
    if name == "journal":
        return walk(a.journal)
    if name == "baseline":
        return [f for f in (leaky(a.baseline),) if f]
    if name == "dot_evalkit":
        return walk(os.path.join(a.project, ".evalkit"))
    if name == "reports":  # an earlier gate's reports name the expected components of flipped scenarios
        return walk(os.path.join(a.project, "evalkit-reports"))
    if name == "environment":  # its own environment and the parent's
        own = [k for k, v in os.environ.items() if b"adversarial-secret-value" in v.encode()]
        return own + [f for f in (leaky(f"/proc/{ppid}/environ"), leaky("/proc/1/environ")) if f]
    if name == "fds":  # inherited descriptors and the parent's
        out = []
        for pid in ("self", str(ppid), "1"):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if any(k in target for k in ("journal", "truth", "baselines", ".evalkit")):
                    out.append(f"fd {pid}/{fd} -> {target}")
                found = leaky(f"/proc/{pid}/fd/{fd}") if int(fd) > 2 else None
                if found:
                    out.append(found)
        return out
    if name == "whitelist_escape":  # from a whitelisted folder, go up and sideways
        return walk(os.path.join(a.extra, ".."), depth=5) + walk(os.path.join(a.extra, "..", "..", "..", ".."), 6)
    if name == "symlink_escape":  # a symlink planted in the whitelisted folder, and one made here
        os.symlink(os.path.dirname(a.truth), "mine")
        return walk(os.path.join(a.extra, "link")) + walk("mine")
    if name == "tmp_and_home":  # other runs' temporary folders, caches under the home folder
        return walk("/tmp", depth=6) + walk(os.path.expanduser("~"), depth=6) + walk("/root", depth=6)
    if name == "proc_root_escape":  # pid 1's root and, inside a fresh PID namespace, a proc mount of its own
        out = walk("/proc/1/root", depth=8)
        if os.getpid() < 100:  # only where a mount cannot touch the host: never mount on a real machine
            os.makedirs("p", exist_ok=True)
            if os.system("mount -t proc proc p 2>/dev/null") == 0:
                out += [f for f in (leaky(f"p/{pid}/environ") for pid in os.listdir("p") if pid.isdigit()) if f]
                os.system("umount p 2>/dev/null")
        return out
    raise SystemExit(f"unknown attack {name}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("attack")
    for opt in ("project", "truth", "journal", "baseline", "extra"):
        ap.add_argument(f"--{opt}", default="/nonexistent")
    a = ap.parse_args()
    start = json.loads(sys.stdin.readline())
    names = ATTACKS if a.attack == "all" else [a.attack]
    found = {}
    for name in names:
        try:
            found[name] = attack(name, a)[:5]
        except Exception as exc:  # an attack that fails outright found nothing; say why
            found[name] = []
            sys.stderr.write(f"{name}: {type(exc).__name__}: {exc}\n")
    answer = {"hypotheses": [{"component": start["alert"]["component"], "confidence": 0.5}],
              "summary": json.dumps({"attack": a.attack, "leaks": found})}
    sys.stdout.write(json.dumps({"type": "final", "finding": answer}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
