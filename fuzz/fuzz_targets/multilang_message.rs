//! Reads arbitrary lines as MultiLangDaemon protocol messages, from either side.
//!
//! Properties: parsing never panics; a line that parses writes a line that parses back as the
//! same message, and writing that again gives the same line.

#![no_main]

use kinesis_kcl_compat::multilang::{FromProcessor, ToProcessor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = ToProcessor::parse(line) {
        let written = message.to_line();
        let again = ToProcessor::parse(&written).expect("a written daemon message reads back");
        assert_eq!(again, message);
        assert_eq!(again.to_line(), written);
    }
    if let Ok(message) = FromProcessor::parse(line) {
        let written = message.to_line();
        let again = FromProcessor::parse(&written).expect("a written processor message reads back");
        assert_eq!(again, message);
        assert_eq!(again.to_line(), written);
    }
});
