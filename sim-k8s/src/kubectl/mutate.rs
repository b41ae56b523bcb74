//! The writing verbs of kubectl: `apply`, `create` (`-f`, `create deployment`, `create namespace`),
//! `replace`,
//! `delete`, `scale`, `patch`, `expose`, `run`, `label`, plus the polling verbs
//! `rollout status` and `wait`. Objects built from flags follow kubectl's generators
//! (pkg/cmd/create/create_deployment.go, pkg/cmd/run, pkg/cmd/expose) and every message uses
//! kubectl's wording (`deployment.apps/nginx scaled`, `service "x" deleted`,
//! `service/x patched (no change)`, `deployment "x" successfully rolled out`). Pod deletion is
//! graceful (deletionTimestamp, finished by the kubelet) unless `--force --grace-period=0`.
//! `patch --type json` applies RFC 6902 operations. Left out: `--dry-run`, `--record`,
//! `apply --prune`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::command::{KubectlCommand, Targets};
use super::get::Selector;
use super::{Kubectl, KubectlOutput};
use crate::api::workload::DeploymentSpec;
use crate::api::{
    Container, ContainerPort, Deployment, EnvVar, IntOrString, Kind, LabelSelector, Object, ObjectMeta, Pod,
    PodSpec, PodTemplateSpec, Protocol, Service, ServicePort, ServiceSpec, ServiceType,
};
use crate::apiserver::{ApiError, ApiServer, ApplyResult};
use crate::controllers::ObjectStore;
use crate::controllers::pods::mark_terminating;
use crate::manifest::{self, Source};

/// Runs a writing or polling command.
pub fn run(k: &mut Kubectl<'_>, cmd: KubectlCommand) -> KubectlOutput {
    match cmd {
        KubectlCommand::Apply { files, recursive, namespace } => {
            from_files(k, &files, recursive, namespace.as_deref(), Verb::Apply)
        }
        KubectlCommand::Create { files, recursive, namespace } => {
            from_files(k, &files, recursive, namespace.as_deref(), Verb::Create)
        }
        KubectlCommand::Replace { files, recursive, namespace, force } => from_files(
            k,
            &files,
            recursive,
            namespace.as_deref(),
            if force { Verb::ForceReplace } else { Verb::Replace },
        ),
        KubectlCommand::Delete {
            files,
            recursive,
            targets,
            namespace,
            selector,
            all,
            grace_period,
            force,
            ignore_not_found,
        } => {
            if !files.is_empty() {
                return from_files(
                    k,
                    &files,
                    recursive,
                    namespace.as_deref(),
                    Verb::Delete { grace_period, force },
                );
            }
            delete_targets(
                k,
                &targets,
                namespace.as_deref(),
                selector.as_deref(),
                all,
                grace_period,
                force,
                ignore_not_found,
            )
        }
        KubectlCommand::CreateDeployment { name, images, replicas, port, namespace } => {
            create_deployment(k, &name, &images, replicas, port, namespace.as_deref())
        }
        KubectlCommand::CreateNamespace { name } => {
            let ns = crate::api::Namespace {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                metadata: crate::api::ObjectMeta::named("", &name),
                spec: None,
                status: None,
            };
            match k.store.create(Object::Namespace(ns)) {
                Ok(_) => ok(format!("namespace/{name} created\n")),
                Err(e) => api_error(&e),
            }
        }
        KubectlCommand::Scale { kind, name, replicas, namespace } => {
            let ns = namespace.unwrap_or_else(|| "default".into());
            match k.store.scale(kind, &ns, &name, replicas) {
                Ok(_) => ok(format!("{}/{name} scaled\n", kind.kubectl_prefix())),
                Err(e) => api_error(&e),
            }
        }
        KubectlCommand::Patch { kind, name, patch, patch_type, namespace } => {
            let ns = namespace.unwrap_or_else(|| "default".into());
            let doc: Value = match serde_json::from_str(&patch) {
                Ok(v) => v,
                Err(e) => return KubectlOutput::error(&format!("error: unable to parse \"{patch}\": {e}")),
            };
            match k.store.patch(kind, &ns, &name, &doc, patch_type) {
                Ok(ApplyResult::Unchanged) => {
                    ok(format!("{}/{name} patched (no change)\n", kind.kubectl_prefix()))
                }
                Ok(_) => ok(format!("{}/{name} patched\n", kind.kubectl_prefix())),
                Err(e) => api_error(&e),
            }
        }
        KubectlCommand::Expose {
            kind,
            name,
            port,
            target_port,
            service_type,
            service_name,
            protocol,
            namespace,
        } => expose(
            k,
            kind,
            &name,
            port,
            target_port.as_deref(),
            service_type.as_deref(),
            service_name.as_deref(),
            protocol.as_deref(),
            namespace.as_deref(),
        ),
        KubectlCommand::Run { name, image, restart, labels, port, env, command, is_command, namespace } => {
            run_pod(
                k,
                &name,
                &image,
                restart.as_deref(),
                labels.as_deref(),
                port,
                &env,
                command,
                is_command,
                namespace.as_deref(),
            )
        }
        KubectlCommand::Label { kind, names, changes, overwrite, namespace } => {
            label(k, kind, &names, &changes, overwrite, namespace.as_deref())
        }
        KubectlCommand::RolloutStatus { kind, name, namespace } => {
            rollout_status(k.store, kind, &name, namespace.as_deref())
        }
        KubectlCommand::Wait { condition, targets, selector, namespace } => {
            wait(k.store, &condition, &targets, selector.as_deref(), namespace.as_deref())
        }
        other => KubectlOutput::error(&format!("error: {other:?} is not handled here")),
    }
}

