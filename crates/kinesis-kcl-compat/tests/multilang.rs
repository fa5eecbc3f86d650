//! The MultiLangDaemon protocol's messages: every message round-trips, the lines have the Java
//! daemon's shapes, and malformed lines are typed errors naming what is wrong.

#![cfg(feature = "multilang")]

use kinesis_kcl_compat::multilang::{
    CheckpointRequest, CheckpointResult, FromProcessor, MessageErrorKind, Record, ToProcessor,
};

fn every_daemon_message() -> Vec<ToProcessor> {
    vec![
        ToProcessor::Initialize {
            shard_id: "shardId-000000000001".into(),
            sequence_number: Some("TRIM_HORIZON".into()),
            sub_sequence_number: Some(0),
        },
        ToProcessor::Initialize {
            shard_id: "shardId-000000000002".into(),
            sequence_number: None,
            sub_sequence_number: None,
        },
        ToProcessor::ProcessRecords {
            records: vec![
                Record::new(
                    &b"\x00\xffbinary\n"[..],
                    "k1",
                    "4959033827149025660855969253836157109592157598913658889",
                )
                .with_sub_sequence_number(3)
                .with_arrival_millis(1_764_000_000_123),
                Record::new("", "k2", "1"),
            ],
            millis_behind_latest: Some(1500),
        },
        ToProcessor::ProcessRecords {
            records: Vec::new(),
            millis_behind_latest: None,
        },
        ToProcessor::Checkpoint(CheckpointResult::answer(
            &CheckpointRequest::at("42", Some(7)),
            None,
        )),
        ToProcessor::Checkpoint(CheckpointResult::answer(
            &CheckpointRequest::everything(),
            Some("ShutdownException".into()),
        )),
        ToProcessor::LeaseLost,
        ToProcessor::ShardEnded,
        ToProcessor::ShutdownRequested,
        ToProcessor::Shutdown {
            reason: Some("TERMINATE".into()),
        },
    ]
}

#[test]
fn every_message_reads_back_as_itself() {
    for message in every_daemon_message() {
        let line = message.to_line();
        assert!(!line.contains('\n'), "one line: {line}");
        assert_eq!(ToProcessor::parse(&line).unwrap(), message, "{line}");
        let status = FromProcessor::status_for(&message);
        assert_eq!(FromProcessor::parse(&status.to_line()).unwrap(), status);
    }
    for request in [
        CheckpointRequest::everything(),
        CheckpointRequest::at("42", None),
        CheckpointRequest::at("42", Some(3)),
    ] {
        let message = FromProcessor::Checkpoint(request);
        assert_eq!(FromProcessor::parse(&message.to_line()).unwrap(), message);
    }
}

