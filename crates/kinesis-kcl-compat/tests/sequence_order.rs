//! The order of extended sequence numbers and checkpoints, checked against a model of the KCL's
//! `ExtendedSequenceNumber.compareTo`, and the text forms' round trips.

use std::cmp::Ordering;

use kinesis_client::SequenceNumber;
use kinesis_kcl_compat::sequence::{Checkpoint, ExtendedSequenceNumber, Sentinel};
use proptest::prelude::*;

/// A sequence number of up to 129 digits, often sharing long prefixes with others so that the
/// digit-by-digit comparison is exercised.
fn sequence_number() -> impl Strategy<Value = SequenceNumber> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u8..3).prop_map(|d| d.to_string()),
        ("[1-9]", "[0-9]{0,128}").prop_map(|(a, b)| format!("{a}{b}")),
        // Real sequence numbers have 56 digits and share long prefixes.
        ("[0-2]", 0u32..1000).prop_map(|(d, n)| format!(
            "4959033827149025660855969253836157109592157598913658{d}{n:03}"
        )),
    ]
    .prop_map(|s| SequenceNumber::new(s).expect("valid"))
}

fn esn() -> impl Strategy<Value = ExtendedSequenceNumber> {
    (sequence_number(), prop_oneof![0u64..4, any::<u64>()])
        .prop_map(|(s, sub)| ExtendedSequenceNumber::new(s, sub))
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    prop_oneof![
        1 => prop::sample::select(Sentinel::ALL.to_vec()).prop_map(Checkpoint::Sentinel),
        3 => esn().prop_map(Checkpoint::Sequence),
    ]
}