fn ok(stdout: String) -> KubectlOutput {
    KubectlOutput { stdout, ..Default::default() }
}

fn api_error(e: &ApiError) -> KubectlOutput {
    KubectlOutput::error(&e.kubectl_message(None))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Apply,
    Create,
    Replace,
    ForceReplace,
    Delete { grace_period: Option<i64>, force: bool },
}

fn from_files(
    k: &mut Kubectl<'_>,
    args: &[String],
    recursive: bool,
    namespace: Option<&str>,
    verb: Verb,
) -> KubectlOutput {
    let mut out = KubectlOutput::default();
    // Every `-f` argument expands first (kubectl's visitors are built before any object is
    // sent): a missing path fails the command with nothing applied.
    let mut files: Vec<(String, String)> = Vec::new();
    for arg in args {
        match (k.files)(arg, recursive) {
            Ok(mut found) => files.append(&mut found),
            Err(msg) => {
                out.stderr.push_str(&format!("error: {msg}\n"));
                out.exit_code = 1;
                return out;
            }
        }
    }
    let what = match verb {
        Verb::Apply => Some("apply"),
        Verb::Create => Some("create"),
        Verb::Replace | Verb::ForceReplace => Some("replace"),
        Verb::Delete { .. } => None,
    };
    if files.is_empty()
        && let Some(what) = what
    {
        // A directory with no manifest file in it (or none above it without `-R`).
        out.stderr.push_str(&format!("error: no objects passed to {what}\n"));
        out.exit_code = 1;
        return out;
    }
    for (file, text) in &files {
        let loaded = manifest::load(&[Source::text(file, text)]);
        if !loaded.errors.is_empty() {
            for e in &loaded.errors {
                out.stderr.push_str(&format!("error: {e}\n"));
            }
            out.exit_code = 1;
            continue;
        }
        for ns in &loaded.not_simulated {
            out.stderr.push_str(&format!("Warning: {ns}\n"));
        }
        if loaded.objects.is_empty() && loaded.not_simulated.is_empty() {
            // kubectl's resource builder finds no object in the file (empty, only comments or
            // `---`): `error: no objects passed to apply` (create, replace alike).
            if let Some(what) = what {
                out.stderr.push_str(&format!("error: no objects passed to {what}\n"));
                out.exit_code = 1;
            }
            continue;
        }
        let mut objects = loaded.objects;
        if let Some(ns) = namespace {
            for o in &mut objects {
                if !o.value.kind().is_namespaced() {
                    continue;
                }
                let own = o.value.namespace().to_string();
                if own.is_empty() {
                    if let Some(m) = o.value.meta_mut() {
                        m.namespace = ns.to_string();
                    }
                } else if own != ns {
                    out.stderr.push_str(&format!(
                        "error: the namespace from the provided object \"{own}\" does not match the namespace \"{ns}\". You must pass '--namespace={own}' to perform this operation.\n"
                    ));
                    out.exit_code = 1;
                    return out;
                }
            }
        }
        match verb {
            Verb::Apply | Verb::Create => {
                let reports = if verb == Verb::Apply {
                    k.store.apply_loaded(&objects)
                } else {
                    k.store.create_loaded(&objects)
                };
                for r in reports {
                    match &r.result {
                        Ok(_) => out.stdout.push_str(&r.kubectl_line()),
                        Err(_) => {
                            out.stderr.push_str(&r.kubectl_line());
                            out.exit_code = 1;
                        }
                    }
                }
            }
            Verb::Replace | Verb::ForceReplace => {
                for o in objects {
                    let key = o.value.key("default");
                    let res = if verb == Verb::ForceReplace {
                        let _ = k.store.delete(key.kind, &key.namespace, &key.name);
                        k.store.create(o.value.clone()).map(|_| ApplyResult::Created)
                    } else {
                        k.store.replace(o.value.clone())
                    };
                    match res {
                        Ok(_) => out.stdout.push_str(&format!(
                            "{}/{} replaced\n",
                            key.kind.kubectl_prefix(),
                            key.name
                        )),
                        Err(e) => {
                            out.stderr.push_str(&e.kubectl_message(Some(("replacing", file))));
                            out.exit_code = 1;
                        }
                    }
                }
            }
            Verb::Delete { grace_period, force } => {
                for o in objects {
                    let key = o.value.key("default");
                    match delete_one(k, key.kind, &key.namespace, &key.name, grace_period, force) {
                        Ok((line, warning)) => {
                            out.stderr.push_str(&warning);
                            out.stdout.push_str(&line);
                        }
                        Err(e) => {
                            out.stderr.push_str(&e.kubectl_message(Some(("deleting", file))));
                            out.exit_code = 1;
                        }
                    }
                }
            }
        }
    }
    out
}