#[test]
fn lines_have_the_java_daemons_shapes() {
    // Field names and order of the KCL's message classes; absent values are null, as Jackson
    // writes them; data in standard base64.
    let messages = every_daemon_message();
    assert_eq!(
        messages[0].to_line(),
        r#"{"action":"initialize","shardId":"shardId-000000000001","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":0}"#
    );
    assert_eq!(
        messages[2].to_line(),
        concat!(
            r#"{"action":"processRecords","records":["#,
            r#"{"action":"record","data":"AP9iaW5hcnkK","partitionKey":"k1","sequenceNumber":"4959033827149025660855969253836157109592157598913658889","approximateArrivalTimestamp":1764000000123,"subSequenceNumber":3},"#,
            r#"{"action":"record","data":"","partitionKey":"k2","sequenceNumber":"1","approximateArrivalTimestamp":null,"subSequenceNumber":null}"#,
            r#"],"millisBehindLatest":1500}"#
        )
    );
    assert_eq!(
        messages[5].to_line(),
        r#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":"ShutdownException"}"#
    );
    assert_eq!(messages[6].to_line(), r#"{"action":"leaseLost"}"#);
    assert_eq!(
        messages[7].to_line(),
        r#"{"action":"shardEnded","checkpoint":"SHARD_END"}"#
    );
    // What a processor sends: only the fields the Java daemon reads (it refuses others).
    assert_eq!(
        FromProcessor::Checkpoint(CheckpointRequest::at("42", Some(3))).to_line(),
        r#"{"action":"checkpoint","sequenceNumber":"42","subSequenceNumber":3}"#
    );
}

#[test]
fn what_other_implementations_send_is_understood() {
    // amazon_kclpy and aws-kcl: sequenceNumber, sometimes no subSequenceNumber; the protocol's
    // description: "checkpoint"; numbers where Jackson would coerce them.
    let cases = [
        (
            r#"{"action": "checkpoint", "sequenceNumber": "123", "subSequenceNumber": 4}"#,
            CheckpointRequest::at("123", Some(4)),
        ),
        (
            r#"{"action":"checkpoint","checkpoint":"456"}"#,
            CheckpointRequest::at("456", None),
        ),
        (
            r#"{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null}"#,
            CheckpointRequest::everything(),
        ),
        (
            r#"{"action":"checkpoint","sequenceNumber":789,"subSequenceNumber":"2"}"#,
            CheckpointRequest::at("789", Some(2)),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(
            FromProcessor::parse(line).unwrap(),
            FromProcessor::Checkpoint(want),
            "{line}"
        );
    }
    // Unknown fields are ignored; surrounding whitespace too.
    assert_eq!(
        FromProcessor::parse(
            "  {\"action\":\"status\",\"responseFor\":\"initialize\",\"extra\":1}  "
        )
        .unwrap(),
        FromProcessor::Status {
            response_for: "initialize".into()
        }
    );
    // The Java daemon's records with MIME line breaks in the data.
    let line = r#"{"action":"processRecords","records":[{"action":"record","data":"aGVs\r\nbG8=","partitionKey":"k","sequenceNumber":"1"}]}"#;
    let ToProcessor::ProcessRecords { records, .. } = ToProcessor::parse(line).unwrap() else {
        panic!("processRecords")
    };
    assert_eq!(&records[0].data[..], b"hello");
}

#[test]
fn malformed_lines_are_typed_errors_that_say_what_is_wrong() {
    let cases = [
        (
            "bogus data",
            MessageErrorKind::NotJson,
            "not a JSON message",
        ),
        (
            "[1,2]",
            MessageErrorKind::NotJson,
            "not a JSON object but an array",
        ),
        ("{}", MessageErrorKind::UnknownAction, "without \"action\""),
        (
            r#"{"action":7}"#,
            MessageErrorKind::UnknownAction,
            "a number",
        ),
        (
            r#"{"action":"dance"}"#,
            MessageErrorKind::UnknownAction,
            "\"dance\"",
        ),
        (
            r#"{"action":"status"}"#,
            MessageErrorKind::MissingField,
            "needs \"responseFor\"",
        ),
        (
            r#"{"action":"checkpoint","subSequenceNumber":-1}"#,
            MessageErrorKind::InvalidField,
            "\"subSequenceNumber\" of a \"checkpoint\" message must be a non-negative integer",
        ),
        (
            r#"{"action":"checkpoint","sequenceNumber":{}}"#,
            MessageErrorKind::InvalidField,
            "must be a string, not an object",
        ),
    ];
    for (line, kind, needle) in cases {
        let err = FromProcessor::parse(line).unwrap_err();
        assert_eq!(err.kind(), kind, "{line}: {err}");
        assert!(err.to_string().contains(needle), "{line}: {err}");
    }
    let daemon_cases = [
        (
            r#"{"action":"initialize"}"#,
            MessageErrorKind::MissingField,
            "needs \"shardId\"",
        ),
        (
            r#"{"action":"processRecords","records":{}}"#,
            MessageErrorKind::InvalidField,
            "must be an array",
        ),
        (
            r#"{"action":"processRecords","records":[1]}"#,
            MessageErrorKind::InvalidField,
            "record 0",
        ),
        (
            r#"{"action":"processRecords","records":[{"data":"!!!","partitionKey":"k","sequenceNumber":"1"}]}"#,
            MessageErrorKind::InvalidField,
            "\"data\" of record 0 is not base64",
        ),
        (
            r#"{"action":"processRecords","records":[{"data":"","sequenceNumber":"1"}]}"#,
            MessageErrorKind::MissingField,
            "\"partitionKey\"",
        ),
        (
            r#"{"action":"processRecords","millisBehindLatest":1.5}"#,
            MessageErrorKind::InvalidField,
            "\"millisBehindLatest\"",
        ),
    ];
    for (line, kind, needle) in daemon_cases {
        let err = ToProcessor::parse(line).unwrap_err();
        assert_eq!(err.kind(), kind, "{line}: {err}");
        assert!(err.to_string().contains(needle), "{line}: {err}");
    }
}
