//! Pod-owning workloads: `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet` (apps/v1, also
//! accepted as apps/v1beta1, apps/v1beta2 and extensions/v1beta1). Each is a selector plus a pod
//! template; the simulated controllers stamp pods from the template. Rollout strategy, history
//! and volume claim templates are accepted as opaque values and not simulated.

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;
use super::pod::PodTemplateSpec;
use super::selector::LabelSelector;

/// A workload object: type metadata, object metadata, a kind-specific spec, observed status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload<S> {
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
    /// Observed state (replica counts from a dump), unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl<S: Clone> Workload<S> {
    /// A copy carrying `status` instead of this one's (which is not copied): what a status
    /// write stores.
    pub fn with_status(&self, status: Option<serde_json::Value>) -> Self {
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
pub type Deployment = Workload<DeploymentSpec>;
/// A ReplicaSet.
pub type ReplicaSet = Workload<ReplicaSetSpec>;
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