/// Deletes one object; pods bound to a node go Terminating for their grace period.
/// Returns kubectl's stdout line and any stderr warning.
fn delete_one(
    k: &mut Kubectl<'_>,
    kind: Kind,
    ns: &str,
    name: &str,
    grace: Option<i64>,
    force: bool,
) -> Result<(String, String), ApiError> {
    let prefix = kind.kubectl_prefix();
    if kind == Kind::Pod
        && let Some(Object::Pod(p)) = k.store.get_named(kind, ns, name).cloned()
    {
        let immediate = force && grace == Some(0);
        let terminal =
            matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
        if immediate {
            k.store.delete(kind, ns, name)?;
            return Ok((
                format!("{prefix} \"{name}\" force deleted\n"),
                "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n".to_string(),
            ));
        }
        if !p.spec.node_name.is_empty() && !terminal && grace != Some(0) {
            if p.metadata.deletion_timestamp.is_none() {
                let mut p = p;
                mark_terminating(&mut p, k.now, grace);
                ObjectStore::update(k.store, Object::Pod(p), k.now)
                    .map_err(|e| ApiError::BadRequest { message: e.to_string() })?;
            }
            return Ok((format!("{prefix} \"{name}\" deleted\n"), String::new()));
        }
    }
    k.store.delete(kind, ns, name)?;
    Ok((format!("{prefix} \"{name}\" deleted\n"), String::new()))
}

