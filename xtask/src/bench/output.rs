//! The benchmark program's output: its figure and note lines, read as flat JSON.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::{self, Context, Error, Result};

use super::*;

// === the benchmark program's output ===

/// One figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// `None` when the program could not measure it (`null`).
    pub(crate) value: Option<f64>,
    pub(crate) unit: String,
}

/// What a benchmark program printed.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub(crate) figures: BTreeMap<String, Figure>,
    pub(crate) notes: BTreeMap<String, String>,
}

impl Output {
    pub(super) fn value(&self, metric: &str) -> Option<f64> {
        self.figures.get(metric).and_then(|f| f.value)
    }

    pub(super) fn note(&self, key: &str) -> Option<&str> {
        self.notes.get(key).map(String::as_str)
    }

    /// Figures whose name starts with `prefix`, in name order.
    pub(super) fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Figure)> + 'a {
        self.figures
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, f)| (k.as_str(), f))
    }

    /// Takes one line of the program's stdout; returns false when it is not one of ours.
    pub(super) fn take_line(&mut self, line: &str) -> bool {
        let Some(fields) = parse_flat_json(line) else {
            return false;
        };
        let text = |key: &str| match fields.get(key) {
            Some(Json::Str(s)) => Some(s.clone()),
            _ => None,
        };
        if let (Some(metric), Some(value)) = (text("metric"), fields.get("value")) {
            let value = match value {
                Json::Num(n) => Some(*n),
                _ => None,
            };
            let unit = text("unit").unwrap_or_default();
            self.figures.insert(metric, Figure { value, unit });
            true
        } else if let (Some(key), Some(body)) = (text("note"), text("text")) {
            self.notes.insert(key, body);
            true
        } else {
            false
        }
    }
}

/// Runs the program with its stdout read line by line (figures collected, other lines shown on
/// stderr) and stderr inherited; fails when it fails.
pub(super) fn capture(cmd: &mut Command) -> Result<Output> {
    eprintln!("$ {}", util::display_command(cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context(|| "cannot start cargo".to_string())?;
    let mut output = Output::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if output.take_line(&line) {
                eprintln!("   > {line}");
            } else {
                eprintln!("{line}");
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(Error::new(format!(
            "`{}` failed ({status}); {OUTPUT} was not changed",
            util::display_command(cmd)
        )));
    }
    if output.figures.is_empty() {
        return Err(Error::new(format!(
            "`{}` printed no figures; {OUTPUT} was not changed",
            util::display_command(cmd)
        )));
    }
    Ok(output)
}

/// A JSON value of a flat object (no nesting: the benchmark programs print nothing else).
#[derive(Debug, Clone, PartialEq)]
#[allow(dead_code)] // a boolean's value is read by the tests only
pub(crate) enum Json {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// Parses one flat JSON object (`{"key": "text" | number | true | false | null, ...}`);
/// `None` for anything else.
pub(crate) fn parse_flat_json(line: &str) -> Option<BTreeMap<String, Json>> {
    let mut p = Parser {
        chars: line.trim().chars().peekable(),
    };
    p.expect('{')?;
    let mut out = BTreeMap::new();
    p.skip_ws();
    if p.chars.peek() == Some(&'}') {
        p.chars.next();
        return p.at_end().then_some(out);
    }
    loop {
        p.skip_ws();
        let key = p.string()?;
        p.skip_ws();
        p.expect(':')?;
        p.skip_ws();
        let value = p.value()?;
        out.insert(key, value);
        p.skip_ws();
        match p.chars.next()? {
            ',' => continue,
            '}' => break,
            _ => return None,
        }
    }
    p.at_end().then_some(out)
}

pub(super) struct Parser<'a> {
    pub(super) chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    pub(super) fn skip_ws(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
    }

    pub(super) fn expect(&mut self, c: char) -> Option<()> {
        (self.chars.next()? == c).then_some(())
    }

    pub(super) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.chars.peek().is_none()
    }

    pub(super) fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut s = String::new();
        loop {
            match self.chars.next()? {
                '"' => return Some(s),
                '\\' => match self.chars.next()? {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    '/' => s.push('/'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let hex: String =
                            (0..4).map(|_| self.chars.next()).collect::<Option<_>>()?;
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    _ => return None,
                },
                c => s.push(c),
            }
        }
    }

    pub(super) fn value(&mut self) -> Option<Json> {
        match *self.chars.peek()? {
            '"' => self.string().map(Json::Str),
            't' | 'f' | 'n' => {
                let mut word = String::new();
                while self.chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    word.push(self.chars.next()?);
                }
                match word.as_str() {
                    "true" => Some(Json::Bool(true)),
                    "false" => Some(Json::Bool(false)),
                    "null" => Some(Json::Null),
                    _ => None,
                }
            }
            _ => {
                let mut number = String::new();
                while self
                    .chars
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    number.push(self.chars.next()?);
                }
                number.parse().ok().map(Json::Num)
            }
        }
    }
}
