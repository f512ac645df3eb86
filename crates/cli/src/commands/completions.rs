//! `completions` and `man`: what a package ships beside the binary, generated from the same definition of
//! the command line that parses it, so that they cannot drift from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use serde_json::json;

use super::context::{CliError, CliResult};
use crate::args::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> CliResult {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "gatehouse", &mut script);
    write_stdout(&script)
}

/// Prints the man page of `gatehouse`, or writes one page per command into `out`.
pub fn man(out: Option<&Path>, json: bool) -> CliResult {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        return write_stdout(&page);
    };
    std::fs::create_dir_all(dir).map_err(|error| CliError(format!("cannot create {}: {error}", dir.display())))?;
    let mut written = Vec::new();
    write_pages(&command, dir, &mut written)?;
    if json {
        println!("{}", json!({ "pages": written.iter().map(|path| path.display().to_string()).collect::<Vec<_>>() }));
    } else {
        eprintln!("{} man pages written to {}", written.len(), dir.display());
    }
    Ok(())
}

/// One page per command, named after its path (`gatehouse-user-create.1`), as `man gatehouse-user-create`
/// finds it.
fn write_pages(command: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> CliResult {
    let page = clap_mangen::Man::new(command.clone());
    let path = page.generate_to(dir).map_err(|error| CliError(format!("cannot write a man page into {}: {error}", dir.display())))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    Ok(())
}

/// Writes everything, or fails with a message (a closed pipe, say) instead of a panic.
fn write_stdout(bytes: &[u8]) -> CliResult {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush()).map_err(|error| CliError(format!("cannot write to standard output: {error}")))
}
