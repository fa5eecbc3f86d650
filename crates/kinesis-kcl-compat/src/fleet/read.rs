//! Reading the attributes of a fleet row, with errors that name the row and the attribute.

use crate::lease::{AttributeType, AttributeValue, Item, LeaseRowError, Problem};

pub(super) struct Row<'a> {
    pub(super) item: &'a Item,
    pub(super) key: Option<&'a str>,
}

impl<'a> Row<'a> {
    pub(super) fn new(item: &'a Item) -> Self {
        let key = match item.get(crate::lease::attr::LEASE_KEY) {
            Some(AttributeValue::S(k)) => Some(k.as_str()),
            _ => None,
        };
        Row { item, key }
    }

    pub(super) fn error(&self, attribute: &'static str, problem: Problem) -> LeaseRowError {
        LeaseRowError::new(self.key, attribute, problem)
    }

    fn wrong(
        &self,
        attribute: &'static str,
        expected: AttributeType,
        found: &AttributeValue,
    ) -> LeaseRowError {
        self.error(
            attribute,
            Problem::WrongType {
                expected,
                found: AttributeType::of(found),
            },
        )
    }

    /// An `S`, absent (or `NULL`) as `None`.
    pub(super) fn optional_s(
        &self,
        attribute: &'static str,
    ) -> Result<Option<&'a str>, LeaseRowError> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(attribute, AttributeType::S, other)),
        }
    }

    pub(super) fn required_s(&self, attribute: &'static str) -> Result<&'a str, LeaseRowError> {
        self.optional_s(attribute)?
            .ok_or_else(|| self.error(attribute, Problem::Missing))
    }

    /// An `N` holding an integer, absent (or `NULL`) as `None`.
    pub(super) fn optional_i64(
        &self,
        attribute: &'static str,
    ) -> Result<Option<i64>, LeaseRowError> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(n)) => integer(n)
                .map(Some)
                .ok_or_else(|| self.invalid_number(attribute, n, "not an integer")),
            Some(other) => Err(self.wrong(attribute, AttributeType::N, other)),
        }
    }

    pub(super) fn required_i64(&self, attribute: &'static str) -> Result<i64, LeaseRowError> {
        self.optional_i64(attribute)?
            .ok_or_else(|| self.error(attribute, Problem::Missing))
    }

    pub(super) fn invalid_number(
        &self,
        attribute: &'static str,
        value: &str,
        reason: &str,
    ) -> LeaseRowError {
        self.error(
            attribute,
            Problem::InvalidNumber {
                value: value.to_owned(),
                reason: reason.to_owned(),
            },
        )
    }

    /// An `M`, absent (or `NULL`) as `None`.
    pub(super) fn optional_m(
        &self,
        attribute: &'static str,
    ) -> Result<Option<&'a std::collections::HashMap<String, AttributeValue>>, LeaseRowError> {
        match self.item.get(attribute) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::M(m)) => Ok(Some(m)),
            Some(other) => Err(self.wrong(attribute, AttributeType::M, other)),
        }
    }

    /// An `L` of `N`s, each read by `parse`.
    pub(super) fn numbers<T>(
        &self,
        attribute: &'static str,
        value: &AttributeValue,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, LeaseRowError> {
        let AttributeValue::L(list) = value else {
            return Err(self.wrong(attribute, AttributeType::L, value));
        };
        list.iter()
            .map(|v| match v {
                AttributeValue::N(n) => parse(n).ok_or_else(|| {
                    self.invalid_number(attribute, n, "not a number of the expected kind")
                }),
                other => Err(self.wrong(attribute, AttributeType::N, other)),
            })
            .collect()
    }
}

/// An integer in any DynamoDB spelling (`"7"`, `"7.0"`, `"7E0"`).
pub(super) fn integer(n: &str) -> Option<i64> {
    let n = n.trim();
    if let Ok(v) = n.parse::<i64>() {
        return Some(v);
    }
    let v: f64 = crate::lease::number_f64(n)?;
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}
