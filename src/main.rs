//! The `netsim` binary: see `netsim --help`.

use clap::Parser;

/// mimalloc instead of glibc's malloc: see the comment on the dependency in Cargo.toml and
/// docs/performance.md (cluster scale).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (mimalloc.h; libmimalloc-sys names no
/// constant for it): milliseconds before freed memory goes back to the OS, -1 for never.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> std::process::ExitCode {
    // A simulation frees and reallocates memory of the same sizes all the time; giving it back
    // to the OS only to fault it in again, zeroed, cost more than the allocator saved. (The
    // environment's MIMALLOC_PURGE_DELAY=-1, read before the first allocation, does this more
    // thoroughly still: docs/performance.md.)
    // SAFETY: sets a plain integer option, before any thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // Transparent huge pages stay as the allocator has them (on): mimalloc decides at its
    // initialisation, before `main`, so only MIMALLOC_ALLOW_THP=0 in the environment turns them
    // off, and off was slower at every size measured (docs/performance.md, Session 25).
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
