#!/usr/bin/env python3
"""Decodes the aggregates written by our encoder with the aws_kinesis_agg package and checks
every user record.

Usage:
    cargo run -p kinesis-kcl-compat --example write_aggregates -- DIR
    python3 interop/kpl-aggregation/decode_ours.py DIR

Needs the packages in requirements.txt (see README.md). Exits 0 when every user record matches,
1 otherwise (with one line per mismatch), 2 on bad usage.

Each aggregate is handed to aws_kinesis_agg.deaggregator.iter_deaggregate_records as a Lambda
Kinesis event record, which is the package's public API. The package must recognise it as an
aggregate (a record it cannot read comes back unchanged, without the "aggregated" flag), and
return the user records in order with their sub-sequence numbers, partition keys and data.

Explicit hash keys: the package's deaggregator reports `explicit_hash_key_table[index]` for a user
record without an explicit hash key whenever the table is not empty (the protobuf default index
is 0), so the presence or absence of `explicit_hash_key_index` is also checked on the message
parsed with the package's own protobuf classes, and the key itself on the deaggregator's output.
"""

import base64
import hashlib
import json
import os
import sys

# The deaggregator module puts the package's own folder on sys.path, which its generated
# messages_pb2 needs (it imports config_pb2 at top level): import it first.
from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from aws_kinesis_agg import MAGIC, DIGEST_SIZE
from aws_kinesis_agg import messages_pb2


def check_aggregate(agg, failures):
    name = agg["name"]
    data = bytes.fromhex(agg["aggregate_hex"])
    expected = agg["records"]

    def fail(msg):
        failures.append(f"{name}: {msg}")

    # The envelope, checked independently of the deaggregator.
    if data[: len(MAGIC)] != MAGIC:
        fail("does not start with the KPL magic")
        return 0
    message = data[len(MAGIC) : -DIGEST_SIZE]
    if hashlib.md5(message).digest() != data[-DIGEST_SIZE:]:
        fail("MD5 trailer does not match the message")
        return 0
    parsed = messages_pb2.AggregatedRecord()
    parsed.ParseFromString(message)  # raises on a malformed message or a missing required field
    if len(parsed.records) != len(expected):
        fail(f"protobuf holds {len(parsed.records)} records, expected {len(expected)}")
        return 0

    event_record = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": agg["partition_key"],
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": 1700000000.0,
        },
        "eventSource": "aws:kinesis",
    }
    got = list(iter_deaggregate_records([event_record]))
    if len(got) != len(expected):
        fail(f"deaggregated into {len(got)} records, expected {len(expected)}")
        return 0
    for i, (g, e, raw) in enumerate(zip(got, expected, parsed.records)):
        k = g["kinesis"]
        if k.get("aggregated") is not True:
            fail(f"record {i}: not recognised as an aggregated user record")
            continue
        if k["subSequenceNumber"] != i:
            fail(f"record {i}: sub-sequence number {k['subSequenceNumber']}")
        if k["partitionKey"] != e["partition_key"]:
            fail(f"record {i}: partition key {k['partitionKey']!r} != {e['partition_key']!r}")
        if base64.b64decode(k["data"]) != bytes.fromhex(e["data_hex"]):
            fail(f"record {i}: data differs")
        if e["explicit_hash_key"] is None:
            if raw.HasField("explicit_hash_key_index"):
                fail(f"record {i}: has an explicit hash key index, expected none")
        else:
            if k["explicitHashKey"] != e["explicit_hash_key"]:
                fail(f"record {i}: explicit hash key {k['explicitHashKey']!r} != {e['explicit_hash_key']!r}")
            if not raw.HasField("explicit_hash_key_index"):
                fail(f"record {i}: has no explicit hash key index, expected {e['explicit_hash_key']!r}")
    return len(expected)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = os.path.join(sys.argv[1], "aggregates.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    failures = []
    checked = 0
    for agg in doc["aggregates"]:
        checked += check_aggregate(agg, failures)
    for line in failures[:50]:
        print(f"MISMATCH {line}")
    aggregates = len(doc["aggregates"])
    if failures:
        print(f"{len(failures)} mismatches in {aggregates} aggregates")
        return 1
    print(f"aws_kinesis_agg decoded {aggregates} aggregates from kinesis-kcl-compat: "
          f"all {checked} user records match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
