//! A DynamoDB attribute value in DynamoDB's own data types, independent of any SDK: lease rows are
//! read and written as [`Item`](super::Item)s of these, so the format builds (and is fuzzed)
//! without the AWS SDK. With the `dynamodb` feature, [`super::dynamodb`] converts to and from
//! the SDK's `AttributeValue`.

use std::collections::HashMap;

/// One attribute value, named after DynamoDB's data types (`S`, `N`, `B`, `SS`, ...), with the
/// same variants and accessors as the AWS SDK's `AttributeValue`.
///
/// ```
/// use kinesis_kcl_compat::lease::AttributeValue;
///
/// let counter = AttributeValue::N("7".into());
/// assert_eq!(counter.as_n().map(String::as_str), Ok("7"));
/// assert!(counter.as_s().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    /// Binary.
    B(Vec<u8>),
    /// Boolean.
    Bool(bool),
    /// Binary set.
    Bs(Vec<Vec<u8>>),
    /// List.
    L(Vec<AttributeValue>),
    /// Map.
    M(HashMap<String, AttributeValue>),
    /// Number, as DynamoDB sends it: decimal text.
    N(String),
    /// Number set.
    Ns(Vec<String>),
    /// Null (DynamoDB always writes `true`).
    Null(bool),
    /// String.
    S(String),
    /// String set.
    Ss(Vec<String>),
}

macro_rules! accessor {
    ($(#[$doc:meta])* $name:ident, $variant:ident, $ty:ty) => {
        $(#[$doc])*
        ///
        /// # Errors
        ///
        /// The value itself, when it is of another type.
        pub fn $name(&self) -> Result<&$ty, &Self> {
            match self {
                Self::$variant(v) => Ok(v),
                other => Err(other),
            }
        }
    };
}

impl AttributeValue {
    accessor!(
        /// The bytes of a `B`.
        as_b, B, Vec<u8>
    );
    accessor!(
        /// The value of a `BOOL`.
        as_bool, Bool, bool
    );
    accessor!(
        /// The members of a `BS`.
        as_bs, Bs, Vec<Vec<u8>>
    );
    accessor!(
        /// The elements of an `L`.
        as_l, L, Vec<AttributeValue>
    );
    accessor!(
        /// The entries of an `M`.
        as_m, M, HashMap<String, AttributeValue>
    );
    accessor!(
        /// The decimal text of an `N`.
        as_n, N, String
    );
    accessor!(
        /// The members of an `NS`.
        as_ns, Ns, Vec<String>
    );
    accessor!(
        /// The flag of a `NULL`.
        as_null, Null, bool
    );
    accessor!(
        /// The text of an `S`.
        as_s, S, String
    );
    accessor!(
        /// The members of an `SS`.
        as_ss, Ss, Vec<String>
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_return_the_value_or_themselves() {
        let v = AttributeValue::Ss(vec!["a".into()]);
        assert_eq!(v.as_ss(), Ok(&vec!["a".to_owned()]));
        assert_eq!(v.as_s(), Err(&v));
        assert_eq!(AttributeValue::Null(true).as_null(), Ok(&true));
        assert_eq!(AttributeValue::B(vec![1]).as_b(), Ok(&vec![1u8]));
    }
}
