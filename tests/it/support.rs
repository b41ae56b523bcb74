//! Helpers: run the `netsim` binary and capture what it prints.

use std::process::Command;

/// What a run printed and how it ended.
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub code: i32,
}

/// Runs `netsim ARGS` with `input` on standard input.
pub fn netsim_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the netsim binary runs");
    child.stdin.take().expect("stdin is piped").write_all(input.as_bytes()).expect("stdin takes the input");
    let out = child.wait_with_output().expect("netsim finishes");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Runs `netsim ARGS` from the repository root.
pub fn netsim(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the netsim binary runs");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}
