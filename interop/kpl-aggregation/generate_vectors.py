#!/usr/bin/env python3
"""Writes KPL aggregated records made by the aws_kinesis_agg package as test vectors.

Usage: python3 generate_vectors.py [OUT_DIR]   (default: vectors/ beside this script)

Needs the packages in requirements.txt (see README.md); installs nothing itself.

Each vector is a JSON file:

    {
      "generator": "aws_kinesis_agg 1.2.3",
      "name": "...",
      "aggregate_hex": "f3899ac2...",          # the aggregated record, as the package made it
      "partition_key": "...",                   # what the package says to send it with
      "explicit_hash_key": null | "decimal",
      "records": [                              # the user records given to the package, in order
        {"partition_key": "...", "explicit_hash_key": null | "decimal", "data_hex": "..."}
      ]
    }

The Rust test crates/kinesis-kcl-compat/tests/aggregation_interop.rs decodes every vector and
checks the user records, and re-encodes them with our encoder, expecting the same bytes.
"""

import json
import os
import random
import sys
from importlib.metadata import version

from aws_kinesis_agg.aggregator import AggRecord

MAX_HASH_KEY = 2**128 - 1


def aggregate(records):
    """Packs (partition_key, explicit_hash_key or None, data bytes) into one aggregate."""
    agg = AggRecord()
    for pk, ehk, data in records:
        if not agg.add_user_record(pk, data, ehk):
            raise SystemExit("aws_kinesis_agg refused a record: the vector is too large")
    pk, ehk, data = agg.get_contents()
    return pk, ehk, data


def vector(name, records):
    pk, ehk, data = aggregate(records)
    return {
        "generator": f"aws_kinesis_agg {version('aws_kinesis_agg')}",
        "name": name,
        "aggregate_hex": data.hex(),
        "partition_key": pk,
        "explicit_hash_key": ehk,
        "records": [
            {"partition_key": p, "explicit_hash_key": e, "data_hex": d.hex()}
            for p, e, d in records
        ],
    }


def cases():
    rng = random.Random(20240601)

    def blob(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    yield "single-record", [("only-key", None, b"hello, world")]

    yield "two-records-one-explicit-hash-key", [
        ("k", None, b"data"),
        ("k2", "123", b"d2"),
    ]

    pool = ["alpha", "beta", "gamma", "delta", "epsilon"]
    ehks = [None, None, "0", str(2**127), str(MAX_HASH_KEY)]
    yield "repeated-keys-mixed-explicit-hash-keys", [
        (rng.choice(pool), rng.choice(ehks), blob(rng.randrange(0, 200)))
        for _ in range(100)
    ]

    yield "unicode-and-longest-partition-keys", [
        ("é", None, "payload é".encode()),
        ("日本語キー", None, "こんにちは".encode()),
        ("🦀" * 64, None, b"crab"),
        ("x" * 256, None, b"256 characters"),
        ("é" * 256, None, b"256 characters, 512 bytes"),
    ]

    yield "empty-payloads", [("a", None, b""), ("b", "42", b""), ("a", None, b"")]

    yield "extreme-explicit-hash-keys", [
        ("min", "0", b"lowest hash key"),
        ("max", str(MAX_HASH_KEY), b"highest hash key"),
        ("mid", str(2**127), b"middle"),
    ]

    # More than 128 distinct keys: table indices need two-byte varints.
    yield "three-hundred-distinct-keys", [
        (f"key-{i}", str(i * 1_000_003) if i % 3 == 0 else None, blob(rng.randrange(0, 20)))
        for i in range(300)
    ]

    # Payload lengths around the varint boundaries of one, two and three bytes.
    yield "payload-length-boundaries", [
        ("p", None, blob(n)) for n in (1, 127, 128, 16383, 16384)
    ]

    yield "every-record-with-explicit-hash-key", [
        (f"pk{i % 4}", str(rng.randrange(0, MAX_HASH_KEY + 1)), blob(rng.randrange(1, 50)))
        for i in range(40)
    ]


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "vectors")
    os.makedirs(out_dir, exist_ok=True)
    for i, (name, records) in enumerate(cases()):
        path = os.path.join(out_dir, f"{i:02}-{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(vector(name, records), f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {path} ({len(records)} records)")


if __name__ == "__main__":
    main()
