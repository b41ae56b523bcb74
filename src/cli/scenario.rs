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
    /// Write an SVG of each traffic step's outcomes over time into DIR
    /// (`SCENARIO-TRAFFIC.svg`), the scenario's events marked.
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,
    /// Also write a self-contained HTML report of the run: each trace step's connection drawn
    /// on the topology (each hop's rules on click, its transcript beside it), then the whole
    /// transcript.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Arguments of `netsim test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Scenario files or directories (searched recursively for `.yaml`/`.yml` files with a
    /// `steps:` key).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Override every scenario's seed.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run every scenario once per seed of a range: `1..1000` (1 to 999) or `1..=1000`.
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range)]
    pub seeds: Option<SeedRange>,
    /// Run only shard I of N (1-based) of the (scenario, seed) runs, as `cargo nextest
    /// --partition count:I/N` splits tests: run k belongs to shard `k mod N + 1`. N processes
    /// with I = 1..N (an Indexed Job, a CI matrix) together run everything once.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
}

/// A half-open range of seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

/// One shard of a sweep: `index` in `1..=count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1-based.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

/// Parses `A..B` or `A..=B`.
pub fn parse_seed_range(s: &str) -> Result<SeedRange, String> {
    let bad = || format!("expected A..B or A..=B with A and B whole numbers, got {s:?}");
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let start: u64 = a.trim().parse().map_err(|_| bad())?;
    let last: u64 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive { last.checked_add(1).ok_or_else(bad)? } else { last };
    if end <= start {
        return Err(format!("the seed range {s:?} is empty"));
    }
    Ok(SeedRange { start, end })
}

/// Parses `I/N` with `1 <= I <= N`.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("expected I/N with 1 <= I <= N, got {s:?}");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let index: u64 = i.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if index == 0 || count == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
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
            if let Some(dir) = &a.plots
                && let Err(e) = write_plots(dir, &s.name, &r)
            {
                eprintln!("netsim: --plots {}: {e}", dir.display());
                return exit::INVALID;
            }
            if let Some(path) = &a.html {
                let page = crate::html_report::HtmlReport {
                    title: format!("netsim scenario: {}", s.name),
                    seed: a.seed.unwrap_or(s.seed),
                    traces: r.traces.clone(),
                    topology: r.topology.clone(),
                    transcript: Some(r.transcript.clone()),
                };
                if let Err(e) = std::fs::write(path, crate::html_report::render(&page)) {
                    eprintln!("netsim: --html {}: {e}", path.display());
                    return exit::INVALID;
                }
            }
            if r.passed() { exit::OK } else { exit::FAILED }
        }
        Err(d) => {
            eprintln!("{d}");
            exit::INVALID
        }
    }
}

/// Writes `DIR/SCENARIO-TRAFFIC.svg` for each traffic step of a run.
fn write_plots(dir: &Path, scenario: &str, r: &runner::RunResult) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for t in &r.traffic {
        let path = dir.join(format!("{scenario}-{}.svg", t.traffic.name));
        std::fs::write(path, crate::plot::svg(scenario, t))?;
    }
    Ok(())
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

/// The runs of `netsim test`, in order: each scenario file, once per seed of `--seeds` (or once
/// with `--seed` / its own seed), then the ones of this `--shard`.
pub fn runs(files: &[PathBuf], a: &TestArgs) -> Vec<(PathBuf, Option<u64>)> {
    let seeds: Vec<Option<u64>> = match a.seeds {
        Some(r) => (r.start..r.end).map(Some).collect(),
        None => vec![a.seed],
    };
    let all = files.iter().flat_map(|f| seeds.iter().map(move |s| (f.clone(), *s)));
    match a.shard {
        Some(sh) => {
            all.enumerate().filter(|(k, _)| *k as u64 % sh.count == sh.index - 1).map(|(_, r)| r).collect()
        }
        None => all.collect(),
    }
}

/// Runs `netsim test`.
pub fn test(a: TestArgs) -> u8 {
    let files: Vec<PathBuf> = a.paths.iter().flat_map(|p| scenario_files(p)).collect();
    let runs = runs(&files, &a);
    let (mut passed, mut failed) = (0, 0);
    let tty = std::io::stderr().is_terminal();
    for (i, (f, seed)) in runs.iter().enumerate() {
        if tty {
            eprint!("\r[{}/{}] {}\x1b[K", i + 1, runs.len(), f.display());
        }
        let result = Scenario::load(f)
            .map_err(|d| d.to_string())
            .and_then(|s| runner::run(&s, *seed).map_err(|d| d.to_string()));
        if tty {
            eprint!("\r\x1b[K");
        }
        // With a sweep, each line names its seed, so shards' outputs merge by concatenation.
        let label = match (a.seeds, seed) {
            (Some(_), Some(s)) => format!("{} (seed {s})", f.display()),
            _ => f.display().to_string(),
        };
        match result {
            Ok(r) if r.passed() => {
                passed += 1;
                println!("ok     {label}");
            }
            Ok(r) => {
                failed += 1;
                println!("FAILED {label}");
                for m in &r.failures {
                    println!("  {m}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAILED {label}");
                for l in e.lines() {
                    println!("  {l}");
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 { exit::OK } else { exit::FAILED }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(seed: Option<u64>, seeds: Option<&str>, shard: Option<&str>) -> TestArgs {
        TestArgs {
            paths: Vec::new(),
            seed,
            seeds: seeds.map(|s| parse_seed_range(s).unwrap()),
            shard: shard.map(|s| parse_shard(s).unwrap()),
        }
    }

    #[test]
    fn seed_ranges_and_shards_parse_or_say_what_they_expected() {
        assert_eq!(parse_seed_range("1..4"), Ok(SeedRange { start: 1, end: 4 }));
        assert_eq!(parse_seed_range("1..=4"), Ok(SeedRange { start: 1, end: 5 }));
        assert_eq!(parse_seed_range("5..5"), Err("the seed range \"5..5\" is empty".into()));
        assert_eq!(
            parse_seed_range("1-4"),
            Err("expected A..B or A..=B with A and B whole numbers, got \"1-4\"".into())
        );
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "x/2", "3"] {
            assert_eq!(parse_shard(bad), Err(format!("expected I/N with 1 <= I <= N, got {bad:?}")));
        }
    }

    #[test]
    fn shards_split_the_runs_once_each() {
        let files = vec![PathBuf::from("a.yaml"), PathBuf::from("b.yaml")];
        let all = runs(&files, &args(None, Some("1..=5"), None));
        assert_eq!(all.len(), 10);
        assert_eq!(all[0], (PathBuf::from("a.yaml"), Some(1)));
        assert_eq!(all[5], (PathBuf::from("b.yaml"), Some(1)));
        let mut merged: Vec<_> =
            (1..=3).flat_map(|i| runs(&files, &args(None, Some("1..=5"), Some(&format!("{i}/3"))))).collect();
        merged.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(merged, want);
        // Without a sweep: one run per file with the --seed override.
        assert_eq!(runs(&files, &args(Some(7), None, Some("2/2"))), vec![(PathBuf::from("b.yaml"), Some(7))]);
    }
}
