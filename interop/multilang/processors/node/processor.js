// A record processor on aws-kcl (the KCL's Node.js library), as a team would write one.
//
// Every record it sees is appended to a file of its own in $MULTILANG_OUTPUT_DIR:
// "<shard> <sequence number> <sub-sequence number> <data>" per line. It checkpoints after each
// batch, and at the shard's end and on shutdown. MULTILANG_FAULT=crash exits without a word
// after its second batch, once per run (a marker file makes it happen once).
'use strict';

const fs = require('fs');
const path = require('path');
const kcl = require('aws-kcl');

const output = process.env.MULTILANG_OUTPUT_DIR;
const fault = process.env.MULTILANG_FAULT || '';

function faultOnce() {
  if (!fault) {
    return false;
  }
  try {
    fs.closeSync(fs.openSync(path.join(output, 'fault-' + fault), 'wx'));
    return true;
  } catch (e) {
    return false;
  }
}

function processor() {
  let shard = null;
  let file = null;
  let batches = 0;
  return {
    initialize: function (input, done) {
      shard = input.shardId;
      file = path.join(output, 'node-' + shard + '-' + process.pid + '.txt');
      process.stderr.write('processor for ' + shard + ' starting after ' + input.sequenceNumber + '\n');
      done();
    },
    processRecords: function (input, done) {
      const lines = input.records.map(function (r) {
        const data = Buffer.from(r.data, 'base64').toString('utf8');
        return shard + ' ' + r.sequenceNumber + ' ' + r.subSequenceNumber + ' ' + data + '\n';
      });
      fs.appendFileSync(file, lines.join(''));
      batches += 1;
      if (batches === 2 && faultOnce() && fault === 'crash') {
        process.exit(3);
      }
      const last = input.records[input.records.length - 1];
      input.checkpointer.checkpoint(last.sequenceNumber, function (err) {
        if (err) {
          process.stderr.write('checkpoint failed: ' + err + '\n');
        }
        done();
      });
    },
    leaseLost: function (input, done) {
      process.stderr.write('lease of ' + shard + ' lost\n');
      done();
    },
    shardEnded: function (input, done) {
      input.checkpointer.checkpoint(function (err) {
        if (err) {
          process.stderr.write('checkpoint at the shard end failed: ' + err + '\n');
        }
        done();
      });
    },
    shutdownRequested: function (input, done) {
      input.checkpointer.checkpoint(function (err) {
        done();
      });
    }
  };
}

kcl(processor()).run();
