//! `kinesis completions SHELL`: a completion script for bash, zsh, fish, PowerShell or elvish.

use clap::CommandFactory;
use clap_complete::Shell;

/// Print a completion script. For bash: `kinesis completions bash > ~/.local/share/bash-completion/completions/kinesis`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

pub(crate) fn run<C: CommandFactory>(args: &Args) {
    let mut command = C::command();
    clap_complete::generate(args.shell, &mut command, "kinesis", &mut std::io::stdout());
}
