"""A short, stable fingerprint of the policy a comparison was judged by (the gate tags its MLflow run with it).

The hash covers every setting that can change a verdict — metrics, margins, δ, α, correction, test, design,
... — as canonical JSON (sorted keys), and not where the policy was read from: the same rules copied to another
file hash alike, and any edit to a number changes the hash.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

#: hex digits kept: 12 (48 bits) tell apart every policy a repository will ever have, and stay readable.
HASH_LENGTH = 12


def policy_hash(policy: Any) -> str:
    """sha256 of the canonical JSON of ``policy.to_dict()`` without its ``source``, first :data:`HASH_LENGTH` hex
    digits."""
    doc = {key: value for key, value in policy.to_dict().items() if key != "source"}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]
