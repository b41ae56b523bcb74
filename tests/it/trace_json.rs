//! `netsim trace --format json`: JSON Lines rendered from the trace report, checked against
//! the schema documented in docs/trace-json.md (issue 16).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::netsim;

/// The fields the multi-node section of docs/trace-json.md documents (`| `name` |` rows).
fn documented_fields() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/trace-json.md"))
        .expect("docs/trace-json.md is readable");
    let section = doc.split("## The multi-node trace").nth(1).expect("the multi-node section exists");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(f, _)| f.to_string()))
        .collect()
}

fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn trace_lines(extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "trace",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--from",
        "client",
        "--to",
        "10.32.1.149:30380",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = netsim(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not one JSON object per line: {e}: {l}")))
        .collect()
}

#[test]
fn every_documented_trace_field_appears_in_the_json_lines() {
    let mut seen = BTreeSet::new();
    for lines in [trace_lines(&[]), trace_lines(&["--proxy-mode", "ipvs"])] {
        assert_eq!(lines[0]["event"], "trace");
        assert_eq!(lines[0]["schema"], "netsim.trace/v1");
        assert_eq!(lines[1]["event"], "summary");
        assert_eq!(lines.last().map(|l| l["event"].clone()), Some(Value::from("end")));
        for l in &lines {
            keys(l, &mut seen);
        }
    }
    // `message` belongs to `kernelLog` steps, which only a full conntrack table produces;
    // `joined` to `conntrackClash` steps, which only packets racing at one instant produce.
    let rare = ["message", "joined"];
    let missing: Vec<_> = documented_fields()
        .into_iter()
        .filter(|f| !seen.contains(f) && !rare.contains(&f.as_str()))
        .collect();
    assert!(missing.is_empty(), "documented but never printed: {missing:?}");
}

#[test]
fn the_summary_names_nat_endpoint_and_the_client_the_server_saw() {
    let lines = trace_lines(&["--packet", "first"]);
    let s = &lines[1];
    let kinds: Vec<_> = s["nat"].as_array().into_iter().flatten().map(|n| n["kind"].clone()).collect();
    assert_eq!(kinds, [Value::from("DNAT"), Value::from("SNAT")]);
    assert_eq!(s["nat"][0]["before"], "10.32.1.149:30380");
    assert!(s["servedBy"]["name"].as_str().is_some_and(|n| n.starts_with("pod/my-nginx-")));
    assert_eq!(s["clientSeen"], s["nat"][1]["after"]);
    // Only packet 1 is detailed; replies elsewhere are un-NATed, never new NAT.
    assert!(lines.iter().filter(|l| l["event"] == "packet").all(|l| l["packet"] == 1));
    let all = trace_lines(&[]);
    for l in all.iter().filter(|l| l["step"] == "nat") {
        let reply = all
            .iter()
            .any(|p| p["event"] == "packet" && p["packet"] == l["packet"] && p["direction"] == "reply");
        let kind = l["nat"]["kind"].as_str().unwrap_or_default();
        assert_eq!(reply, kind.starts_with("un-"), "{l}");
    }
}

#[test]
fn trace_text_puts_the_summary_first_and_groups_packets() {
    let out = netsim(&[
        "trace",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--from",
        "client",
        "--to",
        "10.32.1.149:30380",
        "--detail",
        "hops",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[2].starts_with("result: completed, served by pod/my-nginx-"), "{}", out.stdout);
    let headings: Vec<&str> = lines.iter().filter(|l| l.starts_with("packet ")).copied().collect();
    let numbers: Vec<String> =
        headings.iter().filter_map(|h| h.split_whitespace().nth(1)).map(String::from).collect();
    let expected: Vec<String> = (1..=numbers.len()).map(|n| n.to_string()).collect();
    assert_eq!(numbers, expected, "each packet once, in order");
    assert!(out.stdout.contains("un-DNAT 10.244.2.2:80 -> 10.32.1.149:30380"), "{}", out.stdout);
    let summary = netsim(&[
        "trace",
        "-f",
        "scenarios/manifests/my-nginx.yaml",
        "--from",
        "client",
        "--to",
        "10.32.1.149:30380",
        "--detail",
        "summary",
    ]);
    assert!(!summary.stdout.contains("\npacket "), "{}", summary.stdout);
    assert!(
        summary.stdout.contains("  DNAT:        node02 PREROUTING: 10.32.1.149:30380 -> "),
        "{}",
        summary.stdout
    );
}
