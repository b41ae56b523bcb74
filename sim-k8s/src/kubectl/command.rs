//! Parsing a kubectl command line into a typed [`KubectlCommand`]: shell-style word splitting
//! (single/double quotes, backslash escapes), cobra-style flags (`-n x`, `-n=x`, `--namespace x`,
//! `--namespace=x`, `-A`, `-oyaml`), resource arguments (`svc web`, `svc/web`, `svc,pods`,
//! aliases as `kubectl api-resources` lists them) and the per-verb flags netsim supports.
//! Errors use kubectl's wording (`error: unknown flag: --foo`, `error: the server doesn't have a
//! resource type "foo"`). Left out: kubeconfig/context flags, `--dry-run`, `-k` (kustomize).

use std::fmt;

use crate::api::Kind;
use crate::apiserver::PatchType;

/// What the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubectlCommand {
    /// `kubectl get`.
    Get {
        /// Resources.
        targets: Targets,
        /// Flags.
        opts: GetOptions,
    },
    /// `kubectl get events`.
    GetEvents {
        /// Flags.
        opts: GetOptions,
    },
    /// `kubectl describe`.
    Describe {
        /// Resources.
        targets: Targets,
        /// Flags (namespace, selector).
        opts: GetOptions,
    },
    /// `kubectl apply -f`.
    Apply {
        /// Files.
        files: Vec<String>,
        /// `-R`: a `-f` directory's subdirectories too.
        recursive: bool,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl create -f`.
    Create {
        /// Files.
        files: Vec<String>,
        /// `-R`: a `-f` directory's subdirectories too.
        recursive: bool,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl create deployment NAME --image=X [--replicas=N] [--port=N]`.
    CreateDeployment {
        /// Name.
        name: String,
        /// Images (`--image` may repeat).
        images: Vec<String>,
        /// `--replicas` (default 1).
        replicas: i32,
        /// `--port`.
        port: Option<i32>,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl create namespace NAME` (or `create ns NAME`).
    CreateNamespace {
        /// Name.
        name: String,
    },
    /// `kubectl replace -f`.
    Replace {
        /// Files.
        files: Vec<String>,
        /// `-R`: a `-f` directory's subdirectories too.
        recursive: bool,
        /// `-n`.
        namespace: Option<String>,
        /// `--force` (delete and re-create).
        force: bool,
    },
    /// `kubectl delete`.
    Delete {
        /// Files (`-f`) — or empty when resources are named.
        files: Vec<String>,
        /// `-R`: a `-f` directory's subdirectories too.
        recursive: bool,
        /// Resources.
        targets: Targets,
        /// `-n`.
        namespace: Option<String>,
        /// `-l`.
        selector: Option<String>,
        /// `--all`.
        all: bool,
        /// `--grace-period`.
        grace_period: Option<i64>,
        /// `--force`.
        force: bool,
        /// `--ignore-not-found`.
        ignore_not_found: bool,
    },
    /// `kubectl scale`.
    Scale {
        /// Kind.
        kind: Kind,
        /// Name.
        name: String,
        /// `--replicas`.
        replicas: i32,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl patch`.
    Patch {
        /// Kind.
        kind: Kind,
        /// Name.
        name: String,
        /// `-p` JSON text.
        patch: String,
        /// `--type`.
        patch_type: PatchType,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl expose`.
    Expose {
        /// Kind of the exposed object.
        kind: Kind,
        /// Its name.
        name: String,
        /// `--port`.
        port: Option<i32>,
        /// `--target-port`.
        target_port: Option<String>,
        /// `--type`.
        service_type: Option<String>,
        /// `--name`.
        service_name: Option<String>,
        /// `--protocol`.
        protocol: Option<String>,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl run`.
    Run {
        /// Pod name.
        name: String,
        /// `--image`.
        image: String,
        /// `--restart` (default Always).
        restart: Option<String>,
        /// `--labels`.
        labels: Option<String>,
        /// `--port`.
        port: Option<i32>,
        /// `--env`.
        env: Vec<String>,
        /// Arguments after `--`.
        command: Vec<String>,
        /// `--command`: the arguments replace the entrypoint.
        is_command: bool,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl label`.
    Label {
        /// Kind.
        kind: Kind,
        /// Names.
        names: Vec<String>,
        /// `key=value` sets and `key-` removals.
        changes: Vec<(String, Option<String>)>,
        /// `--overwrite`.
        overwrite: bool,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl rollout status`.
    RolloutStatus {
        /// Kind (Deployment, StatefulSet, DaemonSet).
        kind: Kind,
        /// Name.
        name: String,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl wait --for=...`.
    Wait {
        /// `condition=Ready` → `Ready`; `delete` → `delete`.
        condition: String,
        /// Objects.
        targets: Targets,
        /// `-l` / `--selector`: every object of the type with these labels.
        selector: Option<String>,
        /// `-n`.
        namespace: Option<String>,
    },
    /// `kubectl exec POD [-c C] -- CMD...` (run by the cluster world, not here).
    Exec {
        /// Pod name (or `deploy/x`, resolved by the caller).
        pod: String,
        /// Namespace.
        namespace: Option<String>,
        /// `-c`.
        container: Option<String>,
        /// Command after `--`.
        command: Vec<String>,
        /// `-t` / `--tty`: the command's output is a terminal.
        tty: bool,
    },
    /// `kubectl logs` (run by the cluster world).
    Logs {
        /// Pod.
        pod: String,
        /// Namespace.
        namespace: Option<String>,
        /// `-c`.
        container: Option<String>,
        /// `-p` / `--previous`: the container's log before its last restart.
        previous: bool,
        /// `--tail N`: only the last N lines (negative: all).
        tail: Option<i64>,
    },
    /// `kubectl port-forward` (run by the cluster world).
    PortForward {
        /// `pod/x` or `svc/x`.
        target: String,
        /// `8080:80` pairs.
        ports: Vec<String>,
        /// Namespace.
        namespace: Option<String>,
    },
    /// `kubectl cp` (run by the cluster world).
    Cp {
        /// Raw arguments.
        args: Vec<String>,
        /// Namespace.
        namespace: Option<String>,
    },
}

/// `-o` formats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// The default table.
    #[default]
    Table,
    /// `-o wide`.
    Wide,
    /// `-o yaml`.
    Yaml,
    /// `-o json`.
    Json,
    /// `-o name`.
    Name,
    /// `-o jsonpath=TEMPLATE` (the template text).
    JsonPath(String),
    /// `-o custom-columns=SPEC` (the spec text).
    CustomColumns(String),
}

/// Flags shared by get/describe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// `-n`.
    pub namespace: Option<String>,
    /// `-A`.
    pub all_namespaces: bool,
    /// `-o`.
    pub output: OutputFormat,
    /// `-l`.
    pub selector: Option<String>,
    /// `--show-labels`.
    pub show_labels: bool,
    /// `--no-headers`.
    pub no_headers: bool,
}

/// Which kinds and names a command addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// (kind, name) pairs; name None = all of that kind. `kind: None` stands for `all`.
    pub items: Vec<(Kind, Option<String>)>,
    /// Kinds were given as a comma list or `all` (names get a `kind/` prefix in tables).
    pub multi_kind: bool,
}

/// A command line kubectl would reject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Message as kubectl prints it (without trailing newline).
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { message: message.into() })
}

/// Splits a command line like a POSIX shell (quotes and backslashes; no expansion).
pub fn split_words(line: &str) -> Result<Vec<String>, ParseError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return err("error: unterminated single quote"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return err("error: unterminated double quote"),
                        },
                        Some(c) => cur.push(c),
                        None => return err("error: unterminated double quote"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Resolves a resource name or alias (`svc`, `deploy`, `deployments.apps`, ...).
pub fn resolve_kind(name: &str) -> Option<Kind> {
    let n = name.to_ascii_lowercase();
    let base = n.split('.').next().unwrap_or("");
    Some(match base {
        "pod" | "pods" | "po" => Kind::Pod,
        "service" | "services" | "svc" => Kind::Service,
        "endpoints" | "ep" | "endpoint" => Kind::Endpoints,
        "endpointslice" | "endpointslices" => Kind::EndpointSlice,
        "deployment" | "deployments" | "deploy" => Kind::Deployment,
        "replicaset" | "replicasets" | "rs" => Kind::ReplicaSet,
        "statefulset" | "statefulsets" | "sts" => Kind::StatefulSet,
        "daemonset" | "daemonsets" | "ds" => Kind::DaemonSet,
        "node" | "nodes" | "no" => Kind::Node,
        "namespace" | "namespaces" | "ns" => Kind::Namespace,
        "ingress" | "ingresses" | "ing" => Kind::Ingress,
        "ingressclass" | "ingressclasses" => Kind::IngressClass,
        "servicecidr" | "servicecidrs" => Kind::ServiceCidr,
        "configmap" | "configmaps" | "cm" => Kind::ConfigMap,
        "secret" | "secrets" => Kind::Secret,
        "customresourcedefinition" | "customresourcedefinitions" | "crd" | "crds" => {
            Kind::CustomResourceDefinition
        }
        // The Gateway API CRDs' names and shortNames.
        "gatewayclass" | "gatewayclasses" | "gc" => Kind::GatewayClass,
        "gateway" | "gateways" | "gtw" => Kind::Gateway,
        "httproute" | "httproutes" => Kind::HttpRoute,
        "referencegrant" | "referencegrants" | "refgrant" => Kind::ReferenceGrant,
        "validatingwebhookconfiguration"
        | "validatingwebhookconfigurations"
        | "validatingwebhookconfiguration.admissionregistration.k8s.io"
        | "validatingwebhookconfigurations.admissionregistration.k8s.io" => {
            Kind::ValidatingWebhookConfiguration
        }
        _ => return None,
    })
}

fn unknown_type(name: &str) -> ParseError {
    ParseError { message: format!("error: the server doesn't have a resource type \"{name}\"") }
}

/// `kubectl get all`: the kinds it lists, in kubectl's order.
pub const ALL_KINDS: &[Kind] =
    &[Kind::Pod, Kind::Service, Kind::DaemonSet, Kind::Deployment, Kind::ReplicaSet, Kind::StatefulSet];

/// Parses resource arguments: `TYPE[,TYPE] [NAME...]` or `TYPE/NAME...`.
pub fn parse_targets(args: &[String]) -> Result<Targets, ParseError> {
    let Some(first) = args.first() else { return Ok(Targets::default()) };
    if first.contains('/') {
        let mut items = Vec::new();
        for a in args {
            let Some((t, n)) = a.split_once('/') else {
                return err(
                    "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'",
                );
            };
            let kind = resolve_kind(t).ok_or_else(|| unknown_type(t))?;
            items.push((kind, Some(n.to_string())));
        }
        let multi = items.len() > 1;
        return Ok(Targets { items, multi_kind: multi });
    }
    let mut kinds = Vec::new();
    for t in first.split(',').filter(|t| !t.is_empty()) {
        if t == "all" {
            kinds.extend_from_slice(ALL_KINDS);
        } else {
            kinds.push(resolve_kind(t).ok_or_else(|| unknown_type(t))?);
        }
    }
    let multi_kind = kinds.len() > 1 || first.split(',').any(|t| t == "all");
    let names = &args[1..];
    if let Some(n) = names.iter().find(|n| n.contains('/')) {
        return err(format!(
            "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'{}",
            if n.is_empty() { "" } else { ")" }
        ));
    }
    let mut items = Vec::new();
    for k in kinds {
        if names.is_empty() {
            items.push((k, None));
        } else {
            for n in names {
                items.push((k, Some(n.clone())));
            }
        }
    }
    Ok(Targets { items, multi_kind })
}

/// Flags every verb accepts, plus per-verb flags with values.
struct Flags {
    values: Vec<(String, String)>,
    bools: Vec<String>,
    positionals: Vec<String>,
    after_dashes: Vec<String>,
}

impl Flags {
    fn value(&self, name: &str) -> Option<String> {
        self.values.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
    fn values(&self, name: &str) -> Vec<String> {
        self.values.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
    fn has(&self, name: &str) -> bool {
        self.bools.iter().any(|b| b == name)
    }
}

const VALUE_FLAGS: &[(&str, &str)] = &[
    ("n", "namespace"),
    ("o", "output"),
    ("l", "selector"),
    ("f", "filename"),
    ("p", "patch"),
    ("c", "container"),
    ("", "replicas"),
    ("", "image"),
    ("", "port"),
    ("", "target-port"),
    ("", "type"),
    ("", "name"),
    ("", "restart"),
    ("", "labels"),
    ("", "for"),
    ("", "timeout"),
    ("", "grace-period"),
    ("", "protocol"),
    ("", "env"),
    ("", "field-selector"),
    ("", "context"),
    ("", "tail"),
];

const BOOL_FLAGS: &[(&str, &str)] = &[
    ("A", "all-namespaces"),
    ("", "show-labels"),
    ("", "no-headers"),
    ("", "overwrite"),
    ("", "force"),
    ("", "all"),
    ("i", "stdin"),
    ("t", "tty"),
    ("", "rm"),
    ("", "ignore-not-found"),
    ("", "command"),
    ("", "wait"),
    ("R", "recursive"),
    ("w", "watch"),
    ("", "follow"),
    ("", "previous"),
];

fn long_name(short: &str, table: &[(&'static str, &'static str)]) -> Option<&'static str> {
    table.iter().find(|(s, _)| !s.is_empty() && *s == short).map(|(_, l)| *l)
}

fn is_long(name: &str, table: &[(&'static str, &'static str)]) -> bool {
    table.iter().any(|(_, l)| *l == name)
}

fn parse_flags(words: &[String]) -> Result<Flags, ParseError> {
    let mut f =
        Flags { values: Vec::new(), bools: Vec::new(), positionals: Vec::new(), after_dashes: Vec::new() };
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if w == "--" {
            f.after_dashes = words[i..].to_vec();
            break;
        }
        if let Some(rest) = w.strip_prefix("--") {
            let (name, inline) = match rest.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (rest.to_string(), None),
            };
            if is_long(&name, VALUE_FLAGS) {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        let Some(v) = words.get(i) else {
                            return err(format!("error: flag needs an argument: --{name}"));
                        };
                        i += 1;
                        v.clone()
                    }
                };
                f.values.push((name, v));
            } else if is_long(&name, BOOL_FLAGS) {
                if inline.as_deref() != Some("false") {
                    f.bools.push(name);
                }
            } else {
                return err(format!("error: unknown flag: --{name}"));
            }
        } else if w.len() > 1 && w.starts_with('-') {
            // Short flags, possibly clustered (-it) or with an attached value (-oyaml, -n=x).
            let body = &w[1..];
            for (pos, ch) in body.char_indices() {
                let s = ch.to_string();
                if let Some(long) = long_name(&s, VALUE_FLAGS) {
                    let rest = &body[pos + ch.len_utf8()..];
                    let v = if !rest.is_empty() {
                        rest.strip_prefix('=').unwrap_or(rest).to_string()
                    } else {
                        let Some(v) = words.get(i) else {
                            return err(format!("error: flag needs an argument: '{ch}' in -{ch}"));
                        };
                        i += 1;
                        v.clone()
                    };
                    f.values.push((long.to_string(), v));
                    break;
                } else if let Some(long) = long_name(&s, BOOL_FLAGS) {
                    f.bools.push(long.to_string());
                } else {
                    return err(format!("error: unknown shorthand flag: '{ch}' in {w}"));
                }
            }
        } else {
            f.positionals.push(w.clone());
        }
    }
    Ok(f)
}

fn int_flag(f: &Flags, name: &str) -> Result<Option<i32>, ParseError> {
    match f.value(name) {
        None => Ok(None),
        Some(v) => v.parse::<i32>().map(Some).map_err(|_| ParseError {
            message: format!("error: invalid argument \"{v}\" for \"--{name}\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"),
        }),
    }
}

fn get_options(f: &Flags) -> Result<GetOptions, ParseError> {
    let output = match f.value("output").as_deref() {
        None | Some("") => OutputFormat::Table,
        Some("wide") => OutputFormat::Wide,
        Some("yaml") => OutputFormat::Yaml,
        Some("json") => OutputFormat::Json,
        Some("name") => OutputFormat::Name,
        Some(o) if o.starts_with("jsonpath=") => {
            let t = &o["jsonpath=".len()..];
            if let Err(e) = super::jsonpath::JsonPath::parse(t) {
                return err(format!("error: {e}"));
            }
            OutputFormat::JsonPath(t.to_string())
        }
        Some(o) if o.starts_with("custom-columns=") => {
            let spec = &o["custom-columns=".len()..];
            if let Err(e) = super::jsonpath::CustomColumns::parse(spec) {
                return err(format!("error: {e}"));
            }
            OutputFormat::CustomColumns(spec.to_string())
        }
        Some(other) => {
            return err(format!(
                "error: unable to match a printer suitable for the output format \"{other}\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml"
            ));
        }
    };
    Ok(GetOptions {
        namespace: f.value("namespace"),
        all_namespaces: f.has("all-namespaces"),
        output,
        selector: f.value("selector"),
        show_labels: f.has("show-labels"),
        no_headers: f.has("no-headers"),
    })
}

/// `deployment/x` or `deployment x` → (kind, name).
fn kind_and_name(args: &[String], verb: &str) -> Result<(Kind, String), ParseError> {
    match args {
        [one] if one.contains('/') => {
            let (t, n) = one.split_once('/').unwrap_or_default();
            Ok((resolve_kind(t).ok_or_else(|| unknown_type(t))?, n.to_string()))
        }
        [t, n, ..] => Ok((resolve_kind(t).ok_or_else(|| unknown_type(t))?, n.clone())),
        [t] => match resolve_kind(t) {
            Some(_) => err("error: arguments in resource/name form must have a single resource and name"),
            None => err(format!("error: the server doesn't have a resource type \"{t}\"")),
        },
        [] => err(format!(
            "error: You must provide one or more resources by argument or filename.\nSee 'kubectl {verb} -h' for help and examples"
        )),
    }
}

/// Parses a whole command line (with or without the leading `kubectl`).
pub fn parse(line: &str) -> Result<KubectlCommand, ParseError> {
    let mut words = split_words(line)?;
    if words.first().map(String::as_str) == Some("kubectl") {
        words.remove(0);
    }
    let Some(verb) = words.first().cloned() else {
        return err("error: no command given");
    };
    // `logs` gives -f and -p meanings of its own (follow, previous).
    if verb == "logs" {
        for w in words.iter_mut().skip(1) {
            match w.as_str() {
                "-f" => *w = "--follow".to_string(),
                "-p" => *w = "--previous".to_string(),
                _ => {}
            }
        }
    }
    let f = parse_flags(&words[1..])?;
    // Flags only `logs` has.
    if verb != "logs"
        && let Some(flag) =
            ["follow", "previous", "tail"].into_iter().find(|n| f.has(n) || f.value(n).is_some())
    {
        return err(format!("error: unknown flag: --{flag}"));
    }
    let ns = f.value("namespace");
    let pos = &f.positionals;
    let files = f.values("filename");
    let recursive = f.has("recursive");
    match verb.as_str() {
        "get" => {
            let opts = get_options(&f)?;
            if matches!(pos.first().map(String::as_str), Some("events" | "ev" | "event")) {
                return Ok(KubectlCommand::GetEvents { opts });
            }
            if pos.is_empty() {
                return err(
                    "You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and examples",
                );
            }
            Ok(KubectlCommand::Get { targets: parse_targets(pos)?, opts })
        }
        "describe" => {
            let opts = get_options(&f)?;
            if pos.is_empty() {
                return err(
                    "You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.",
                );
            }
            Ok(KubectlCommand::Describe { targets: parse_targets(pos)?, opts })
        }
        "apply" => {
            if files.is_empty() {
                return err("error: must specify one of -f and -k");
            }
            Ok(KubectlCommand::Apply { files, recursive, namespace: ns })
        }
        "create" => {
            if pos.first().map(String::as_str) == Some("deployment")
                || pos.first().map(String::as_str) == Some("deploy")
            {
                let Some(name) = pos.get(1).cloned() else {
                    return err(
                        "error: exactly one NAME is required, got 0\nSee 'kubectl create deployment -h' for help and examples",
                    );
                };
                let images = f.values("image");
                if images.is_empty() {
                    return err("error: required flag(s) \"image\" not set");
                }
                return Ok(KubectlCommand::CreateDeployment {
                    name,
                    images,
                    replicas: int_flag(&f, "replicas")?.unwrap_or(1),
                    port: int_flag(&f, "port")?,
                    namespace: ns,
                });
            }
            if matches!(pos.first().map(String::as_str), Some("namespace" | "ns")) {
                return match &pos[1..] {
                    [name] => Ok(KubectlCommand::CreateNamespace { name: name.clone() }),
                    other => err(format!(
                        "error: exactly one NAME is required, got {}\nSee 'kubectl create namespace -h' for help and examples",
                        other.len()
                    )),
                };
            }
            if files.is_empty() {
                return err("error: must specify one of -f and -k");
            }
            Ok(KubectlCommand::Create { files, recursive, namespace: ns })
        }
        "replace" => {
            if files.is_empty() {
                return err("error: must specify --filename to replace");
            }
            Ok(KubectlCommand::Replace { files, recursive, namespace: ns, force: f.has("force") })
        }
        "delete" => {
            let grace_period = match f.value("grace-period") {
                None => None,
                Some(v) => Some(v.parse::<i64>().map_err(|_| ParseError {
                    message: format!("error: invalid argument \"{v}\" for \"--grace-period\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"),
                })?),
            };
            if files.is_empty() && pos.is_empty() {
                return err(
                    "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'",
                );
            }
            let targets = parse_targets(pos)?;
            let all = f.has("all");
            let selector = f.value("selector");
            if files.is_empty()
                && !all
                && selector.is_none()
                && targets.items.iter().any(|(_, n)| n.is_none())
            {
                return err("error: resource(s) were provided, but no name was specified");
            }
            Ok(KubectlCommand::Delete {
                files,
                recursive,
                targets,
                namespace: ns,
                selector,
                all,
                grace_period,
                force: f.has("force"),
                ignore_not_found: f.has("ignore-not-found"),
            })
        }
        "scale" => {
            let (kind, name) = kind_and_name(pos, "scale")?;
            let Some(replicas) = int_flag(&f, "replicas")? else {
                return err("error: required flag(s) \"replicas\" not set");
            };
            Ok(KubectlCommand::Scale { kind, name, replicas, namespace: ns })
        }
        "patch" => {
            let (kind, name) = kind_and_name(pos, "patch")?;
            let Some(patch) = f.value("patch") else {
                return err("error: must specify -p to patch");
            };
            let patch_type = match f.value("type").as_deref() {
                None | Some("strategic") => PatchType::Strategic,
                Some("merge") => PatchType::Merge,
                Some("json") => PatchType::Json,
                Some(other) => {
                    return err(format!(
                        "error: --type must be one of [json merge strategic], not \"{other}\""
                    ));
                }
            };
            Ok(KubectlCommand::Patch { kind, name, patch, patch_type, namespace: ns })
        }
        "expose" => {
            let (kind, name) = kind_and_name(pos, "expose")?;
            Ok(KubectlCommand::Expose {
                kind,
                name,
                port: int_flag(&f, "port")?,
                target_port: f.value("target-port"),
                service_type: f.value("type"),
                service_name: f.value("name"),
                protocol: f.value("protocol"),
                namespace: ns,
            })
        }
        "run" => {
            let Some(name) = pos.first().cloned() else {
                return err("error: NAME is required for run");
            };
            let Some(image) = f.value("image") else {
                return err("error: required flag(s) \"image\" not set");
            };
            let mut command = f.after_dashes.clone();
            command.extend(pos.iter().skip(1).cloned());
            Ok(KubectlCommand::Run {
                name,
                image,
                restart: f.value("restart"),
                labels: f.value("labels"),
                port: int_flag(&f, "port")?,
                env: f.values("env"),
                command,
                is_command: f.has("command"),
                namespace: ns,
            })
        }
        "label" => {
            let (kind, first_name, rest) = match pos.as_slice() {
                [one, rest @ ..] if one.contains('/') => {
                    let (t, n) = one.split_once('/').unwrap_or_default();
                    (resolve_kind(t).ok_or_else(|| unknown_type(t))?, n.to_string(), rest)
                }
                [t, n, rest @ ..] => (resolve_kind(t).ok_or_else(|| unknown_type(t))?, n.clone(), rest),
                _ => {
                    return err(
                        "error: one or more resources must be specified as <resource> <name> or <resource>/<name>",
                    );
                }
            };
            let mut names = vec![first_name];
            let mut changes = Vec::new();
            for a in rest {
                if let Some((k, v)) = a.split_once('=') {
                    changes.push((k.to_string(), Some(v.to_string())));
                } else if let Some(k) = a.strip_suffix('-') {
                    changes.push((k.to_string(), None));
                } else {
                    names.push(a.clone());
                }
            }
            if changes.is_empty() {
                return err("error: at least one label update is required");
            }
            Ok(KubectlCommand::Label { kind, names, changes, overwrite: f.has("overwrite"), namespace: ns })
        }
        "rollout" => {
            if pos.first().map(String::as_str) != Some("status") {
                return err(format!(
                    "error: unknown command \"{}\" for \"kubectl rollout\"",
                    pos.first().cloned().unwrap_or_default()
                ));
            }
            let (kind, name) = kind_and_name(&pos[1..], "rollout status")?;
            Ok(KubectlCommand::RolloutStatus { kind, name, namespace: ns })
        }
        "wait" => {
            let Some(cond) = f.value("for") else {
                return err("error: --for must be specified");
            };
            let condition = match cond.split_once('=') {
                Some(("condition", c)) => c.to_string(),
                None if cond == "delete" => "delete".to_string(),
                _ => return err(format!("error: unrecognized condition: \"{cond}\"")),
            };
            Ok(KubectlCommand::Wait {
                condition,
                targets: parse_targets(pos)?,
                selector: f.value("selector"),
                namespace: ns,
            })
        }
        "exec" => {
            let Some(pod) = pos.first().cloned() else {
                return err(
                    "error: expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'.\nPOD_NAME and COMMAND are required arguments for the exec command",
                );
            };
            let mut command = f.after_dashes.clone();
            if command.is_empty() {
                command = pos[1..].to_vec();
            }
            if command.is_empty() {
                return err("error: you must specify at least one command for the container");
            }
            Ok(KubectlCommand::Exec {
                pod,
                namespace: ns,
                container: f.value("container"),
                command,
                tty: f.has("tty"),
            })
        }
        "logs" => {
            let Some(pod) = pos.first().cloned() else {
                return err(
                    "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command",
                );
            };
            let tail = match f.value("tail") {
                None => None,
                Some(v) => match v.parse::<i64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        return err(format!(
                            "error: invalid argument \"{v}\" for \"--tail\" flag: strconv.ParseInt: parsing \"{v}\": invalid syntax"
                        ));
                    }
                },
            };
            Ok(KubectlCommand::Logs {
                pod,
                namespace: ns,
                container: f.value("container"),
                previous: f.has("previous"),
                tail,
            })
        }
        "port-forward" => {
            let Some(target) = pos.first().cloned() else {
                return err("error: TYPE/NAME and list of ports are required for port-forward");
            };
            Ok(KubectlCommand::PortForward { target, ports: pos[1..].to_vec(), namespace: ns })
        }
        "cp" => Ok(KubectlCommand::Cp { args: pos.clone(), namespace: ns }),
        other => err(format!("error: unknown command \"{other}\" for \"kubectl\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words(r#"kubectl patch svc x -p '{"spec":{"type":"NodePort"}}'"#).ok(),
            Some(vec![
                "kubectl".into(),
                "patch".into(),
                "svc".into(),
                "x".into(),
                "-p".into(),
                r#"{"spec":{"type":"NodePort"}}"#.into()
            ])
        );
    }

    #[test]
    fn logs_flags_are_logs_own() {
        let Ok(KubectlCommand::Logs { previous, tail, .. }) = parse("kubectl logs -p web -f --tail=5") else {
            panic!()
        };
        assert!(previous);
        assert_eq!(tail, Some(5));
        assert_eq!(
            parse("kubectl get pods --previous").err().map(|e| e.message),
            Some("error: unknown flag: --previous".into())
        );
        assert_eq!(
            parse("kubectl get pods --tail 3").err().map(|e| e.message),
            Some("error: unknown flag: --tail".into())
        );
        // Elsewhere -f is still a file and -p a patch.
        assert!(matches!(parse("kubectl apply -f x.yaml"), Ok(KubectlCommand::Apply { .. })));
    }

    #[test]
    fn get_forms() {
        let c = parse("kubectl get svc,ep -n kube-system -owide").ok();
        let Some(KubectlCommand::Get { targets, opts }) = c else { panic!("{c:?}") };
        assert_eq!(targets.items, vec![(Kind::Service, None), (Kind::Endpoints, None)]);
        assert!(targets.multi_kind);
        assert_eq!(opts.namespace.as_deref(), Some("kube-system"));
        assert_eq!(opts.output, OutputFormat::Wide);
        let Ok(KubectlCommand::Get { targets, .. }) = parse("get deploy/nginx svc/web") else { panic!() };
        assert_eq!(
            targets.items,
            vec![(Kind::Deployment, Some("nginx".into())), (Kind::Service, Some("web".into()))]
        );
        assert_eq!(
            parse("get foo").err().map(|e| e.message),
            Some("error: the server doesn't have a resource type \"foo\"".into())
        );
        assert_eq!(
            parse("get po --bogus").err().map(|e| e.message),
            Some("error: unknown flag: --bogus".into())
        );
    }

    #[test]
    fn exec_is_parsed_for_the_lead() {
        assert_eq!(
            parse("kubectl exec -it client -c c1 -n demo -- curl -s http://web").ok(),
            Some(KubectlCommand::Exec {
                pod: "client".into(),
                namespace: Some("demo".into()),
                container: Some("c1".into()),
                command: vec!["curl".into(), "-s".into(), "http://web".into()],
                tty: true,
            })
        );
    }

    #[test]
    fn scale_and_wait() {
        assert_eq!(
            parse("kubectl scale deployment/nginx --replicas=5").ok(),
            Some(KubectlCommand::Scale {
                kind: Kind::Deployment,
                name: "nginx".into(),
                replicas: 5,
                namespace: None
            })
        );
        assert_eq!(
            parse("kubectl scale deployment nginx --replicas 2").ok(),
            Some(KubectlCommand::Scale {
                kind: Kind::Deployment,
                name: "nginx".into(),
                replicas: 2,
                namespace: None
            })
        );
        let Ok(KubectlCommand::Wait { condition, .. }) =
            parse("kubectl wait --for=condition=Ready pod/x --timeout=60s")
        else {
            panic!()
        };
        assert_eq!(condition, "Ready");
    }
}
