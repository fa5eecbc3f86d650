"""A record processor on amazon_kclpy (the KCL's Python library), as a team would write one.

Every record it sees is appended to a file of its own in $MULTILANG_OUTPUT_DIR:
"<shard> <sequence number> <sub-sequence number> <data>" per line. It checkpoints after each
batch, and at the shard's end and on shutdown.

Faults for tests, once per run (a marker file in the output folder makes them happen once):
MULTILANG_FAULT=crash exits without a word after its second batch; MULTILANG_FAULT=hang never
answers its second batch. It also writes a line that is not a message to stdout and chatter to
stderr, which a daemon must tolerate.
"""

import os
import sys
import time

from amazon_kclpy import kcl
from amazon_kclpy.v3 import processor

OUTPUT = os.environ["MULTILANG_OUTPUT_DIR"]
FAULT = os.environ.get("MULTILANG_FAULT", "")


def fault_once():
    """Whether this process is the one that injects the fault of this run."""
    if not FAULT:
        return False
    try:
        fd = os.open(os.path.join(OUTPUT, "fault-" + FAULT), os.O_CREAT | os.O_EXCL)
        os.close(fd)
        return True
    except FileExistsError:
        return False


class RecordProcessor(processor.RecordProcessorBase):
    def __init__(self):
        self.shard = None
        self.out = None
        self.batches = 0

    def initialize(self, initialize_input):
        self.shard = initialize_input.shard_id
        name = "python-{}-{}.txt".format(self.shard, os.getpid())
        self.out = open(os.path.join(OUTPUT, name), "a")
        sys.stdout.write("this line is not a message\n")
        sys.stdout.flush()
        sys.stderr.write("processor for {} starting after {}\n".format(
            self.shard, initialize_input.sequence_number))

    def checkpoint(self, checkpointer, sequence_number=None, sub_sequence_number=None):
        try:
            checkpointer.checkpoint(sequence_number, sub_sequence_number)
        except kcl.CheckpointError as e:
            sys.stderr.write("checkpoint failed: {}\n".format(e.value))

    def process_records(self, process_records_input):
        for record in process_records_input.records:
            self.out.write("{} {} {} {}\n".format(
                self.shard, record.sequence_number, record.sub_sequence_number,
                record.binary_data.decode("utf-8")))
        self.out.flush()
        self.batches += 1
        if self.batches == 2 and fault_once():
            if FAULT == "crash":
                os._exit(3)
            if FAULT == "hang":
                time.sleep(3600)
        last = process_records_input.records[-1]
        self.checkpoint(process_records_input.checkpointer,
                        last.sequence_number, last.sub_sequence_number)

    def lease_lost(self, lease_lost_input):
        sys.stderr.write("lease of {} lost\n".format(self.shard))

    def shard_ended(self, shard_ended_input):
        self.checkpoint(shard_ended_input.checkpointer)

    def shutdown_requested(self, shutdown_requested_input):
        self.checkpoint(shutdown_requested_input.checkpointer)


if __name__ == "__main__":
    kcl.KCLProcess(RecordProcessor()).run()