#[allow(clippy::too_many_arguments)]
fn delete_targets(
    k: &mut Kubectl<'_>,
    targets: &Targets,
    namespace: Option<&str>,
    selector: Option<&str>,
    all: bool,
    grace: Option<i64>,
    force: bool,
    ignore_not_found: bool,
) -> KubectlOutput {
    let ns = namespace.unwrap_or("default").to_string();
    let sel = match selector.map(Selector::parse) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => return KubectlOutput::error(&format!("error: {e}")),
    };
    let mut out = KubectlOutput::default();
    let mut names: Vec<(Kind, String)> = Vec::new();
    for (kind, name) in &targets.items {
        match name {
            Some(n) => names.push((*kind, n.clone())),
            None if all || sel.is_some() => {
                for o in k.store.list(*kind) {
                    if kind.is_namespaced() && o.namespace() != ns {
                        continue;
                    }
                    let labels = o.meta().map(|m| m.labels.clone()).unwrap_or_default();
                    if sel.as_ref().is_none_or(|s| s.matches(&labels)) {
                        names.push((*kind, o.name().to_string()));
                    }
                }
            }
            None => {}
        }
    }
    if names.is_empty() && targets.items.iter().all(|(_, n)| n.is_none()) {
        // delete prints this on stdout, unlike get.
        out.stdout.push_str("No resources found\n");
        return out;
    }
    for (kind, name) in names {
        match delete_one(k, kind, &ns, &name, grace, force) {
            Ok((line, warning)) => {
                out.stderr.push_str(&warning);
                out.stdout.push_str(&line);
            }
            Err(ApiError::NotFound { .. }) if ignore_not_found => {}
            Err(e) => {
                out.stderr.push_str(&e.kubectl_message(None));
                out.exit_code = 1;
            }
        }
    }
    out
}

/// Container name kubectl derives from an image (`registry.k8s.io/echoserver:1.4` → `echoserver`).
pub fn container_name_from_image(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let name = last.split(':').next().unwrap_or(last);
    let name = name.split('@').next().unwrap_or(name);
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect()
}

fn create_deployment(
    k: &mut Kubectl<'_>,
    name: &str,
    images: &[String],
    replicas: i32,
    port: Option<i32>,
    ns: Option<&str>,
) -> KubectlOutput {
    let labels: BTreeMap<String, String> = [("app".to_string(), name.to_string())].into_iter().collect();
    let mut containers: Vec<Container> = images
        .iter()
        .map(|i| Container { name: container_name_from_image(i), image: i.clone(), ..Default::default() })
        .collect();
    if let (Some(p), Some(c)) = (port, containers.first_mut()) {
        c.ports = vec![ContainerPort { container_port: p, ..Default::default() }];
    }
    let d = Deployment {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        metadata: ObjectMeta {
            name: name.into(),
            namespace: ns.unwrap_or("").into(),
            labels: labels.clone(),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: Some(LabelSelector { match_labels: labels.clone(), match_expressions: Vec::new() }),
            template: PodTemplateSpec {
                metadata: ObjectMeta { labels, ..Default::default() },
                spec: PodSpec { containers: containers.into(), ..Default::default() }.into(),
            },
            ..Default::default()
        },
        status: None,
    };
    match k.store.create(Object::Deployment(Box::new(d))) {
        Ok(_) => ok(format!("deployment.apps/{name} created\n")),
        Err(e) => api_error(&e),
    }
}