/// The KCL's compareTo, transcribed as a model: SHARD_END is greatest; otherwise compare "big
/// integer values" (AT_TIMESTAMP = -3, TRIM_HORIZON = -2, LATEST = -1, a sequence number is its
/// value), then the sub-sequence numbers. Values are compared here by zero-padding to 129 digits
/// and comparing the strings, a different method from the crate's.
fn model_cmp(a: &Checkpoint, b: &Checkpoint) -> Ordering {
    let shard_end = |c: &Checkpoint| c.is_shard_end();
    match (shard_end(a), shard_end(b)) {
        (true, true) => return Ordering::Equal,
        (false, true) => return Ordering::Less,
        (true, false) => return Ordering::Greater,
        (false, false) => {}
    }
    // (negative sentinel value or 0, padded digits)
    let big = |c: &Checkpoint| -> (i8, String) {
        match c {
            Checkpoint::Sentinel(Sentinel::AtTimestamp) => (-3, String::new()),
            Checkpoint::Sentinel(Sentinel::TrimHorizon) => (-2, String::new()),
            Checkpoint::Sentinel(Sentinel::Latest) => (-1, String::new()),
            Checkpoint::Sentinel(Sentinel::ShardEnd) => unreachable!(),
            Checkpoint::Sequence(e) => (0, format!("{:0>129}", e.sequence_number().as_str())),
        }
    };
    big(a)
        .cmp(&big(b))
        .then_with(|| a.sub_sequence_number().cmp(&b.sub_sequence_number()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn checkpoint_order_matches_the_kcl_model(a in checkpoint(), b in checkpoint()) {
        prop_assert_eq!(a.cmp(&b), model_cmp(&a, &b));
        prop_assert_eq!(a.partial_cmp(&b), Some(model_cmp(&a, &b)));
    }

    #[test]
    fn order_is_antisymmetric_and_agrees_with_equality(a in checkpoint(), b in checkpoint()) {
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
        prop_assert_eq!(a.cmp(&a), Ordering::Equal);
    }

    #[test]
    fn order_is_transitive(mut v in prop::collection::vec(checkpoint(), 3)) {
        v.sort();
        prop_assert!(v[0] <= v[1] && v[1] <= v[2] && v[0] <= v[2]);
        // Every pair, both ways round, against the model.
        for x in &v {
            for y in &v {
                for z in &v {
                    if x <= y && y <= z {
                        prop_assert!(x <= z);
                    }
                    if x < y && y < z {
                        prop_assert!(x < z);
                    }
                }
            }
        }
    }

    #[test]
    fn extended_sequence_numbers_order_by_sequence_then_sub_sequence(a in esn(), b in esn()) {
        let expected = model_cmp(&Checkpoint::Sequence(a.clone()), &Checkpoint::Sequence(b.clone()));
        prop_assert_eq!(a.cmp(&b), expected);
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        prop_assert_eq!(a == b, expected == Ordering::Equal);
    }

    #[test]
    fn sequence_numbers_from_u128_order_numerically(x in any::<u128>(), y in any::<u128>(), sx in 0u64..3, sy in 0u64..3) {
        let a = ExtendedSequenceNumber::new(SequenceNumber::new(x.to_string()).unwrap(), sx);
        let b = ExtendedSequenceNumber::new(SequenceNumber::new(y.to_string()).unwrap(), sy);
        prop_assert_eq!(a.cmp(&b), (x, sx).cmp(&(y, sy)));
    }

    #[test]
    fn checkpoint_text_round_trips(c in checkpoint()) {
        let text = c.to_string();
        prop_assert_eq!(text.parse::<Checkpoint>().unwrap(), c.clone());
        let (checkpoint, sub) = (c.kcl_checkpoint(), c.sub_sequence_number());
        prop_assert_eq!(Checkpoint::from_kcl_parts(checkpoint, sub).unwrap(), c.clone());
        // The lease attribute alone is always an exact KCL string.
        let attr = checkpoint.to_owned();
        let is_sentinel = Sentinel::ALL.iter().any(|s| s.as_str() == attr);
        prop_assert!(is_sentinel || SequenceNumber::new(attr).is_ok());
    }

    #[test]
    fn extended_sequence_number_text_round_trips(e in esn()) {
        prop_assert_eq!(e.to_string().parse::<ExtendedSequenceNumber>().unwrap(), e);
    }
}

#[test]
fn sentinels_order_as_the_kcl_maps_them() {
    let seq = |s: &str| Checkpoint::Sequence(ExtendedSequenceNumber::plain(s.parse().unwrap()));
    let ascending = [
        Checkpoint::AT_TIMESTAMP,
        Checkpoint::TRIM_HORIZON,
        Checkpoint::LATEST,
        seq("0"),
        Checkpoint::Sequence(ExtendedSequenceNumber::new("0".parse().unwrap(), 1)),
        seq("9"),
        seq("10"),
        seq(&"9".repeat(129)),
        Checkpoint::SHARD_END,
    ];
    for (i, a) in ascending.iter().enumerate() {
        for (j, b) in ascending.iter().enumerate() {
            assert_eq!(a.cmp(b), i.cmp(&j), "{a} vs {b}");
        }
    }
    let mut sentinels = Sentinel::ALL;
    sentinels.reverse();
    sentinels.sort();
    assert_eq!(sentinels, Sentinel::ALL);
}

#[test]
fn the_exact_kcl_strings() {
    for (s, text) in [
        (Sentinel::TrimHorizon, "TRIM_HORIZON"),
        (Sentinel::Latest, "LATEST"),
        (Sentinel::AtTimestamp, "AT_TIMESTAMP"),
        (Sentinel::ShardEnd, "SHARD_END"),
    ] {
        assert_eq!(s.as_str(), text);
        assert_eq!(s.to_string(), text);
        assert_eq!(text.parse::<Sentinel>().unwrap(), s);
        assert_eq!(Sentinel::from_kcl_str(text), Some(s));
        let c = Checkpoint::from_kcl_parts(text, 0).unwrap();
        assert_eq!(c, Checkpoint::Sentinel(s));
        assert_eq!(c.kcl_checkpoint(), text);
        assert_eq!(c.sub_sequence_number(), 0);
        assert_eq!(c.sentinel(), Some(s));
        assert!(c.sequence().is_none());
        assert_eq!(Checkpoint::from(s), c);
    }
    // A sub-sequence number stored beside a sentinel carries no meaning.
    assert_eq!(
        Checkpoint::from_kcl_parts("LATEST", 5).unwrap(),
        Checkpoint::LATEST
    );
    assert!(Checkpoint::SHARD_END.is_shard_end());
    assert!(!Checkpoint::LATEST.is_shard_end());
}

#[test]
fn malformed_text_is_refused() {
    for bad in [
        "",
        "latest",
        "Latest",
        " LATEST",
        "SHARD_END:0",
        "TRIM_HORIZON ",
        "-1",
        "01",
        "12a",
        "1:",
        ":1",
        "1:01",
        "1:-1",
        "1:18446744073709551616",
        "1:2:3",
        &"1".repeat(130),
    ] {
        assert!(bad.parse::<Checkpoint>().is_err(), "{bad:?} parsed");
    }
    for bad in ["", "LATEST", "1:", "1:x", "x:1", "01:1"] {
        assert!(
            bad.parse::<ExtendedSequenceNumber>().is_err(),
            "{bad:?} parsed"
        );
    }
    assert!(Checkpoint::from_kcl_parts("12x", 0).is_err());
    assert!(Checkpoint::from_kcl_parts("1:2", 0).is_err());
    let err = Checkpoint::from_kcl_parts("nope", 0).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn sequence_accessors() {
    let seq: SequenceNumber = "123".parse().unwrap();
    let e = ExtendedSequenceNumber::new(seq.clone(), 4);
    assert_eq!(e.sequence_number(), &seq);
    assert_eq!(e.sub_sequence_number(), 4);
    assert_eq!(e.clone().into_parts(), (seq.clone(), 4));
    assert_eq!(
        ExtendedSequenceNumber::from(seq.clone()).sub_sequence_number(),
        0
    );
    let c = Checkpoint::from(e.clone());
    assert_eq!(c.sequence(), Some(&e));
    assert_eq!(c.sentinel(), None);
    assert_eq!(c.to_string(), "123:4");
    assert_eq!(c.kcl_checkpoint(), "123");
    assert_eq!(c.sub_sequence_number(), 4);
}
