"""Skip markers for tests that need a system program evalkit does not install itself (`.ci/run` installs them)."""

import pytest

from evalkit.agents import sandbox as _sandbox

#: cmd: and mcp: agents run in the bubblewrap sandbox by default; tests that start one need bwrap.
needs_bwrap = pytest.mark.skipif(
    _sandbox.bwrap_path() is None,
    reason="bubblewrap (bwrap) is not installed: cmd:/mcp: agents run in its sandbox by default "
           "(Debian/Ubuntu: apt-get install bubblewrap; the README lists other systems)")