#[allow(clippy::too_many_arguments)]
fn expose(
    k: &mut Kubectl<'_>,
    kind: Kind,
    name: &str,
    port: Option<i32>,
    target_port: Option<&str>,
    service_type: Option<&str>,
    service_name: Option<&str>,
    protocol: Option<&str>,
    namespace: Option<&str>,
) -> KubectlOutput {
    let ns = namespace.unwrap_or("default");
    let Some(obj) = k.store.get_named(kind, ns, name).cloned() else {
        return KubectlOutput::error(&format!(
            "Error from server (NotFound): {} \"{name}\" not found",
            kind.resource()
        ));
    };
    let (selector, container_ports): (BTreeMap<String, String>, Vec<ContainerPort>) = match &obj {
        Object::Deployment(d) => (selector_map(d.spec.selector.as_ref()), ports_of(&d.spec.template.spec)),
        Object::ReplicaSet(d) => (selector_map(d.spec.selector.as_ref()), ports_of(&d.spec.template.spec)),
        Object::StatefulSet(d) => (selector_map(d.spec.selector.as_ref()), ports_of(&d.spec.template.spec)),
        Object::Pod(p) => (p.metadata.labels.clone(), ports_of(&p.spec)),
        Object::Service(s) => (
            s.spec.selector.clone().unwrap_or_default(),
            s.spec
                .ports
                .iter()
                .map(|p| ContainerPort {
                    container_port: p.port,
                    protocol: p.protocol.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        _ => return KubectlOutput::error(&format!("error: cannot expose a {}", obj.kind())),
    };
    if selector.is_empty() {
        return KubectlOutput::error(&format!(
            "error: couldn't retrieve selectors via --selector flag or introspection: the {} has no selector",
            obj.kind().as_str()
        ));
    }
    let proto = protocol.map(Protocol::parse);
    let ports: Vec<ServicePort> = match port {
        Some(p) => vec![ServicePort {
            port: p,
            protocol: Some(proto.clone().unwrap_or(Protocol::TCP)),
            target_port: Some(target_port.map(parse_int_or_string).unwrap_or(IntOrString::Int(p))),
            ..Default::default()
        }],
        None if container_ports.is_empty() => {
            return KubectlOutput::error("error: couldn't find port via --port flag or introspection");
        }
        None => {
            let n = container_ports.len();
            container_ports
                .iter()
                .enumerate()
                .map(|(i, cp)| ServicePort {
                    name: if n > 1 { format!("port-{}", i + 1) } else { String::new() },
                    port: cp.container_port,
                    protocol: Some(proto.clone().or(cp.protocol.clone()).unwrap_or(Protocol::TCP)),
                    target_port: Some(
                        target_port.map(parse_int_or_string).unwrap_or(IntOrString::Int(cp.container_port)),
                    ),
                    ..Default::default()
                })
                .collect()
        }
    };
    let svc_name = service_name.unwrap_or(name).to_string();
    let labels = obj.meta().map(|m| m.labels.clone()).unwrap_or_default();
    let svc = Service {
        api_version: "v1".into(),
        kind: "Service".into(),
        metadata: ObjectMeta { name: svc_name.clone(), namespace: ns.into(), labels, ..Default::default() },
        spec: ServiceSpec {
            type_: service_type.map(ServiceType::parse),
            selector: Some(selector),
            ports,
            ..Default::default()
        },
        status: None,
    };
    match k.store.create(Object::Service(Box::new(svc))) {
        Ok(_) => ok(format!("service/{svc_name} exposed\n")),
        Err(e) => api_error(&e),
    }
}

fn parse_int_or_string(s: &str) -> IntOrString {
    s.parse::<i32>().map(IntOrString::Int).unwrap_or_else(|_| IntOrString::String(s.to_string()))
}

fn selector_map(sel: Option<&LabelSelector>) -> BTreeMap<String, String> {
    sel.map(|s| s.match_labels.clone()).unwrap_or_default()
}

fn ports_of(spec: &PodSpec) -> Vec<ContainerPort> {
    spec.containers.iter().flat_map(|c| c.ports.iter().cloned()).collect()
}

#[allow(clippy::too_many_arguments)]
fn run_pod(
    k: &mut Kubectl<'_>,
    name: &str,
    image: &str,
    restart: Option<&str>,
    labels: Option<&str>,
    port: Option<i32>,
    env: &[String],
    command: Vec<String>,
    is_command: bool,
    ns: Option<&str>,
) -> KubectlOutput {
    let labels: BTreeMap<String, String> = match labels {
        Some(l) => l
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        None => [("run".to_string(), name.to_string())].into_iter().collect(),
    };
    let restart_policy = match restart {
        None | Some("Always") => None,
        Some(r @ ("Never" | "OnFailure")) => Some(crate::api::pod::RestartPolicy::parse(r)),
        Some(other) => return KubectlOutput::error(&format!("error: invalid restart policy: {other}")),
    };
    let mut c = Container { name: name.into(), image: image.into(), ..Default::default() };
    if let Some(p) = port {
        c.ports = vec![ContainerPort { container_port: p, ..Default::default() }];
    }
    c.env = env
        .iter()
        .map(|e| {
            let (n, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            EnvVar { name: n.into(), value: Some(v.into()), value_from: None }
        })
        .collect();
    if is_command {
        c.command = command;
    } else {
        c.args = command;
    }
    let pod = Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: ObjectMeta {
            name: name.into(),
            namespace: ns.unwrap_or("").into(),
            labels,
            ..Default::default()
        },
        spec: PodSpec { containers: vec![c].into(), restart_policy, ..Default::default() }.into(),
        status: None,
    };
    match k.store.create(Object::Pod(pod)) {
        Ok(_) => ok(format!("pod/{name} created\n")),
        Err(e) => api_error(&e),
    }
}

fn label(
    k: &mut Kubectl<'_>,
    kind: Kind,
    names: &[String],
    changes: &[(String, Option<String>)],
    overwrite: bool,
    ns: Option<&str>,
) -> KubectlOutput {
    let ns = ns.unwrap_or("default");
    let mut out = KubectlOutput::default();
    for name in names {
        let Some(mut obj) = k.store.get_named(kind, ns, name).cloned() else {
            out.stderr.push_str(&format!(
                "Error from server (NotFound): {} \"{name}\" not found\n",
                kind.resource()
            ));
            out.exit_code = 1;
            continue;
        };
        let Some(meta) = obj.meta_mut() else { continue };
        let before = meta.labels.clone();
        for (key, value) in changes {
            match value {
                Some(v) => {
                    if let Some(old) = meta.labels.get(key)
                        && old != v
                        && !overwrite
                    {
                        return KubectlOutput::error(&format!(
                            "error: '{key}' already has a value ({old}), and --overwrite is false"
                        ));
                    }
                    meta.labels.insert(key.clone(), v.clone());
                }
                None => {
                    meta.labels.remove(key);
                }
            }
        }
        let changed = meta.labels != before;
        let only_removals = changes.iter().all(|(_, v)| v.is_none());
        if changed && let Err(e) = k.store.apply(obj) {
            out.stderr.push_str(&e.kubectl_message(None));
            out.exit_code = 1;
            continue;
        }
        let word = match (changed, only_removals) {
            (false, true) => "not unlabeled",
            (false, false) => "not labeled",
            (true, true) => "unlabeled",
            (true, false) => "labeled",
        };
        out.stdout.push_str(&format!("{}/{name} {word}\n", kind.kubectl_prefix()));
    }
    out
}

fn st(status: &Option<Value>, field: &str) -> i64 {
    status.as_ref().and_then(|s| s.get(field)).and_then(Value::as_i64).unwrap_or(0)
}

/// `kubectl rollout status` (pkg/polymorphichelpers/rollout_status.go wording).
pub fn rollout_status(store: &ApiServer, kind: Kind, name: &str, ns: Option<&str>) -> KubectlOutput {
    let ns = ns.unwrap_or("default");
    let Some(obj) = store.get_named(kind, ns, name) else {
        return KubectlOutput::error(&format!(
            "Error from server (NotFound): {} \"{name}\" not found",
            kind.resource()
        ));
    };
    let waiting = |msg: String| KubectlOutput { stdout: msg, retry: true, ..Default::default() };
    match obj {
        Object::Deployment(d) => {
            let generation = d.metadata.generation.unwrap_or(1);
            let st = |f: fn(&crate::api::DeploymentStatus) -> Option<i64>| {
                d.status.as_ref().and_then(f).unwrap_or(0)
            };
            if st(|s| s.observed_generation) < generation {
                return waiting("Waiting for deployment spec update to be observed...\n".into());
            }
            let want = i64::from(d.spec.replicas.unwrap_or(1));
            let updated = st(|s| s.updated_replicas);
            let replicas = st(|s| s.replicas);
            let available = st(|s| s.available_replicas);
            if updated < want {
                return waiting(format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {want} new replicas have been updated...\n"
                ));
            }
            if replicas > updated {
                return waiting(format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...\n",
                    replicas - updated
                ));
            }
            if available < updated {
                return waiting(format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available...\n"
                ));
            }
            ok(format!("deployment \"{name}\" successfully rolled out\n"))
        }
        Object::StatefulSet(s) => {
            let want = i64::from(s.spec.replicas.unwrap_or(1));
            let ready = st(&s.status, "readyReplicas");
            if ready < want {
                return waiting(format!("Waiting for {} pods to be ready...\n", want - ready));
            }
            let rev = s
                .status
                .as_ref()
                .and_then(|v| v.get("currentRevision"))
                .and_then(Value::as_str)
                .unwrap_or("");
            ok(format!("statefulset rolling update complete {want} pods at revision {rev}...\n"))
        }
        Object::DaemonSet(d) => {
            let desired = st(&d.status, "desiredNumberScheduled");
            let available = st(&d.status, "numberAvailable");
            let updated = st(&d.status, "updatedNumberScheduled");
            if updated < desired {
                return waiting(format!(
                    "Waiting for daemon set \"{name}\" rollout to finish: {updated} out of {desired} new pods have been updated...\n"
                ));
            }
            if available < desired {
                return waiting(format!(
                    "Waiting for daemon set \"{name}\" rollout to finish: {available} of {desired} updated pods are available...\n"
                ));
            }
            ok(format!("daemon set \"{name}\" successfully rolled out\n"))
        }
        other => KubectlOutput::error(&format!(
            "error: no status viewer has been implemented for {}",
            other.kind()
        )),
    }
}

