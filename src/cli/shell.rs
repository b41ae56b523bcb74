//! `netsim shell FILE`: an interactive prompt on a scenario's cluster, so a student can type the
//! article's commands. Lines are read from standard input (a terminal or a script):
//! `kubectl ...` runs on the control plane; `ssh NAME` moves the prompt to a node, an external
//! host or a pod (`ssh pod/busybox`), and `exit` comes back (or leaves); `sleep DURATION`,
//! `trace FROM -> DEST:PORT` and `fault ...` work as scenario steps do; anything else runs on the
//! current host. The scenario's own steps are not run.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use sim_k8s::cluster::Target;

use super::exit;
use crate::runner;
use crate::scenario::{Scenario, parse_duration};

/// Arguments of `netsim shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The scenario whose cluster and manifests to load.
    pub file: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs `netsim shell`.
pub fn run(a: ShellArgs) -> u8 {
    let s = match Scenario::load(&a.file) {
        Ok(s) => s,
        Err(d) => {
            eprintln!("{d}");
            return exit::INVALID;
        }
    };
    let (mut cluster, header) = match runner::prepare(&s, a.seed.unwrap_or(s.seed)) {
        Ok(c) => c,
        Err(d) => {
            eprintln!("{d}");
            return exit::INVALID;
        }
    };
    let base = s.path.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let cp = cluster
        .world()
        .nodes
        .iter()
        .find(|n| n.role == sim_k8s::cluster::NodeRole::ControlPlane)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| "master".into());
    let tty = std::io::stdin().is_terminal();
    if tty {
        println!(
            "netsim shell: {} (seed {}). `ssh NAME` to move, `exit` to leave, `help` for help.",
            s.name,
            cluster.seed()
        );
        print!("{header}");
    }
    let mut stack: Vec<Target> = vec![Target::Node(cp.clone())];
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        let here = stack.last().cloned().unwrap_or(Target::Node(cp.clone()));
        let name = match &here {
            Target::Node(n) | Target::Host(n) => n.clone(),
            Target::Pod { name, .. } => name.clone(),
        };
        let prompt = match &here {
            Target::Pod { .. } => "/ # ".to_string(),
            _ => format!("[root@{name} ~]# "),
        };
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let Some(Ok(line)) = lines.next() else {
            println!();
            break;
        };
        if !tty {
            println!("{line}");
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let out = if line == "exit" || line == "logout" {
            stack.pop();
            if stack.is_empty() {
                break;
            }
            continue;
        } else if line == "help" {
            println!("kubectl ARGS      kubectl on the control plane");
            println!("ssh NAME          move to a node, external host or pod (pod/NAME)");
            println!("sleep DURATION    let simulated time pass (10s, 500ms, 2m)");
            println!("trace FROM -> DEST:PORT [tcp|udp|icmp]   netsim's path view");
            println!("fault ACTION      stop|start node/NAME, stop|start kube-proxy/NAME, delete pod/NAME");
            println!("exit              back to the previous host, or leave");
            println!(
                "anything else     runs here: curl, wget, nslookup, dig, ping, nc, ip, iptables, conntrack, ..."
            );
            continue;
        } else if let Some(args) = line.strip_prefix("kubectl ") {
            cluster.kubectl_line(args, &base)
        } else if let Some(t) = line.strip_prefix("ssh ") {
            match cluster.resolve_target(t.trim()) {
                Ok(t) => {
                    stack.push(t);
                    continue;
                }
                Err(e) => {
                    println!("ssh: {e}");
                    continue;
                }
            }
        } else if let Some(d) = line.strip_prefix("sleep ") {
            let d = d.trim();
            let d = parse_duration(d).or_else(|| parse_duration(&format!("{d}s")));
            match d {
                Some(d) => {
                    cluster.advance(d);
                    continue;
                }
                None => {
                    println!("sleep: invalid number");
                    continue;
                }
            }
        } else if let Some(spec) = line.strip_prefix("trace ") {
            cluster.trace_line(spec)
        } else if let Some(f) = line.strip_prefix("fault ") {
            cluster.fault(f)
        } else {
            cluster.exec(&here, line)
        };
        print!("{}", out.stdout);
        if !out.stdout.is_empty() && !out.stdout.ends_with('\n') {
            println!();
        }
        eprint!("{}", out.stderr);
    }
    exit::OK
}
