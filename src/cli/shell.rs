//! `netsim shell [FILE] [-f MANIFESTS...] [--cluster FILE]`: an interactive prompt on a cluster,
//! so a student can type the article's commands. The cluster is a scenario's (its steps are not
//! run) or one built from manifests, as `netsim kubectl -f` builds it.
//!
//! `kubectl ...` runs on the control plane; `ssh NAME` moves the prompt to a node, an external
//! host or a pod (`ssh pod/busybox`), and `exit` comes back (or leaves); `sleep DURATION`,
//! `trace FROM -> DEST:PORT` and `fault ...` work as scenario steps do; `save FILE` writes what
//! was typed as a scenario whose expectations are the outputs seen; anything else runs on the
//! current host, with pipes, `&&`, `;`, `>` and `$(...)` (sim-k8s `cluster/pipeline.rs`).
//!
//! On a terminal, lines are edited with rustyline: history (one file per scenario or manifest
//! set, under `$NETSIM_HISTORY_DIR`, else `$XDG_STATE_HOME/netsim`, else
//! `~/.local/state/netsim`), Ctrl-C cancels the line, Ctrl-D leaves, Tab completes commands,
//! kubectl verbs and resources, and pod, node, service and host names. Otherwise lines are read
//! from standard input and echoed after the prompt (a script's transcript).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use sim_k8s::api::Kind;
use sim_k8s::cluster::exec::ExecOutput;
use sim_k8s::cluster::{Cluster, Target};

use super::cluster_args::{ClusterArgs, build};
use super::exit;
use crate::runner;
use crate::scenario::{Scenario, parse_duration};

/// Arguments of `netsim shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The scenario whose cluster and manifests to load (or give `-f`).
    pub file: Option<PathBuf>,
    /// Manifest files or directories to load into the default cluster instead of a scenario.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<String>,
    /// With `-f`: a YAML file with a scenario's `cluster:` settings.
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
    /// With `-f`: kube-proxy's mode (`iptables`, `ipvs`, `nftables`).
    #[arg(long = "proxy-mode", value_name = "MODE")]
    pub proxy_mode: Option<String>,
    /// The seed (default: the scenario's, or 1).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// The commands the shell itself knows, for help and completion.
const SHELL_COMMANDS: &[&str] = &[
    "kubectl",
    "ssh",
    "exit",
    "sleep",
    "trace",
    "fault",
    "save",
    "help",
    "curl",
    "wget",
    "nslookup",
    "dig",
    "ping",
    "nc",
    "ip",
    "iptables",
    "iptables-save",
    "ipvsadm",
    "ipset",
    "sysctl",
    "conntrack",
    "nft",
    "cat",
    "env",
    "hostname",
    "echo",
    "tcpdump",
    "timeout",
    "kill",
    "jobs",
    "ss",
    "netstat",
    "traceroute",
];

const KUBECTL_VERBS: &[&str] = &[
    "get", "describe", "apply", "create", "delete", "replace", "scale", "label", "expose", "exec", "logs",
    "rollout", "wait", "run", "patch", "edit", "set", "cordon", "uncordon", "drain",
];

const KUBECTL_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "svc",
    "endpoints",
    "ep",
    "endpointslices",
    "deployments",
    "deploy",
    "replicasets",
    "rs",
    "statefulsets",
    "daemonsets",
    "nodes",
    "namespaces",
    "ns",
    "ingresses",
    "events",
    "configmaps",
    "cm",
    "secrets",
    "all",
];

/// How the cluster was made, for `save`.
enum Origin {
    Scenario(PathBuf),
    Manifests(Vec<String>, Option<PathBuf>),
}

/// One typed command and what it printed, for `save`.
struct Typed {
    step: String,
    on: Option<String>,
    output: String,
    exit_code: i32,
}

struct Session {
    cluster: Cluster,
    base: PathBuf,
    cp: String,
    stack: Vec<Target>,
    origin: Origin,
    seed: u64,
    typed: Vec<Typed>,
}

/// What to do after a line.
enum Flow {
    Continue,
    Leave,
}

