//! `netsim run FILE` and `netsim test PATHS...`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::exit;
use crate::runner;
use crate::scenario::Scenario;

/// Transcript formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TranscriptFormat {
    /// The terminal session.
    Text,
    /// `{"name", "seed", "transcript", "failures"}`.
    Json,
}

/// Arguments of `netsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TranscriptFormat,
}

/// Arguments of `netsim test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Scenario files or directories (searched recursively for `.yaml`/`.yml` files with a
    /// `steps:` key).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Override every scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs `netsim run`.
pub fn run(a: RunArgs) -> u8 {
    let s = match Scenario::load(&a.file) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return exit::INVALID;
        }
    };
    match runner::run(&s, a.seed) {
        Ok(r) => {
            match a.format {
                TranscriptFormat::Text => print!("{}", r.transcript),
                TranscriptFormat::Json => {
                    let v = serde_json::json!({
                        "name": s.name,
                        "seed": a.seed.unwrap_or(s.seed),
                        "transcript": r.transcript,
                        "failures": r.failures,
                    });
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                }
            }
            for f in &r.failures {
                eprintln!("{f}");
            }
            if r.passed() { exit::OK } else { exit::FAILED }
        }
        Err(d) => {
            eprintln!("{d}");
            exit::INVALID
        }
    }
}

/// Every scenario file under `p`, sorted.
pub fn scenario_files(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if p.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(p).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        entries.sort();
        for e in entries {
            out.extend(scenario_files(&e));
        }
    } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml")
        && std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.starts_with("steps:")))
    {
        out.push(p.to_path_buf());
    }
    out
}

/// Runs `netsim test`.
pub fn test(a: TestArgs) -> u8 {
    let files: Vec<PathBuf> = a.paths.iter().flat_map(|p| scenario_files(p)).collect();
    let (mut passed, mut failed) = (0, 0);
    let tty = std::io::stderr().is_terminal();
    for (i, f) in files.iter().enumerate() {
        if tty {
            eprint!("\r[{}/{}] {}\x1b[K", i + 1, files.len(), f.display());
        }
        let result = Scenario::load(f)
            .map_err(|d| d.to_string())
            .and_then(|s| runner::run(&s, a.seed).map_err(|d| d.to_string()));
        if tty {
            eprint!("\r\x1b[K");
        }
        match result {
            Ok(r) if r.passed() => {
                passed += 1;
                println!("ok     {}", f.display());
            }
            Ok(r) => {
                failed += 1;
                println!("FAILED {}", f.display());
                for m in &r.failures {
                    println!("  {m}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAILED {}", f.display());
                for l in e.lines() {
                    println!("  {l}");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 { exit::OK } else { exit::FAILED }
}
