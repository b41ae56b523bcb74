//! kubectl, simulated: parses a command line ([`command::parse`]) and runs it against the API
//! server at a simulated instant, producing what the real kubectl prints — stdout, stderr and
//! exit code — for `get` (tables, `-o yaml|json|name|jsonpath=|custom-columns=`), `describe`,
//! `apply/create/replace/delete -f`, `create deployment|namespace`,
//! `scale`, `patch`, `expose`, `run`, `label`, `rollout status`, `wait` and `get events`.
//! Tables use Go tabwriter semantics and ages come from simulated time. Commands that need a
//! running container (`exec`, `logs`, `port-forward`, `cp`) are parsed and handed back as
//! [`RunResult::Delegated`] for the cluster world to execute. `rollout status` and `wait` report
//! [`KubectlOutput::retry`] while their condition does not hold yet, so the caller can advance
//! simulated time and run them again. Files named by `-f` are read through a caller-provided
//! callback (paths are relative to a scenario). References: kubernetes/kubectl pkg/cmd/*,
//! pkg/describe/describe.go, kubernetes/kubernetes pkg/printers/internalversion/printers.go.
//! Left out: kubeconfig, `--dry-run`, `edit`, server-side apply field ownership.

pub mod command;
pub mod describe;
pub mod get;
pub mod human_duration;
pub mod jsonpath;
pub mod mutate;
pub mod output;
pub mod tabwriter;

use sim_core::SimTime;

use crate::apiserver::ApiServer;
use crate::controllers::Event;
pub use command::{KubectlCommand, OutputFormat, ParseError, parse};

/// The warning a v1.33+ API server attaches to v1 Endpoints reads; kubectl prints it on stderr.
pub const ENDPOINTS_WARNING: &str =
    "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n";

/// What kubectl printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubectlOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub exit_code: i32,
    /// True for `rollout status` / `wait` whose condition is not met yet: run again later.
    pub retry: bool,
}

impl KubectlOutput {
    /// An error exit with `message` (a trailing newline is added if missing).
    pub fn error(message: &str) -> Self {
        let mut stderr = message.to_string();
        if !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        KubectlOutput { stdout: String::new(), stderr, exit_code: 1, retry: false }
    }
}

/// Reads what a `-f` argument names, with `-R` or not: `(name, text)` of the file, or of each
/// manifest file of a directory ([`read_manifest_path`]); or the message after `error: `.
pub type FileReader<'a> = &'a dyn Fn(&str, bool) -> Result<Vec<(String, String)>, String>;

/// kubectl's `-f` expansion (`resource.ExpandPathsToFileVisitors`) on the real file system,
/// `arg` relative to `base`: a file is read whatever its name; a directory yields its `.json`,
/// `.yaml` and `.yml` files in name order, and its subdirectories' only with `-R`
/// (`--recursive`). Each file is read through the loader's size cap. A missing path is
/// `the path "x" does not exist`.
pub fn read_manifest_path(
    base: &std::path::Path,
    arg: &str,
    recursive: bool,
) -> Result<Vec<(String, String)>, String> {
    fn walk(dir: &std::path::Path, recursive: bool, depth: usize, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut paths: Vec<std::path::PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                if recursive && depth < 32 {
                    walk(&p, recursive, depth + 1, out);
                }
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    let path = base.join(arg);
    let missing = || format!("the path \"{arg}\" does not exist");
    let meta = std::fs::metadata(&path).map_err(|_| missing())?;
    let files = if meta.is_dir() {
        let mut found = Vec::new();
        walk(&path, recursive, 0, &mut found);
        found
    } else {
        vec![path.clone()]
    };
    let mut out = Vec::new();
    for f in files {
        // Names as kubectl prints them in errors: the argument joined with the file's path
        // inside the directory.
        let rel = f.strip_prefix(base).unwrap_or(&f).display().to_string();
        let file = std::fs::File::open(&f).map_err(|e| format!("open {rel}: {e}"))?;
        let text = crate::manifest::budget::read_capped(&rel, file, crate::manifest::MAX_SOURCE_BYTES)
            .map_err(|e| e.to_string())?;
        out.push((rel, text));
    }
    Ok(out)
}

/// Everything a kubectl invocation sees.
pub struct Kubectl<'a> {
    /// The API server.
    pub store: &'a mut ApiServer,
    /// The simulated instant the command runs at.
    pub now: SimTime,
    /// `-f` file reader.
    pub files: FileReader<'a>,
    /// Events recorded by the controllers (`describe`, `get events`).
    pub events: &'a [Event],
}

/// The outcome of [`Kubectl::run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// kubectl ran here and printed this.
    Done(KubectlOutput),
    /// A command for the cluster world (`exec`, `logs`, `port-forward`, `cp`).
    Delegated(KubectlCommand),
}

