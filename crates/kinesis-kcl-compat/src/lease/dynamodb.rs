//! The bridge between lease [`Item`]s and the AWS SDK's DynamoDB items (feature `dynamodb`).
//!
//! ```
//! use kinesis_client::sdk::dynamodb::types::AttributeValue as SdkValue;
//! use kinesis_kcl_compat::lease::{dynamodb, Lease, LeaseKey, ParsedRow};
//! use kinesis_kcl_compat::sequence::Checkpoint;
//!
//! let lease = Lease::new("shardId-000000000001".parse::<LeaseKey>()?, Checkpoint::TRIM_HORIZON);
//! let sdk_item = dynamodb::item_to_sdk(lease.to_item());
//! assert_eq!(sdk_item["checkpoint"], SdkValue::S("TRIM_HORIZON".into()));
//! assert_eq!(ParsedRow::from_item(dynamodb::item_from_sdk(sdk_item))?, ParsedRow::Lease(lease));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;

use kinesis_client::sdk::dynamodb::types::AttributeValue as SdkValue;
use kinesis_client::sdk::smithy_types::Blob;

use super::{AttributeValue, Item};

/// The SDK's form of a value.
pub fn value_to_sdk(value: AttributeValue) -> SdkValue {
    match value {
        AttributeValue::B(b) => SdkValue::B(Blob::new(b)),
        AttributeValue::Bool(b) => SdkValue::Bool(b),
        AttributeValue::Bs(bs) => SdkValue::Bs(bs.into_iter().map(Blob::new).collect()),
        AttributeValue::L(l) => SdkValue::L(l.into_iter().map(value_to_sdk).collect()),
        AttributeValue::M(m) => SdkValue::M(item_to_sdk(m)),
        AttributeValue::N(n) => SdkValue::N(n),
        AttributeValue::Ns(ns) => SdkValue::Ns(ns),
        AttributeValue::Null(b) => SdkValue::Null(b),
        AttributeValue::S(s) => SdkValue::S(s),
        AttributeValue::Ss(ss) => SdkValue::Ss(ss),
    }
}

/// A value from the SDK; `None` for a type the SDK itself does not know (its `Unknown`, which
/// carries no data and which the SDK cannot send back either).
pub fn value_from_sdk(value: SdkValue) -> Option<AttributeValue> {
    Some(match value {
        SdkValue::B(b) => AttributeValue::B(b.into_inner()),
        SdkValue::Bool(b) => AttributeValue::Bool(b),
        SdkValue::Bs(bs) => AttributeValue::Bs(bs.into_iter().map(Blob::into_inner).collect()),
        SdkValue::L(l) => AttributeValue::L(l.into_iter().filter_map(value_from_sdk).collect()),
        SdkValue::M(m) => AttributeValue::M(item_from_sdk(m)),
        SdkValue::N(n) => AttributeValue::N(n),
        SdkValue::Ns(ns) => AttributeValue::Ns(ns),
        SdkValue::Null(b) => AttributeValue::Null(b),
        SdkValue::S(s) => AttributeValue::S(s),
        SdkValue::Ss(ss) => AttributeValue::Ss(ss),
        _ => return None,
    })
}

/// The SDK's form of an item.
pub fn item_to_sdk(item: Item) -> HashMap<String, SdkValue> {
    item.into_iter()
        .map(|(name, value)| (name, value_to_sdk(value)))
        .collect()
}

/// An item from the SDK. An attribute of a type the SDK does not know is left out (see
/// [`value_from_sdk`]); were it a lease attribute, reading the row reports it missing.
pub fn item_from_sdk(item: HashMap<String, SdkValue>) -> Item {
    item.into_iter()
        .filter_map(|(name, value)| value_from_sdk(value).map(|v| (name, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_survives_the_round_trip() {
        let item: Item = HashMap::from([
            ("b".to_owned(), AttributeValue::B(vec![0, 255])),
            ("bool".to_owned(), AttributeValue::Bool(true)),
            ("bs".to_owned(), AttributeValue::Bs(vec![vec![1], vec![]])),
            (
                "l".to_owned(),
                AttributeValue::L(vec![AttributeValue::N("1".into())]),
            ),
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "k".to_owned(),
                    AttributeValue::S("v".into()),
                )])),
            ),
            ("n".to_owned(), AttributeValue::N("1.5E3".into())),
            ("ns".to_owned(), AttributeValue::Ns(vec!["1".into()])),
            ("null".to_owned(), AttributeValue::Null(true)),
            ("s".to_owned(), AttributeValue::S("x".into())),
            ("ss".to_owned(), AttributeValue::Ss(vec!["a".into()])),
        ]);
        assert_eq!(item_from_sdk(item_to_sdk(item.clone())), item);
    }
}
