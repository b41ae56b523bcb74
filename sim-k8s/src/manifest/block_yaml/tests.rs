//! The fast path against serde-saphyr: whatever it accepts must parse to the same tree, values
//! and positions alike.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::super::tree::{documents, parse_general};
use super::parse;
use crate::synth::{Shape, SynthSpec, manifests};

/// Compares both parsers on every document of `text`; returns (accepted, documents).
fn compare(name: &str, text: &str) -> (usize, usize) {
    let mut accepted = 0;
    let docs = documents(text);
    for (start_line, chunk) in &docs {
        let shift = start_line - 1;
        if let Some(fast) = parse(chunk, shift) {
            accepted += 1;
            let general = parse_general(chunk, shift);
            assert_eq!(
                Ok(fast),
                general,
                "{name}: document at line {start_line} parses differently:\n{chunk}"
            );
        }
    }
    (accepted, docs.len())
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if !p.ends_with("target") && !p.ends_with(".git") {
                yaml_files(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn every_yaml_file_in_the_repository_parses_as_serde_saphyr_parses_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() > 100, "found only {} YAML files", files.len());
    let (mut accepted, mut total) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let (a, t) = compare(&f.display().to_string(), &text);
        accepted += a;
        total += t;
    }
    // Most real manifests are in the subset; the rest still load through serde-saphyr.
    assert!(accepted * 2 > total, "the fast path took only {accepted} of {total} documents");
}

#[test]
fn generated_clusters_and_dumps_take_the_fast_path_entirely() {
    for shape in [Shape::Deployments, Shape::Dump, Shape::EndpointSlices] {
        let text = manifests(&SynthSpec { nodes: 3, services: 4, pods: 12, shape });
        let (accepted, total) = compare(&format!("{shape:?}"), &text);
        assert_eq!(accepted, total, "{shape:?}: {accepted} of {total} documents");
    }
}

/// Documents in the subset, each compared (and required to be accepted).
const ACCEPTED: &[&str] = &[
    "a: 1\nb: two\n",
    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x # a comment\n  labels: {}\n",
    "a:\n- x\n- y\nb:\n  - 1\n  - -2\nc: []\n",
    "items:\n- name: a\n  ports:\n  - port: 80\n    protocol: TCP\n- name: b\n",
    "k: 'it''s'\nq: \"a\\\"b\\n\\u00e9\"\n\"quoted key\": v\n'single': w\n",
    "t: true\nf: no\nY: y\nn: ~\nz: null\nother: off\n",
    "ip: 10.0.0.1\ncidr: 10.0.0.0/24\nmem: 100Mi\nts: 2024-01-01T00:00:00Z\nbig: 18446744073709551615\n",
    "script: |\n  line one\n    indented\n\n  line three\n\nnext: 1\n",
    "strip: |-\n  a\n  b\nclip: |\n  c\n",
    "- |\n  in a sequence\n- x\n",
    "m:\n  - k: |\n      deep\n    j: 2\n",
    "url: http://x:80/a#frag\nimg: nginx:1.25\nweird: a#b\n",
    "é: ünïcödé\nnested:\n  ключ: значение\n",
    "# only a comment\na: 1\n\n\n# trailing\n",
    "  indented: root\n  second: 2\n",
    "a: ${HOME}\n",
    "- a\n- b: c\n  d: e\n-\n  f: g\n",
];

#[test]
fn the_subset_parses_as_serde_saphyr_parses_it() {
    for text in ACCEPTED {
        let (accepted, total) = compare("snippet", text);
        assert_eq!((accepted, total), (1, 1), "not taken by the fast path:\n{text}");
    }
}

/// Documents outside the subset: the fast path must decline them (serde-saphyr parses them,
/// or reports their error).
const DECLINED: &[&str] = &[
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: {b: 1}\n",
    "a: [1, 2]\n",
    "a: >\n  folded\n",
    "a: |+\n  keep\n\n",
    "a: |2\n    x\n",
    "a: multi\n  line\n",
    "a: \"open\n  quote\"\n",
    "a: 1.5\n",
    "a: 0x1F\n",
    "a: 007\n",
    "a: +1\n",
    "a: .inf\n",
    "a: 1\na: 2\n",
    "a:\tb\n",
    "a: 1\r\n",
    "%YAML 1.2\n---\na: 1\n",
    "a: b: c\n",
    "a:\n",
    "a:\nb: 1\n",
    "? complex\n: key\n",
    "just a scalar\n",
    "a: 1\n- b\n",
    "- - nested\n",
    "<<: {a: 1}\n",
    "a: x\n b: y\n",
    "80: x\n\"80\": y\n",
];

#[test]
fn what_is_outside_the_subset_is_declined() {
    for text in DECLINED {
        assert_eq!(parse(text, 0), None, "taken by the fast path:\n{text}");
    }
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9.-]{0,8}",
        "[0-9]{1,4}",
        "-[1-9][0-9]{0,3}",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        Just("true".to_string()),
        Just("No".to_string()),
        Just("~".to_string()),
        Just("''".to_string()),
        Just("\"x: y\"".to_string()),
        Just("{}".to_string()),
        Just("[]".to_string()),
        Just("a # comment".to_string()),
        Just("1.5".to_string()),
        Just("v: w".to_string()),
    ]
}

/// A random block document of keys, sequences (compact and indented) and scalars.
fn document() -> impl Strategy<Value = String> {
    #[derive(Clone, Debug)]
    enum Tree {
        Scalar(String),
        Map(Vec<(String, Tree)>),
        Seq(Vec<Tree>, bool),
    }
    let leaf = scalar().prop_map(Tree::Scalar);
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(("[a-z]{1,6}", inner.clone()), 1..4).prop_map(Tree::Map),
            (prop::collection::vec(inner, 1..4), any::<bool>()).prop_map(|(v, c)| Tree::Seq(v, c)),
        ]
    });
    fn render(t: &Tree, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match t {
            Tree::Scalar(s) => {
                out.push(' ');
                out.push_str(s);
                out.push('\n');
            }
            Tree::Map(entries) => {
                out.push('\n');
                for (k, v) in entries {
                    out.push_str(&pad);
                    out.push_str(k);
                    out.push(':');
                    render(v, indent + 2, out);
                }
            }
            Tree::Seq(items, _) => {
                out.push('\n');
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    render(item, indent + 2, out);
                }
            }
        }
    }
    prop::collection::vec(("[a-z]{1,6}", tree), 1..4).prop_map(|entries| {
        let mut out = String::new();
        for (k, v) in &entries {
            out.push_str(k);
            out.push(':');
            match v {
                // A compact sequence sits at its key's indentation.
                Tree::Seq(_, true) => render(v, 0, &mut out),
                _ => render(v, 2, &mut out),
            }
        }
        out
    })
}

proptest! {
    #[test]
    fn random_block_documents_parse_as_serde_saphyr_parses_them(text in document()) {
        compare("generated", &text);
    }
}
