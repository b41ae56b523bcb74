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