/// Runs `netsim shell`.
pub fn run(a: ShellArgs) -> u8 {
    let (cluster, header, base, origin, name) = match (&a.file, a.files.is_empty()) {
        (Some(file), true) => {
            let s = match Scenario::load(file) {
                Ok(s) => s,
                Err(d) => {
                    eprintln!("{d}");
                    return exit::INVALID;
                }
            };
            let (cluster, header) = match runner::prepare(&s, a.seed.unwrap_or(s.seed)) {
                Ok(c) => c,
                Err(d) => {
                    eprintln!("{d}");
                    return exit::INVALID;
                }
            };
            let base = s.path.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
            (cluster, header, base, Origin::Scenario(file.clone()), s.name)
        }
        (None, false) => {
            let args = ClusterArgs {
                files: a.files.clone(),
                cluster: a.cluster.clone(),
                service_cidr: None,
                cluster_cidr: None,
                node_port_range: None,
                proxy_mode: a.proxy_mode.clone(),
                seed: a.seed.unwrap_or(1),
                max_objects: sim_k8s::manifest::budget::DEFAULT_MAX_OBJECTS,
            };
            let built = match build(&args) {
                Ok(b) => b,
                Err(code) => return code,
            };
            let mut header = String::new();
            for n in &built.not_simulated {
                let _ = writeln!(header, "# {n}");
            }
            let cluster = std::mem::ManuallyDrop::into_inner(built.cluster);
            let name = a.files.join(" ");
            (cluster, header, PathBuf::from("."), Origin::Manifests(a.files.clone(), a.cluster.clone()), name)
        }
        (Some(_), false) => {
            eprintln!("error: give a scenario FILE or -f MANIFESTS, not both");
            return exit::INVALID;
        }
        (None, true) => {
            eprintln!("error: give a scenario FILE or -f MANIFESTS (netsim shell -h)");
            return exit::INVALID;
        }
    };
    let cp = cluster.control_plane_name();
    let seed = cluster.seed();
    let mut session = Session {
        cluster,
        base,
        cp: cp.clone(),
        stack: vec![Target::Node(cp)],
        origin,
        seed,
        typed: Vec::new(),
    };
    if std::io::stdin().is_terminal() {
        println!("netsim shell: {name} (seed {seed}). `ssh NAME` to move, `exit` to leave, `help` for help.");
        print!("{header}");
        interactive(&mut session)
    } else {
        scripted(&mut session)
    }
}

