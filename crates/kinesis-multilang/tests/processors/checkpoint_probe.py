"""A record processor that speaks the MultiLang protocol by hand and probes the daemon's
checkpoint answers on its first batch of at least two records.

It writes each request and the answer it got, as one JSON object per line, to the file named by
its first argument; then it answers every message with its status.
"""

import json
import sys

out = open(sys.argv[1], "a")
probed = False


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def ask(name, request):
    send(dict(request, action="checkpoint"))
    answer = json.loads(sys.stdin.readline())
    out.write(json.dumps({"probe": name, "request": request, "answer": answer}) + "\n")
    out.flush()


for line in sys.stdin:
    message = json.loads(line)
    action = message["action"]
    records = message.get("records") or []
    if action == "processRecords" and len(records) >= 2 and not probed:
        probed = True
        first, second, last = records[0], records[1], records[-1]
        ask("not a number", {"sequenceNumber": "not-a-number", "subSequenceNumber": 0})
        ask("SHARD_END before the end", {"sequenceNumber": "SHARD_END", "subSequenceNumber": 0})
        ask("beyond the last record", {"sequenceNumber": last["sequenceNumber"] + "0", "subSequenceNumber": 0})
        ask("negative sub-sequence", {"sequenceNumber": first["sequenceNumber"], "subSequenceNumber": -1})
        ask("the second record", {"sequenceNumber": second["sequenceNumber"], "subSequenceNumber": 0})
        ask("before the checkpoint", {"sequenceNumber": first["sequenceNumber"], "subSequenceNumber": 0})
        ask("the second record again", {"sequenceNumber": second["sequenceNumber"], "subSequenceNumber": 0})
    send({"action": "status", "responseFor": action})
