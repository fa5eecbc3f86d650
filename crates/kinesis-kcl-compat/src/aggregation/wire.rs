//! The few pieces of the protobuf wire format the aggregate needs, written by hand so that the
//! decoder can hand out `Bytes` slices of its input and never panics.

use std::ops::Range;

use super::decode::{Malformed, MalformedKind};

/// Wire type 0: a base-128 varint.
pub(crate) const VARINT: u8 = 0;
/// Wire type 1: 8 little-endian bytes.
pub(crate) const FIXED64: u8 = 1;
/// Wire type 2: a varint length, then that many bytes.
pub(crate) const LEN: u8 = 2;
/// Wire type 3: start of a (deprecated) group.
pub(crate) const START_GROUP: u8 = 3;
/// Wire type 4: end of a group.
pub(crate) const END_GROUP: u8 = 4;
/// Wire type 5: 4 little-endian bytes.
pub(crate) const FIXED32: u8 = 5;

/// How deeply groups and messages may nest before the input is refused, as protobuf-java's
/// default recursion limit.
pub(crate) const MAX_DEPTH: usize = 100;

/// The number of bytes `v` takes as a varint.
pub(crate) const fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 significant bits; 0 still takes one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// The number of bytes a length-delimited field of `len` payload bytes takes, with a one-byte
/// tag.
pub(crate) const fn len_field_size(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// The number of bytes a varint field of value `v` takes, with a one-byte tag.
pub(crate) const fn varint_field_size(v: u64) -> usize {
    1 + varint_len(v)
}

/// Appends `v` as a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The one-byte tag of a field numbered below 16.
pub(crate) const fn tag(field: u8, wire_type: u8) -> u8 {
    (field << 3) | wire_type
}

/// Appends a length-delimited field (field number below 16).
pub(crate) fn put_len_field(out: &mut Vec<u8>, field: u8, payload: &[u8]) {
    out.push(tag(field, LEN));
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// Appends a varint field (field number below 16).
pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u8, v: u64) {
    out.push(tag(field, VARINT));
    put_varint(out, v);
}

/// A field's key: its number and wire type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) field: u32,
    pub(crate) wire_type: u8,
}

/// A cursor over `buf[pos..end]`. Offsets are absolute in `buf`, so that a length-delimited
/// field can be turned into a slice of the original input.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
        }
    }

    /// A reader over `range` of the same buffer (an embedded message).
    pub(crate) fn sub(&self, range: Range<usize>) -> Reader<'a> {
        Reader {
            buf: self.buf,
            pos: range.start,
            end: range.end,
        }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.pos >= self.end
    }

    /// The absolute offset of the next byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn err(&self, at: usize, kind: MalformedKind) -> Malformed {
        Malformed::new(at, kind)
    }

    /// Reads a varint of at most 10 bytes whose value fits in 64 bits.
    pub(crate) fn varint(&mut self) -> Result<u64, Malformed> {
        let start = self.pos;
        let mut value: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf[..self.end].get(self.pos) else {
                return Err(self.err(start, MalformedKind::Truncated));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                // The tenth byte may only hold the 64th bit.
                return Err(self.err(start, MalformedKind::VarintOverflow));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(self.err(start, MalformedKind::VarintOverflow))
    }

    /// Reads a field key.
    pub(crate) fn key(&mut self) -> Result<Key, Malformed> {
        let start = self.pos;
        let raw = self.varint()?;
        let field = raw >> 3;
        let wire_type = (raw & 7) as u8;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(self.err(start, MalformedKind::InvalidFieldNumber(field)));
        }
        if wire_type > FIXED32 {
            return Err(self.err(start, MalformedKind::InvalidWireType(wire_type)));
        }
        Ok(Key {
            field: field as u32,
            wire_type,
        })
    }

    /// Reads the length prefix of a length-delimited field and returns the payload's absolute
    /// range, moving past it.
    pub(crate) fn len_delimited(&mut self) -> Result<Range<usize>, Malformed> {
        let start = self.pos;
        let len = self.varint()?;
        let remaining = (self.end - self.pos) as u64;
        if len > remaining {
            return Err(self.err(start, MalformedKind::Truncated));
        }
        let begin = self.pos;
        // len <= remaining, which is a usize, so the cast cannot truncate.
        self.pos += len as usize;
        Ok(begin..self.pos)
    }

    fn advance(&mut self, n: usize) -> Result<(), Malformed> {
        if self.end - self.pos < n {
            return Err(self.err(self.pos, MalformedKind::Truncated));
        }
        self.pos += n;
        Ok(())
    }

    /// Skips the value of a field this decoder does not know (or knows with another wire type),
    /// as protobuf parsers do. A group is skipped up to its matching end; `depth` is the nesting
    /// depth of the message being read.
    pub(crate) fn skip(&mut self, key: Key, depth: usize) -> Result<(), Malformed> {
        match key.wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.advance(8),
            LEN => self.len_delimited().map(drop),
            FIXED32 => self.advance(4),
            START_GROUP => self.skip_group(key.field, depth),
            // END_GROUP outside a group: protobuf-java reports an invalid end tag.
            _ => Err(self.err(self.pos, MalformedKind::UnexpectedEndGroup)),
        }
    }

    /// Skips the fields of a group until the end-group key of `field`, nesting included,
    /// without recursion.
    fn skip_group(&mut self, field: u32, depth: usize) -> Result<(), Malformed> {
        let mut open = vec![field];
        while let Some(&innermost) = open.last() {
            if depth + open.len() > MAX_DEPTH {
                return Err(self.err(self.pos, MalformedKind::TooDeep));
            }
            if self.is_done() {
                return Err(self.err(self.pos, MalformedKind::Truncated));
            }
            let at = self.pos;
            let key = self.key()?;
            match key.wire_type {
                START_GROUP => open.push(key.field),
                END_GROUP if key.field == innermost => {
                    open.pop();
                }
                END_GROUP => return Err(self.err(at, MalformedKind::UnexpectedEndGroup)),
                VARINT => {
                    self.varint()?;
                }
                FIXED64 => self.advance(8)?,
                LEN => {
                    self.len_delimited()?;
                }
                _ => self.advance(4)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths_match_the_encoder() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            (1 << 21) - 1,
            1 << 21,
            (1 << 56) - 1,
            1 << 56,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            let mut r = Reader::new(&out);
            assert_eq!(r.varint().unwrap(), v);
            assert!(r.is_done());
        }
    }

    #[test]
    fn overlong_varints_are_refused() {
        let eleven = [0xffu8; 11];
        assert_eq!(
            Reader::new(&eleven).varint().unwrap_err().kind(),
            &MalformedKind::VarintOverflow
        );
        let mut ten = [0xffu8; 10];
        ten[9] = 0x02;
        assert_eq!(
            Reader::new(&ten).varint().unwrap_err().kind(),
            &MalformedKind::VarintOverflow
        );
        ten[9] = 0x01;
        assert_eq!(Reader::new(&ten).varint().unwrap(), u64::MAX);
    }

    #[test]
    fn nested_groups_are_skipped() {
        // field 5 start group, field 6 start group, field 1 varint 3, end 6, end 5, then byte 0x08.
        let buf = [
            tag(5, START_GROUP),
            tag(6, START_GROUP),
            tag(1, VARINT),
            3,
            tag(6, END_GROUP),
            tag(5, END_GROUP),
            0x08,
        ];
        let mut r = Reader::new(&buf);
        let key = r.key().unwrap();
        r.skip(key, 0).unwrap();
        assert_eq!(r.pos(), 6);
    }
}
