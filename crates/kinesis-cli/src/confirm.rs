//! Asking before a write: `--yes` answers for the operator; without a terminal, nothing is written.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{CliError, Exit, Result};

/// Asks `question` on stderr and reads the answer from stdin; `yes` skips the question.
///
/// # Errors
///
/// [`Exit::Declined`] when the answer is not `y`/`yes`, or when stdin is not a terminal and
/// `--yes` was not given.
pub(crate) async fn confirm(question: String, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Exit::Declined,
            format!("{question} Not confirmed: stdin is not a terminal; pass --yes to confirm"),
        ));
    }
    let answer = tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{question} [y/N] ");
        let _ = stderr.flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| CliError::failure(format!("reading the answer failed: {e}")))?
    .map_err(|e| CliError::failure(format!("reading the answer from stdin failed: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::new(
            Exit::Declined,
            "not confirmed; nothing was changed",
        )),
    }
}
