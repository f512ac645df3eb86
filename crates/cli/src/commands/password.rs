//! Passwords from the operator: asked at a terminal without echo, read from standard input otherwise.

use std::io::{BufRead, IsTerminal, Read};

use gatehouse_domain::password;

use super::context::CliError;

/// A new password for `email`, `None` when it is empty. At a terminal it is asked for twice ("Password for
/// EMAIL:" and a confirmation) without echo, on the terminal itself so that nothing reaches a log or the
/// scrollback; otherwise it is standard input's first line, so that a script can pipe one in.
pub fn read_new_password(email: &str) -> Result<Option<String>, CliError> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {email}: "))?;
        if first.is_empty() {
            return Ok(None);
        }
        let again = rpassword::prompt_password(format!("Confirm the password for {email}: "))?;
        if again != first {
            return Err(CliError("the two passwords differ; nothing was changed".into()));
        }
        first
    } else {
        first_line(std::io::stdin().lock())?
    };
    Ok((!password.is_empty()).then_some(password))
}

/// The first line of `input` without its line ending. Reading stops past the longest password the policy
/// accepts, so a longer one is still refused by the policy rather than cut to fit.
fn first_line(input: impl Read) -> Result<String, CliError> {
    let mut line = String::new();
    std::io::BufReader::new(input.take(password::MAX_BYTES as u64 + 2))
        .read_line(&mut line)
        .map_err(|error| CliError(format!("cannot read the password from standard input: {error}")))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_line_is_the_password() {
        assert_eq!(first_line(&b"correct horse battery\nsecond line\n"[..]).unwrap(), "correct horse battery");
        assert_eq!(first_line(&b"windows line\r\n"[..]).unwrap(), "windows line");
        assert_eq!(first_line(&b""[..]).unwrap(), "");
    }
}