/// Lines from a terminal, edited with rustyline.
fn interactive(session: &mut Session) -> u8 {
    let mut rl = match rustyline::Editor::<ShellHelper, rustyline::history::DefaultHistory>::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netsim shell: cannot start line editing ({e}); reading plain lines");
            return scripted(session);
        }
    };
    rl.set_helper(Some(ShellHelper { names: session.names() }));
    let history = history_file(&session.origin);
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    loop {
        let prompt = session.prompt();
        match rl.readline(&prompt) {
            Ok(line) => {
                let line = line.trim().to_string();
                if line.is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(line.as_str());
                let flow = session.handle(&line);
                if let Some(h) = rl.helper_mut() {
                    h.names = session.names();
                }
                if matches!(flow, Flow::Leave) {
                    break;
                }
            }
            // Ctrl-C: the line is dropped, the session goes on (as bash does).
            Err(ReadlineError::Interrupted) => continue,
            // Ctrl-D: leave.
            Err(ReadlineError::Eof) => {
                println!();
                break;
            }
            Err(e) => {
                eprintln!("netsim shell: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = rl.save_history(h);
    }
    exit::OK
}

/// Lines from a script on standard input, echoed after the prompt.
fn scripted(session: &mut Session) -> u8 {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        print!("{}", session.prompt());
        let _ = std::io::stdout().flush();
        let Some(Ok(line)) = lines.next() else {
            println!();
            break;
        };
        println!("{line}");
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if matches!(session.handle(line), Flow::Leave) {
            break;
        }
    }
    exit::OK
}

/// The history file of this scenario or manifest set.
fn history_file(origin: &Origin) -> Option<PathBuf> {
    let dir = std::env::var_os("NETSIM_HISTORY_DIR").map(PathBuf::from).or_else(|| {
        std::env::var_os("XDG_STATE_HOME")
            .map(|d| PathBuf::from(d).join("netsim"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/netsim")))
    })?;
    let key = match origin {
        Origin::Scenario(p) => std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string(),
        Origin::Manifests(files, _) => files
            .iter()
            .map(|f| std::fs::canonicalize(f).map(|p| p.display().to_string()).unwrap_or_else(|_| f.clone()))
            .collect::<Vec<_>>()
            .join(","),
    };
    let name: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    Some(dir.join(format!("{}.history", name.trim_start_matches('_'))))
}

impl Session {
    fn here(&self) -> Target {
        self.stack.last().cloned().unwrap_or(Target::Node(self.cp.clone()))
    }

    fn prompt(&self) -> String {
        match self.here() {
            Target::Pod { .. } => "/ # ".to_string(),
            Target::Node(n) | Target::Host(n) => format!("[root@{n} ~]# "),
        }
    }

    /// Commands, kubectl words and the names of the cluster's objects and hosts.
    fn names(&self) -> Names {
        let w = self.cluster.world();
        let pods: Vec<String> = w.api.list(Kind::Pod).map(|o| o.name().to_string()).collect();
        let services: Vec<String> = w.api.list(Kind::Service).map(|o| o.name().to_string()).collect();
        let nodes: Vec<String> = w.nodes.iter().map(|n| n.name.clone()).collect();
        let hosts: Vec<String> = w.externals.keys().cloned().collect();
        Names { pods, services, nodes, hosts }
    }

    fn print(&self, out: &ExecOutput) {
        print!("{}", out.stdout);
        if !out.stdout.is_empty() && !out.stdout.ends_with('\n') {
            println!();
        }
        eprint!("{}", out.stderr);
    }

    fn record(&mut self, step: String, on: Option<String>, out: &ExecOutput) {
        self.typed.push(Typed { step, on, output: out.stdout.clone(), exit_code: out.exit_code });
    }

    fn handle(&mut self, line: &str) -> Flow {
        let here = self.here();
        let on = match &here {
            Target::Node(n) if *n == self.cp => None,
            t => Some(t.to_string()),
        };
        if line == "exit" || line == "logout" {
            self.stack.pop();
            return if self.stack.is_empty() { Flow::Leave } else { Flow::Continue };
        }
        if line == "help" {
            println!("kubectl ARGS      kubectl on the control plane");
            println!("ssh NAME          move to a node, external host or pod (pod/NAME)");
            println!("sleep DURATION    let simulated time pass (10s, 500ms, 2m)");
            println!(
                "trace FROM -> DEST:PORT [tcp|udp|icmp] [--detail summary|hops|rules] [--packet first|N|all]"
            );
            println!("fault ACTION      stop|start node/NAME, stop|start kube-proxy/NAME, delete pod/NAME");
            println!("save FILE         write what was typed as a scenario, its outputs as expectations");
            println!("exit              back to the previous host, or leave (Ctrl-D)");
            println!(
                "anything else     runs here: curl, wget, nslookup, dig, ping, nc, ip, iptables, conntrack, ..."
            );
            println!(
                "                  `tcpdump -i IFACE -n EXPR &` captures in the background; `kill %1` prints it"
            );
            println!(
                "                  with `|` into {}, `&&`, `;`, `> FILE`, `$(...)`",
                sim_k8s::cluster::pipeline::SUPPORTED_FILTERS
            );
            return Flow::Continue;
        }
        if let Some(file) = line.strip_prefix("save ") {
            match self.save(Path::new(file.trim())) {
                Ok(n) => println!("saved {n} steps to {}", file.trim()),
                Err(e) => eprintln!("save: {e}"),
            }
            return Flow::Continue;
        }
        if let Some(t) = line.strip_prefix("ssh ") {
            match self.cluster.resolve_target(t.trim()) {
                Ok(t) => self.stack.push(t),
                Err(e) => println!("ssh: {e}"),
            }
            return Flow::Continue;
        }
        if let Some(d) = line.strip_prefix("sleep ") {
            let d = d.trim();
            let spelled = if parse_duration(d).is_some() { d.to_string() } else { format!("{d}s") };
            match parse_duration(&spelled) {
                Some(dur) => {
                    self.cluster.advance(dur);
                    self.typed.push(Typed {
                        step: format!("sleep: {}", yaml_str(&spelled)),
                        on: None,
                        output: String::new(),
                        exit_code: 0,
                    });
                }
                None => println!("sleep: invalid number"),
            }
            return Flow::Continue;
        }
        let (out, step, on) = if let Some(args) = line.strip_prefix("kubectl ") {
            (self.cluster.kubectl_line(args, &self.base), format!("kubectl: {}", yaml_str(args)), None)
        } else if let Some(spec) = line.strip_prefix("trace ") {
            (self.cluster.trace_line(spec), format!("trace: {}", yaml_str(spec)), None)
        } else if let Some(f) = line.strip_prefix("fault ") {
            (self.cluster.fault(f), format!("fault: {}", yaml_str(f)), None)
        } else {
            (self.cluster.exec(&here, line), format!("run: {}", yaml_str(line)), on)
        };
        self.print(&out);
        self.record(step, on, &out);
        // Background jobs that ended meanwhile (`tcpdump -c N ... &`), as bash reports them at
        // the next prompt.
        for (target, done) in self.cluster.finished_jobs() {
            println!("# background job on {target} ended by itself");
            self.print(&done);
        }
        Flow::Continue
    }

    /// Writes the session as a scenario: the same cluster and manifests, one step per typed
    /// command, each expecting its exit status and (when it printed anything) its output.
    fn save(&self, path: &Path) -> Result<usize, String> {
        let mut y = String::new();
        let _ = writeln!(y, "# Saved by `netsim shell`: the commands typed, their outputs as expectations.");
        let _ = writeln!(y, "name: {}", yaml_str(&format!("shell session {}", path.display())));
        let _ = writeln!(y, "seed: {}", self.seed);
        let abs = |p: &str| -> String {
            std::fs::canonicalize(p).map(|c| c.display().to_string()).unwrap_or_else(|_| p.to_string())
        };
        match &self.origin {
            Origin::Scenario(file) => {
                // The scenario's cluster and manifests, copied as they were written (JSON is YAML).
                let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
                let v: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| e.to_string())?;
                if let Some(c) = v.get("cluster") {
                    let _ = writeln!(y, "cluster: {c}");
                }
                let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
                if let Some(ms) = v.get("manifests").and_then(|m| m.as_array()) {
                    let _ = writeln!(y, "manifests:");
                    for m in ms {
                        if let Some(f) = m.get("file").and_then(|f| f.as_str()) {
                            let p = dir.join(f);
                            let _ = writeln!(y, "  - file: {}", yaml_str(&abs(&p.display().to_string())));
                        } else if let Some(i) = m.get("inline").and_then(|f| f.as_str()) {
                            let _ = writeln!(y, "  - inline: {}", yaml_str(i));
                        }
                    }
                }
            }
            Origin::Manifests(files, cluster) => {
                if let Some(c) = cluster {
                    let text = std::fs::read_to_string(c).map_err(|e| format!("{}: {e}", c.display()))?;
                    let v: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| e.to_string())?;
                    let _ = writeln!(y, "cluster: {}", v.get("cluster").unwrap_or(&v));
                }
                let _ = writeln!(y, "manifests:");
                for f in files {
                    let _ = writeln!(y, "  - file: {}", yaml_str(&abs(f)));
                }
            }
        }
        let _ = writeln!(y, "steps:");
        for t in &self.typed {
            let _ = writeln!(y, "  - {}", t.step);
            if let Some(on) = &t.on {
                let _ = writeln!(y, "    on: {}", yaml_str(on));
            }
            if t.step.starts_with("sleep:") {
                continue;
            }
            let _ = writeln!(y, "    expect:");
            let _ = writeln!(y, "      exit: {}", t.exit_code);
            if !t.output.trim().is_empty() {
                let _ = writeln!(y, "      contains: {}", yaml_str(t.output.trim_end()));
            }
        }
        std::fs::write(path, y).map_err(|e| e.to_string())?;
        Ok(self.typed.len())
    }
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The names Tab completes.
#[derive(Default)]
struct Names {
    pods: Vec<String>,
    services: Vec<String>,
    nodes: Vec<String>,
    hosts: Vec<String>,
}

struct ShellHelper {
    names: Names,
}

impl ShellHelper {
    /// The candidates for the word at index `n` of `words` (the last one is being typed).
    fn candidates(&self, words: &[&str]) -> Vec<String> {
        let n = words.len().saturating_sub(1);
        let all_names = || {
            let mut v: Vec<String> = Vec::new();
            v.extend(self.names.pods.iter().cloned());
            v.extend(self.names.services.iter().cloned());
            v.extend(self.names.nodes.iter().cloned());
            v.extend(self.names.hosts.iter().cloned());
            v
        };
        let owned = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match (words.first().copied(), n) {
            (_, 0) => owned(SHELL_COMMANDS),
            (Some("kubectl"), 1) => owned(KUBECTL_VERBS),
            (Some("kubectl"), 2) if matches!(words[1], "get" | "describe" | "delete" | "edit" | "label") => {
                owned(KUBECTL_RESOURCES)
            }
            (Some("kubectl"), _) => match words.get(2).copied() {
                Some("pods" | "pod" | "po") => self.names.pods.clone(),
                Some("services" | "service" | "svc" | "endpoints" | "ep") => self.names.services.clone(),
                Some("nodes" | "node" | "no") => self.names.nodes.clone(),
                _ => self.names.pods.clone(),
            },
            (Some("ssh"), _) => {
                let mut v: Vec<String> = self.names.pods.iter().map(|p| format!("pod/{p}")).collect();
                v.extend(self.names.nodes.iter().cloned());
                v.extend(self.names.hosts.iter().cloned());
                v
            }
            (Some("trace"), _) => {
                let mut v = all_names();
                v.push("->".to_string());
                v
            }
            _ => all_names(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let upto = line.get(..pos).unwrap_or(line);
        let start = upto.rfind([' ', '/']).map(|i| i + 1).unwrap_or(0);
        let mut words: Vec<&str> = upto.split_whitespace().collect();
        if upto.ends_with(' ') || words.is_empty() {
            words.push("");
        }
        let prefix = &upto[start..];
        let in_slash = upto[..start].ends_with('/');
        let mut c: Vec<Pair> = self
            .candidates(&words)
            .into_iter()
            .map(|w| if in_slash { w.rsplit('/').next().unwrap_or(&w).to_string() } else { w })
            .filter(|w| w.starts_with(prefix))
            .map(|w| Pair { display: w.clone(), replacement: w })
            .collect();
        c.sort_by(|a, b| a.display.cmp(&b.display));
        c.dedup_by(|a, b| a.display == b.display);
        Ok((start, c))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_offers_the_words_of_the_position() {
        let h = ShellHelper {
            names: Names {
                pods: vec!["web-1".into(), "busybox".into()],
                services: vec!["web".into()],
                nodes: vec!["node01".into()],
                hosts: vec!["client".into()],
            },
        };
        assert!(h.candidates(&["kub"]).contains(&"kubectl".to_string()));
        assert!(h.candidates(&["kubectl", "ge"]).contains(&"get".to_string()));
        assert!(h.candidates(&["kubectl", "get", "po"]).contains(&"pods".to_string()));
        assert_eq!(h.candidates(&["kubectl", "get", "pods", "w"]), ["web-1", "busybox"]);
        assert!(h.candidates(&["ssh", "pod/b"]).contains(&"pod/busybox".to_string()));
    }
}
