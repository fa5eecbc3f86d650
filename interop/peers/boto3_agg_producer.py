"""aws-kinesis-agg + boto3 as a contender of `cargo xtask bench peers`.

Writes RECORDS records of 100 bytes (the producer benchmark's records and partition keys)
the way a Python application would with the two libraries: user records into
aws_kinesis_agg's RecordAggregator (its default size), each full aggregate into a PutRecords
call of up to 500 entries and 5 MiB, one call at a time, to ENDPOINT over TLS trusting
CA_PEM. Prints one line: {"peer":"boto3-agg","records":N,"secs":S}, the time from the first
record to the last call's answer (the interpreter's start and imports are outside it; the CPU
time counted from outside includes them).

usage: boto3_agg_producer.py ENDPOINT CA_PEM STREAM RECORDS
"""

import json
import sys
import time

import boto3
from aws_kinesis_agg.aggregator import RecordAggregator

KEYS = 100_000
RECORD_BYTES = 100
MASK = (1 << 64) - 1


def mix(n):
    """splitmix64's finalizer: the benchmark's reproducible mix of n."""
    z = (n + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def partition_key(n):
    return "user-%d" % (mix(n) % KEYS)


def payload(n):
    digits = str(n).encode()[-RECORD_BYTES:]
    return b"." * (RECORD_BYTES - len(digits)) + digits


def main():
    endpoint, ca_pem, stream, records = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    kinesis = boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDPEERBENCH",
        aws_secret_access_key="peer-bench-secret",
        verify=ca_pem,
    )
    aggregator = RecordAggregator()
    batch, batch_bytes = [], 0
    stored = 0

    def put(entries):
        answer = kinesis.put_records(StreamName=stream, Records=entries)
        if answer.get("FailedRecordCount", 0):
            raise SystemExit("%d aggregates not stored" % answer["FailedRecordCount"])

    def add(aggregate):
        nonlocal batch, batch_bytes, stored
        key, explicit, data = aggregate.get_contents()
        size = len(key) + len(data)
        if batch and (len(batch) == 500 or batch_bytes + size > 5 * 1024 * 1024):
            put(batch)
            batch, batch_bytes = [], 0
        entry = {"PartitionKey": key, "Data": data}
        if explicit:
            entry["ExplicitHashKey"] = explicit
        batch.append(entry)
        batch_bytes += size
        stored += aggregate.get_num_user_records()

    started = time.monotonic()
    for n in range(records):
        full = aggregator.add_user_record(partition_key(n), payload(n))
        if full is not None:
            add(full)
    last = aggregator.clear_and_get()
    if last is not None:
        add(last)
    if batch:
        put(batch)
    secs = time.monotonic() - started
    print(json.dumps({"peer": "boto3-agg", "records": stored, "secs": secs}))
    return 0 if stored == records else 1


if __name__ == "__main__":
    sys.exit(main())
