#!/usr/bin/env python3
"""Write seed corpora for the fuzz targets from the shared token cases.

Usage: make_corpus.py CASES_JSON OUT_DIR

Creates OUT_DIR/<target>/ for fuzz_verify, fuzz_b64url, fuzz_claims,
fuzz_issue and fuzz_jwks, one file per seed, named by the SHA-1 of its
content (as libFuzzer names the inputs it adds). The shared cases hold no
key sets, so fuzz_jwks starts from its committed seeds alone. Uses only
the standard library.
"""
import base64
import binascii
import hashlib
import json
import os
import struct
import sys

TARGETS = ("fuzz_verify", "fuzz_b64url", "fuzz_claims", "fuzz_issue", "fuzz_jwks")
ISSUE_FIELDS = (
    ("room",), ("sub",), ("context", "user", "name"),
    ("context", "user", "email"), ("context", "user", "id"),
    ("context", "user", "avatar"), ("context", "group"),
)


def lenient_b64url(segment):
    """Decode base64url with or without padding; None when it is not."""
    try:
        text = segment.encode("ascii")
        return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None


def lookup(claims, path):
    for name in path:
        if not isinstance(claims, dict):
            return None
        claims = claims.get(name)
    return claims if isinstance(claims, str) else None


def issue_seed(claims):
    """fuzz_issue's input: NUL-separated strings, flags, 4-byte ttl."""
    parts = []
    for path in ISSUE_FIELDS:
        value = lookup(claims, path)
        parts.append((value or "").encode("utf-8", "surrogatepass"))
    moderator = 1 if claims.get("moderator") in (True, "true") else 0
    return b"\0".join(parts) + b"\0" + bytes([moderator]) + struct.pack("<i", 3600)


def seeds_from_case(case):
    token = case["token"]
    raw = token.encode("utf-8")
    yield "fuzz_verify", raw
    segments = token.split(".")
    for segment in segments:
        if segment:
            yield "fuzz_b64url", segment.encode("utf-8")
    if len(segments) < 2:
        return
    header = lenient_b64url(segments[0])
    payload = lenient_b64url(segments[1])
    if header is not None and payload is not None:
        yield "fuzz_claims", header + b"\0" + payload
        yield "fuzz_claims", payload
        try:
            claims = json.loads(payload)
        except (ValueError, RecursionError):
            return
        if isinstance(claims, dict):
            yield "fuzz_issue", issue_seed(claims)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_corpus.py CASES_JSON OUT_DIR")
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    seeds = {target: set() for target in TARGETS}
    for target in TARGETS:
        os.makedirs(os.path.join(sys.argv[2], target), exist_ok=True)
    for case in cases:
        for target, data in seeds_from_case(case):
            name = hashlib.sha1(data).hexdigest()
            seeds[target].add(name)
            path = os.path.join(sys.argv[2], target, name)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(data)
    print("seeds from %d cases: " % len(cases) +
          ", ".join(f"{t} {len(seeds[t])}" for t in TARGETS))


if __name__ == "__main__":
    main()