impl Kubectl<'_> {
    /// Parses and runs a command line.
    pub fn run(&mut self, line: &str) -> RunResult {
        match parse(line) {
            Ok(cmd) => self.run_command(cmd),
            Err(e) => RunResult::Done(KubectlOutput::error(&e.message)),
        }
    }

    /// Runs a parsed command.
    pub fn run_command(&mut self, cmd: KubectlCommand) -> RunResult {
        self.store.set_now(self.now);
        let out = match cmd {
            KubectlCommand::Exec { .. }
            | KubectlCommand::Logs { .. }
            | KubectlCommand::PortForward { .. }
            | KubectlCommand::Cp { .. } => {
                return RunResult::Delegated(cmd);
            }
            KubectlCommand::Get { targets, opts } => get::get(self.store, self.now, &targets, &opts),
            KubectlCommand::GetEvents { opts } => describe::get_events(self.events, self.now, &opts),
            KubectlCommand::Describe { targets, opts } => {
                describe::describe(self.store, self.now, self.events, &targets, &opts)
            }
            other => mutate::run(self, other),
        };
        RunResult::Done(out)
    }

    /// Runs a command line and returns its output (delegated commands yield an error output
    /// saying so — use [`Kubectl::run`] to get them back).
    pub fn output(&mut self, line: &str) -> KubectlOutput {
        match self.run(line) {
            RunResult::Done(o) => o,
            RunResult::Delegated(c) => {
                KubectlOutput::error(&format!("error: {c:?} must be executed by the cluster"))
            }
        }
    }
}

/// The pod `kubectl exec/logs/port-forward` attach to for a target (`x`, `pod/x`,
/// `deploy/x`, `rs/x`, `sts/x`, `ds/x`, `svc/x`): for workloads and Services the first pod
/// their selector matches, preferring (like `podutils.ByLogging`) scheduled, running, ready
/// pods with fewer restarts, then the oldest. Errors carry kubectl's message.
pub fn attachable_pod(store: &ApiServer, namespace: &str, target: &str) -> Result<String, KubectlOutput> {
    use crate::api::{Kind, Object};
    let (kind, name) = match target.split_once('/') {
        Some((t, n)) => match command::resolve_kind(t) {
            Some(k) => (k, n),
            None => {
                return Err(KubectlOutput::error(&format!(
                    "error: the server doesn't have a resource type \"{t}\""
                )));
            }
        },
        None => (Kind::Pod, target),
    };
    let Some(obj) = store.get_named(kind, namespace, name) else {
        return Err(KubectlOutput::error(&format!(
            "Error from server (NotFound): {} \"{name}\" not found",
            kind.resource()
        )));
    };
    let matches: Box<dyn Fn(&crate::api::Pod) -> bool> = match obj {
        Object::Pod(p) => return Ok(p.metadata.name.clone()),
        Object::Service(s) => {
            let sel = s.spec.selector.clone().unwrap_or_default();
            if sel.is_empty() {
                return Err(KubectlOutput::error(&format!(
                    "error: cannot attach to *v1.Service: invalid service '{name}': Service is defined without a selector"
                )));
            }
            Box::new(move |p| crate::api::selector::map_selector_matches(&sel, &p.metadata.labels))
        }
        Object::Deployment(d) => {
            let sel = d.spec.selector.clone().unwrap_or_default();
            Box::new(move |p| sel.matches(&p.metadata.labels))
        }
        Object::ReplicaSet(d) => {
            let sel = d.spec.selector.clone().unwrap_or_default();
            Box::new(move |p| sel.matches(&p.metadata.labels))
        }
        Object::StatefulSet(d) => {
            let sel = d.spec.selector.clone().unwrap_or_default();
            Box::new(move |p| sel.matches(&p.metadata.labels))
        }
        Object::DaemonSet(d) => {
            let sel = d.spec.selector.clone().unwrap_or_default();
            Box::new(move |p| sel.matches(&p.metadata.labels))
        }
        other => return Err(KubectlOutput::error(&format!("error: cannot attach to {}", other.kind()))),
    };
    let mut pods: Vec<&crate::api::Pod> = store
        .list(Kind::Pod)
        .filter_map(|o| match o {
            Object::Pod(p) if p.metadata.namespace == namespace && matches(p) => Some(p),
            _ => None,
        })
        .collect();
    pods.sort_by_key(|p| {
        (
            p.spec.node_name.is_empty(),
            crate::controllers::pods::phase(p) != "Running",
            !p.is_ready(),
            crate::controllers::pods::restarts(p),
            p.metadata.creation_timestamp.clone(),
            p.metadata.name.clone(),
        )
    });
    match pods.first() {
        Some(p) => Ok(p.metadata.name.clone()),
        None => Err(KubectlOutput::error("error: timed out waiting for the condition")),
    }
}
