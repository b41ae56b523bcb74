//! Every scenario under `scenarios/` runs twice — the transcripts must be byte-identical
//! (determinism) — every expectation must hold, and the transcript is snapshotted, so any
//! drift in rules, output formats or packet paths shows up as a reviewable diff.

use netsim::runner;
use netsim::scenario::Scenario;

#[test]
fn every_scenario_is_deterministic_passes_and_matches_its_snapshot() {
    insta::glob!("../../scenarios", "**/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        if !text.lines().any(|l| l.starts_with("steps:")) {
            return; // a manifest, not a scenario
        }
        let rel = path.strip_prefix(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_or(path);
        let s = Scenario::parse(rel, text).unwrap_or_else(|d| panic!("{d}"));
        let first = runner::run(&s, None).unwrap_or_else(|d| panic!("{d}"));
        let second = runner::run(&s, None).unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(first.transcript, second.transcript, "{}: two runs differ", rel.display());
        assert!(
            first.failures.is_empty(),
            "{}:\n{}\n\n{}",
            rel.display(),
            first.failures.join("\n"),
            first.transcript
        );
        insta::assert_snapshot!(first.transcript);
    });
}
