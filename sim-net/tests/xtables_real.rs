//! The xtables extensions against the real iptables.
//!
//! `data/xt/extensions.rules` holds every extension netsim models, written the ways people
//! write them; `data/xt/extensions.saved` is what the real `iptables-save` v1.8.9 printed for
//! it (the nft and legacy backends print the same, table by table). Two tests:
//!
//! - `netsim_saves_what_real_iptables_saved`: netsim's `iptables-save` of the file is that
//!   text, byte for byte (runs everywhere);
//! - `differential_against_the_installed_iptables`: when `iptables-restore` is installed and the
//!   test runs as root, it restores the file in a network namespace the test creates (never
//!   the machine's own), with both backends, and compares `iptables-save -t TABLE` with
//!   netsim's. Otherwise it prints why it is skipped. (`.ci/run` installs `iptables` and
//!   `ipset`.)

use std::process::Command;

use sim_net::netfilter::{Netfilter, SaveOptions, TableName};

const RULES: &str = include_str!("data/xt/extensions.rules");
const SAVED: &str = include_str!("data/xt/extensions.saved");

fn netsim(rules: &str) -> Netfilter {
    let mut nf = Netfilter::new();
    for set in [["create", "S", "hash:ip"], ["create", "SN", "hash:net"], ["create", "SP", "hash:ip,port"]] {
        nf.ipset(&set).unwrap();
    }
    nf.restore(rules, false).unwrap_or_else(|e| panic!("{e}"));
    nf
}

/// netsim's save of the tables in the order the `.saved` file has them (mangle, raw,
/// filter, nat), each as `iptables-save -t TABLE` prints it.
fn netsim_saved(nf: &Netfilter, tables: &[TableName]) -> String {
    tables.iter().map(|t| nf.save_table(*t, &SaveOptions::default())).collect()
}

const TABLES: [TableName; 4] = [TableName::Mangle, TableName::Raw, TableName::Filter, TableName::Nat];

#[test]
fn netsim_saves_what_real_iptables_saved() {
    let nf = netsim(RULES);
    let got = netsim_saved(&nf, &TABLES);
    assert_same(&got, SAVED, "the recorded real iptables-save");
    // And the canonical form restores to itself.
    let again = netsim(SAVED);
    assert_eq!(netsim_saved(&again, &TABLES), SAVED);
}

/// Fails with the differing lines.
fn assert_same(ours: &str, real: &str, what: &str) {
    if ours == real {
        return;
    }
    let diff: Vec<String> = ours
        .lines()
        .zip(real.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("netsim: {a}\nreal:   {b}"))
        .collect();
    panic!(
        "netsim differs from {what} ({} vs {} lines):\n{}",
        ours.lines().count(),
        real.lines().count(),
        diff.join("\n")
    );
}

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd}")).output().is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A network namespace that is deleted when dropped.
struct Netns(String);

impl Netns {
    fn new() -> Option<Netns> {
        let name = format!("nstest-xt-{}", std::process::id());
        let ok = Command::new("ip").args(["netns", "add", &name]).status().is_ok_and(|s| s.success());
        ok.then_some(Netns(name))
    }
    fn sh(&self, script: &str) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-c", script])
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec: {e}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Restores `rules` with `backend`'s iptables-restore in a fresh namespace and returns
/// `iptables-save -t T` of `tables`, banners removed.
fn real_save(backend: &str, rules: &str, tables: &[TableName]) -> Result<String, String> {
    let ns = Netns::new().ok_or("cannot create a network namespace")?;
    let path = std::env::temp_dir().join(format!("{}-{backend}.rules", ns.0));
    std::fs::write(&path, rules).map_err(|e| e.to_string())?;
    let (restore, save) = match backend {
        "legacy" => ("iptables-legacy-restore", "iptables-legacy-save"),
        _ => ("iptables-nft-restore", "iptables-nft-save"),
    };
    let mut script = format!(
        "ipset create S hash:ip && ipset create SN hash:net && ipset create SP hash:ip,port && {restore} < {} ",
        path.display()
    );
    for t in tables {
        script.push_str(&format!("&& {save} -t {} ", t.name()));
    }
    let out = ns.sh(&script);
    let _ = std::fs::remove_file(&path);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// Why the differential test cannot run here, if it cannot.
fn skip_reason() -> Option<&'static str> {
    if !have("iptables-restore") || !have("ipset") {
        return Some("iptables-restore or ipset is not installed (apt-get install -y iptables ipset)");
    }
    if !is_root() {
        return Some("not root: cannot create a network namespace");
    }
    None
}

#[test]
fn differential_against_the_installed_iptables() {
    if let Some(why) = skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let nf = netsim(RULES);
    let ours = netsim_saved(&nf, &TABLES);
    for backend in ["nft", "legacy"] {
        if backend == "legacy" && !have("iptables-legacy-restore") {
            println!("legacy backend not installed: skipped");
            continue;
        }
        let real = match real_save(backend, RULES, &TABLES) {
            Ok(r) => r,
            Err(e) if e.contains("namespace") || e.contains("Operation not permitted") => {
                println!("skipped ({backend}): {e}");
                continue;
            }
            Err(e) => panic!("real iptables-restore ({backend}) refused the file: {e}"),
        };
        assert_same(&ours, &real, &format!("the installed iptables-save ({backend})"));
        println!("{backend}: netsim's iptables-save is byte-identical ({} lines)", real.lines().count());
    }
}
