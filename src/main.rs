//! The `netsim` binary: see `netsim --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    netsim::cli::run(netsim::cli::Cli::parse())
}

/// Rust starts programs with SIGPIPE ignored, so writing to a closed pipe (`netsim ... | head`)
/// would make `println!` panic. A command-line tool should end quietly instead, as cat and grep do.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
