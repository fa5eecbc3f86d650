//! Runs `cargo test` with its output shown as usual and remembers what failed, so that a tier's
//! failure (and the `ci` summary at the end of a long log) names the failing tests and their
//! panic messages.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::util::{self, Context, Error, Result};

/// Lines kept from the end of one failing test's captured output.
const LINES_PER_FAILURE: usize = 12;

/// Runs a `cargo test` command: its stdout is echoed line by line and scanned for the libtest
/// failure sections (`---- name stdout ----`). On failure the error lists each failing test with
/// the last lines of its output (where the panic message is).
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", util::display_command(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context(|| format!("cannot run `{}`", cmd.get_program().to_string_lossy()))?;
    let mut failures = Failures::default();
    if let Some(stdout) = child.stdout.take() {
        let mut out = std::io::stdout();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // A closed stdout must not stop us from draining the pipe.
            let _ = writeln!(out, "{line}");
            failures.feed(&line);
        }
    }
    let status = child
        .wait()
        .context(|| format!("cannot wait for `{}`", cmd.get_program().to_string_lossy()))?;
    if status.success() {
        return Ok(());
    }
    let mut message = format!("`{}` failed ({status})", util::display_command(cmd));
    message.push_str(&failures.render());
    Err(Error::new(message))
}

/// One failing test's captured output: its panic message when there is one (a backtrace is
/// left out), otherwise its last lines.
#[derive(Debug, Default)]
struct Section {
    tail: Vec<String>,
    panic: Vec<String>,
    in_panic: bool,
}

impl Section {
    fn feed(&mut self, line: &str) {
        if line.starts_with("thread '") && line.contains("panicked at") {
            // The last panic is the one that failed the test.
            self.panic.clear();
            self.in_panic = true;
        } else if line.starts_with("stack backtrace:") || line.starts_with("note: ") {
            self.in_panic = false;
        }
        if self.in_panic && self.panic.len() < LINES_PER_FAILURE {
            self.panic.push(line.to_string());
        }
        self.tail.push(line.to_string());
        if self.tail.len() > LINES_PER_FAILURE {
            self.tail.remove(0);
        }
    }

    fn shown(&self) -> &[String] {
        if self.panic.is_empty() {
            &self.tail
        } else {
            &self.panic
        }
    }
}

/// The failure sections of libtest output, collected line by line.
#[derive(Debug, Default)]
struct Failures {
    /// (test name, captured output) per failure section seen.
    sections: Vec<(String, Section)>,
    /// Names from the `test x ... FAILED` result lines, in case a section is missing
    /// (a test binary that aborted).
    failed: Vec<String>,
    in_section: bool,
}

impl Failures {
    fn feed(&mut self, line: &str) {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            self.sections.push((name.to_string(), Section::default()));
            self.in_section = true;
            return;
        }
        if let Some(name) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        {
            self.failed.push(name.to_string());
        }
        if self.in_section {
            // libtest ends the sections with the list of failures.
            if line == "failures:" || line.starts_with("test result:") {
                self.in_section = false;
            } else if let Some((_, section)) = self.sections.last_mut() {
                section.feed(line);
            }
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let mut named: Vec<&str> = Vec::new();
        for (name, section) in &self.sections {
            named.push(name);
            out.push_str(&format!("\n    failed: {name}"));
            for line in section.shown().iter().filter(|l| !l.trim().is_empty()) {
                out.push_str(&format!("\n      | {line}"));
            }
        }
        for name in &self.failed {
            if !named.contains(&name.as_str()) {
                out.push_str(&format!("\n    failed: {name} (no captured output)"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_failing_tests_with_their_last_lines() {
        let mut f = Failures::default();
        let log = "\
running 2 tests
test a::ok ... ok
test b::bad ... FAILED

failures:

---- b::bad stdout ----
some log line

thread 'b::bad' panicked at tests/b.rs:3:5:
missing: [1, 2]

failures:
    b::bad

test result: FAILED. 1 passed; 1 failed
test c::aborted ... FAILED
";
        for line in log.lines() {
            f.feed(line);
        }
        let text = f.render();
        assert!(text.contains("failed: b::bad"), "{text}");
        assert!(text.contains("| missing: [1, 2]"), "{text}");
        assert!(!text.contains("b::bad (no captured output)"), "{text}");
        assert!(
            text.contains("failed: c::aborted (no captured output)"),
            "{text}"
        );
        assert!(!text.contains("failures:"), "{text}");
    }

    #[test]
    fn shows_the_panic_message_not_the_backtrace() {
        let mut f = Failures::default();
        f.feed("---- t stdout ----");
        f.feed("thread 't' panicked at src/x.rs:1:1:");
        f.feed("assertion failed: waited <= limit");
        f.feed("stack backtrace:");
        for i in 0..40 {
            f.feed(&format!("  {i}: frame"));
        }
        let text = f.render();
        assert!(text.contains("assertion failed: waited <= limit"), "{text}");
        assert!(!text.contains("frame"), "{text}");
    }

    #[test]
    fn keeps_only_the_last_lines_of_a_long_section() {
        let mut f = Failures::default();
        f.feed("---- t stdout ----");
        for i in 0..100 {
            f.feed(&format!("line {i}"));
        }
        let text = f.render();
        assert!(
            text.contains("line 99") && !text.contains("line 50"),
            "{text}"
        );
    }
}
