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


def policy_document(policy: Any) -> dict[str, Any]:
    """The settings of ``policy`` that are hashed: ``policy.to_dict()`` without its ``source``."""
    doc = dict(policy.to_dict())
    doc.pop("source", None)
    return doc


def policy_hash(policy: Any) -> str:
    """sha256 of the policy's canonical JSON (:func:`policy_document`), first :data:`HASH_LENGTH` hex digits."""
    text = json.dumps(policy_document(policy), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_LENGTH]
