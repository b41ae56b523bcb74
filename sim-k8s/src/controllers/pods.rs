//! Pod helpers shared by the controllers: stamping a pod from a template with an owner
//! reference (as `controller.GetPodFromTemplate` does), owner matching, phase/readiness queries,
//! graceful deletion (deletionTimestamp = now + grace, like the API server's
//! `BeforeDelete`), and resolving a Service port to a pod port (`podutil.FindPort`).
//! Left out: pod priority and readiness gates.

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use super::store::{parse_timestamp, timestamp};
use crate::api::{
    IntOrString, ObjectMeta, OwnerReference, Pod, PodStatus, PodTemplateSpec, Protocol, ServicePort,
};

/// Default `terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

/// Builds a pod from a workload template.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    namespace: &str,
    name: &str,
    generate_name: &str,
    owner: OwnerReference,
    extra_labels: &[(&str, String)],
) -> Pod {
    let mut labels = template.metadata.labels.clone();
    for (k, v) in extra_labels {
        labels.insert((*k).to_string(), v.clone());
    }
    Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: ObjectMeta {
            name: name.to_string(),
            generate_name: generate_name.to_string(),
            namespace: namespace.to_string(),
            labels,
            annotations: template.metadata.annotations.clone(),
            owner_references: vec![owner],
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: Some(PodStatus {
            phase: Some("Pending".into()),
            qos_class: Some("BestEffort".into()),
            ..Default::default()
        }),
    }
}

/// A controller owner reference.
pub fn controller_ref(api_version: &str, kind: &str, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The controlling owner of an object, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().find(|o| o.controller == Some(true))
}

/// True if `meta` is controlled by an object of `kind` named `name`.
pub fn owned_by(meta: &ObjectMeta, kind: &str, name: &str) -> bool {
    controller_of(meta).is_some_and(|o| o.kind == kind && o.name == name)
}

/// `status.phase`, defaulting to Pending.
pub fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("Pending")
}

/// Succeeded or Failed.
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Has a deletionTimestamp.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Counted by workload controllers: not terminal, not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && !is_terminating(pod)
}

/// When graceful deletion completes.
pub fn deletion_deadline(pod: &Pod) -> Option<SimTime> {
    pod.metadata.deletion_timestamp.as_deref().and_then(parse_timestamp)
}

/// The pod's own grace period.
pub fn grace_seconds(pod: &Pod) -> i64 {
    pod.spec.termination_grace_period_seconds.unwrap_or(DEFAULT_GRACE_SECONDS).max(0)
}

/// Marks a pod Terminating (deletionTimestamp = now + grace).
pub fn mark_terminating(pod: &mut Pod, now: SimTime, grace: Option<i64>) {
    let grace = grace.unwrap_or_else(|| grace_seconds(pod)).max(0);
    let deadline = now.saturating_add(SimDuration::from_secs(grace as u64));
    pod.metadata.deletion_timestamp = Some(timestamp(deadline));
    pod.metadata.deletion_grace_period_seconds = Some(grace);
}

/// True if `labels` satisfy a Service's map selector.
pub fn selector_matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    crate::api::selector::map_selector_matches(selector, labels)
}

/// `podutil.FindPort`: a numeric target port is used as is; a named one is looked up among the
/// containers' ports with the same protocol.
pub fn find_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    match sp.target() {
        IntOrString::Int(0) => Some(sp.port),
        IntOrString::Int(p) => Some(p),
        IntOrString::String(name) => {
            let proto = sp.protocol();
            pod.spec.containers.iter().flat_map(|c| c.ports.iter()).find_map(|p| {
                (p.name == name && p.protocol.clone().unwrap_or(Protocol::TCP) == proto)
                    .then_some(p.container_port)
            })
        }
    }
}

/// A container port referenced by number or name (probe ports).
pub fn resolve_container_port(pod: &Pod, port: &IntOrString) -> Option<i32> {
    match port {
        IntOrString::Int(p) => Some(*p),
        IntOrString::String(name) => pod
            .spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter())
            .find_map(|p| (&p.name == name).then_some(p.container_port)),
    }
}

/// `Ready` condition status.
pub fn is_ready(pod: &Pod) -> bool {
    pod.is_ready()
}

/// `Ready` condition's last transition.
pub fn ready_since(pod: &Pod) -> Option<SimTime> {
    pod.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?
        .last_transition_time
        .as_deref()
        .and_then(parse_timestamp)
}

/// Total container restarts from `status.containerStatuses`.
pub fn restarts(pod: &Pod) -> i64 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|a| a.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}
