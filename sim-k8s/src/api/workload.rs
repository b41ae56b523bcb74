//! Pod-owning workloads: `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet` (apps/v1, also
//! accepted as apps/v1beta1, apps/v1beta2 and extensions/v1beta1). Each is a selector plus a pod
//! template; the simulated controllers stamp pods from the template. Rollout strategy, history
//! and volume claim templates are accepted as opaque values and not simulated.

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;
use super::pod::PodTemplateSpec;
use super::selector::LabelSelector;

/// A workload object: type metadata, object metadata, a kind-specific spec, observed status
/// (typed where a controller writes it often: a Deployment's and a ReplicaSet's; unparsed for
/// the others).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload<S, T = serde_json::Value> {
    /// `apiVersion` as written (`apps/v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state.
    #[serde(default)]
    pub spec: S,
    /// Observed state (the controller's, or a dump's replica counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<T>,
}

impl<S: Clone, T> Workload<S, T> {
    /// A copy carrying `status` instead of this one's (which is not copied): what a status
    /// write stores.
    pub fn with_status(&self, status: Option<T>) -> Self {
        Workload {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            metadata: self.metadata.clone(),
            spec: self.spec.clone(),
            status,
        }
    }
}

/// A Deployment.
pub type Deployment = Workload<DeploymentSpec, DeploymentStatus>;
/// A ReplicaSet.
pub type ReplicaSet = Workload<ReplicaSetSpec, ReplicaSetStatus>;
/// A StatefulSet.
pub type StatefulSet = Workload<StatefulSetSpec>;
/// A DaemonSet.
pub type DaemonSet = Workload<DaemonSetSpec>;

/// What every workload spec offers the controllers and validation.
pub trait WorkloadSpec {
    /// `spec.selector`, if given.
    fn selector(&self) -> Option<&LabelSelector>;
    /// `spec.template`.
    fn template(&self) -> &PodTemplateSpec;
    /// `spec.replicas` (None for DaemonSets and when absent).
    fn replicas(&self) -> Option<i32>;
}

/// `Deployment.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    /// Desired pod count (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pod selector (required in apps/v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pod template.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Rollout strategy, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<serde_json::Value>,
    /// Minimum ready time (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Old ReplicaSets kept (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Progress deadline (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
    /// Paused rollout (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// `Deployment.status`, as the deployment controller writes it (`syncRolloutStatus`); the
/// fields netsim does not write (`collisionCount`, `terminatingReplicas`, ...) are kept as a
/// dump gives them. Printed in the API's field order by the YAML and JSON printers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    /// Pods ready for `minReadySeconds` (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i64>,
    /// `Available` and `Progressing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<DeploymentCondition>>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready pods (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i64>,
    /// Pods of every ReplicaSet the Deployment owns (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Pods not available (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_replicas: Option<i64>,
    /// Pods of the newest ReplicaSet (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i64>,
    /// Fields netsim does not write, as given.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

impl DeploymentStatus {
    /// The conditions (none when absent).
    pub fn conditions(&self) -> &[DeploymentCondition] {
        self.conditions.as_deref().unwrap_or_default()
    }
}

/// `Deployment.status.conditions[]`. The controller's type, status and reason are static text,
/// never allocated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentCondition {
    /// `Available`, `Progressing`, `ReplicaFailure`.
    #[serde(rename = "type", default)]
    pub type_: std::borrow::Cow<'static, str>,
    /// `True`, `False`, `Unknown`.
    #[serde(default)]
    pub status: std::borrow::Cow<'static, str>,
    /// When the condition last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// When the condition was last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<std::borrow::Cow<'static, str>>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `ReplicaSet.status`, as the ReplicaSet controller writes it (`calculateStatus`); the fields
/// netsim does not write (`conditions`, `terminatingReplicas`) are kept as a dump gives them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetStatus {
    /// Pods ready for `minReadySeconds` (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i64>,
    /// Pods whose labels match the template's (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fully_labeled_replicas: Option<i64>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready pods (omitted at 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i64>,
    /// Active pods (always written by the controller, 0 included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Fields netsim does not write, as given.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// `ReplicaSet.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplicaSetSpec {
    /// Desired pod count (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pod selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pod template.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Minimum ready time (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
}

/// `StatefulSet.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatefulSetSpec {
    /// Desired pod count (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pod selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pod template.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Governing headless Service: pods get `<pod>.<serviceName>.<ns>.svc` names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    /// `OrderedReady` or `Parallel` (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<String>,
    /// Update strategy, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<serde_json::Value>,
    /// Volume claim templates, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_claim_templates: Option<serde_json::Value>,
    /// Old revisions kept (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Minimum ready time (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
}

/// `DaemonSet.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DaemonSetSpec {
    /// Pod selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pod template.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// Update strategy, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<serde_json::Value>,
    /// Minimum ready time (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Old revisions kept (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
}

macro_rules! impl_workload_spec {
    ($t:ty, $replicas:expr) => {
        impl WorkloadSpec for $t {
            fn selector(&self) -> Option<&LabelSelector> {
                self.selector.as_ref()
            }
            fn template(&self) -> &PodTemplateSpec {
                &self.template
            }
            fn replicas(&self) -> Option<i32> {
                #[allow(clippy::redundant_closure_call)]
                ($replicas)(self)
            }
        }
    };
}

impl_workload_spec!(DeploymentSpec, |s: &DeploymentSpec| s.replicas);
impl_workload_spec!(ReplicaSetSpec, |s: &ReplicaSetSpec| s.replicas);
impl_workload_spec!(StatefulSetSpec, |s: &StatefulSetSpec| s.replicas);
impl_workload_spec!(DaemonSetSpec, |_: &DaemonSetSpec| None);

#[cfg(test)]
mod tests {
    use super::Deployment;

    /// A dump's Deployment status comes back as it was given, fields netsim does not write
    /// (`collisionCount`, `terminatingReplicas`) included.
    #[test]
    fn a_dumped_deployment_status_round_trips() {
        let status = serde_json::json!({
            "availableReplicas": 2,
            "collisionCount": 1,
            "conditions": [{
                "lastTransitionTime": "2024-05-01T10:00:00Z",
                "lastUpdateTime": "2024-05-01T10:00:05Z",
                "message": "Deployment has minimum availability.",
                "reason": "MinimumReplicasAvailable",
                "status": "True",
                "type": "Available",
            }],
            "observedGeneration": 3,
            "readyReplicas": 2,
            "replicas": 2,
            "terminatingReplicas": 0,
            "updatedReplicas": 2,
        });
        let d: Deployment = serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {},
            "status": status,
        }))
        .unwrap();
        let s = d.status.as_ref().unwrap();
        assert_eq!(
            (s.replicas, s.observed_generation, s.conditions()[0].type_.as_ref()),
            (Some(2), Some(3), "Available")
        );
        assert_eq!(serde_json::to_value(&d).unwrap()["status"], status);
    }
}