fn has_condition(obj: &Object, cond: &str) -> bool {
    let want = cond.to_ascii_lowercase();
    match obj {
        Object::Pod(p) => p.status.as_ref().is_some_and(|s| {
            s.conditions.iter().any(|c| c.type_.to_ascii_lowercase() == want && c.status == "True")
        }),
        Object::Deployment(d) => d.status.as_ref().is_some_and(|s| {
            s.conditions().iter().any(|c| c.type_.to_ascii_lowercase() == want && c.status == "True")
        }),
        Object::Node(n) => {
            n.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(Value::as_array).is_some_and(
                |cs| {
                    cs.iter().any(|c| {
                        c.get("type").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref()
                            == Some(want.as_str())
                            && c.get("status").and_then(Value::as_str) == Some("True")
                    })
                },
            )
        }
        _ => false,
    }
}

/// `kubectl wait --for=condition=X` / `--for=delete`.
pub fn wait(
    store: &ApiServer,
    condition: &str,
    targets: &Targets,
    selector: Option<&str>,
    ns: Option<&str>,
) -> KubectlOutput {
    let ns = ns.unwrap_or("default");
    let mut out = KubectlOutput::default();
    // `-l`: the objects of the type its labels select, by name (the upstream quick start's
    // `kubectl wait --for=condition=ready pod --selector=app.kubernetes.io/component=controller`).
    let mut items: Vec<(Kind, Option<String>)> = Vec::new();
    for (kind, name) in &targets.items {
        match (name, selector) {
            (Some(n), _) => items.push((*kind, Some(n.clone()))),
            (None, Some(sel)) => {
                let sel = match super::get::Selector::parse(sel) {
                    Ok(s) => s,
                    Err(e) => return KubectlOutput::error(&format!("error: {e}")),
                };
                let mut names: Vec<String> = store
                    .list(*kind)
                    .filter(|o| !kind.is_namespaced() || o.namespace() == ns)
                    .filter(|o| sel.matches(&o.meta().map(|m| m.labels.clone()).unwrap_or_default()))
                    .map(|o| o.name().to_string())
                    .collect();
                names.sort();
                if names.is_empty() {
                    return KubectlOutput::error("error: no matching resources found");
                }
                items.extend(names.into_iter().map(|n| (*kind, Some(n))));
            }
            (None, None) => {}
        }
    }
    for (kind, name) in &items {
        let Some(name) = name else { continue };
        let obj = store.get_named(*kind, ns, name);
        let met = match (condition, obj) {
            ("delete", None) => true,
            ("delete", Some(_)) => false,
            (_, None) => {
                out.stderr.push_str(&format!(
                    "Error from server (NotFound): {} \"{name}\" not found\n",
                    kind.resource()
                ));
                out.exit_code = 1;
                continue;
            }
            (c, Some(o)) => has_condition(o, c),
        };
        if met {
            out.stdout.push_str(&format!("{}/{name} condition met\n", kind.kubectl_prefix()));
        } else {
            out.retry = true;
        }
    }
    if out.retry {
        out.stdout.clear();
    }
    out
}
