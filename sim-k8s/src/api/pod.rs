//! `Pod`, `PodSpec`, `Container` and `PodTemplateSpec` (core/v1), reduced to what decides a
//! pod's addresses, ports, readiness, DNS and environment: container ports, readiness probes,
//! env, hostNetwork, hostname/subdomain, dnsPolicy/dnsConfig, enableServiceLinks, node placement.
//! `status` (podIP, hostIP, phase, conditions) is kept as observed state when a manifest or dump
//! carries it. Fields real manifests and `-o yaml` dumps commonly carry but that do not change
//! where packets go (volumes, resources, security contexts, affinity, tolerations, lifecycle
//! hooks, ...) are accepted as opaque values; anything else is an unknown field.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::intstr::IntOrString;
use super::meta::ObjectMeta;
use super::quantity::Quantity;
use super::service::Protocol;
use crate::string_enum;

string_enum! {
    /// `spec.dnsPolicy`.
    DnsPolicy {
        /// Use the cluster DNS (the default).
        ClusterFirst = "ClusterFirst",
        /// Cluster DNS even with hostNetwork.
        ClusterFirstWithHostNet = "ClusterFirstWithHostNet",
        /// The node's resolv.conf.
        Default = "Default",
        /// Only `dnsConfig`.
        None = "None",
    }
}

string_enum! {
    /// `spec.restartPolicy`.
    RestartPolicy { Always = "Always", OnFailure = "OnFailure", Never = "Never" }
}

/// A Pod.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pod {
    /// `apiVersion` as written (`v1`).
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written (`Pod`).
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Desired state, shared with the template the pod was made from until the pod's own
    /// spec is written (binding sets `nodeName`): copy on write ([`Arc::make_mut`]; `Arc`, not `Rc`, because manifests are decoded on a
    /// thread of their own).
    #[serde(default)]
    pub spec: Arc<PodSpec>,
    /// Observed state (from a dump, or set by the simulated kubelet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

/// A pod template inside a workload (`spec.template`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplateSpec {
    /// Template metadata (labels must satisfy the workload selector).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Template pod spec, shared by the pods made from it.
    #[serde(default)]
    pub spec: Arc<PodSpec>,
}

/// Two shared specs are equal when they are the same allocation, without comparing their
/// contents (a pod and its template, or two versions of one object, usually share theirs);
/// `Arc`'s own `PartialEq` takes that shortcut only for `Eq` types, and a spec holds JSON.
fn same_spec(a: &Arc<PodSpec>, b: &Arc<PodSpec>) -> bool {
    Arc::ptr_eq(a, b) || **a == **b
}

impl PartialEq for Pod {
    fn eq(&self, other: &Self) -> bool {
        self.api_version == other.api_version
            && self.kind == other.kind
            && self.metadata == other.metadata
            && same_spec(&self.spec, &other.spec)
            && self.status == other.status
    }
}

impl PartialEq for PodTemplateSpec {
    fn eq(&self, other: &Self) -> bool {
        self.metadata == other.metadata && same_spec(&self.spec, &other.spec)
    }
}

/// `Pod.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSpec {
    /// Application containers.
    #[serde(default)]
    pub containers: Arc<Vec<Container>>,
    /// Init containers (accepted; their ports are not served).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    /// Node the pod is bound to (set by the scheduler, or by hand).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node_name: String,
    /// Node label constraints.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Pod hostname (defaults to the pod name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    /// Subdomain: with a headless Service of that name gives `hostname.subdomain.ns.svc` records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subdomain: String,
    /// Use the node's network namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
    /// DNS policy (default ClusterFirst).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_policy: Option<DnsPolicy>,
    /// Extra resolver configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<PodDnsConfig>,
    /// Inject `{SVC}_SERVICE_HOST`-style variables (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_service_links: Option<bool>,
    /// Restart policy (default Always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Service account name (accepted, not simulated).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account_name: String,
    /// Deprecated alias of `serviceAccountName` (accepted, not simulated).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_account: String,
    /// Scheduler name (accepted, not simulated).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheduler_name: String,
    /// Grace period on deletion (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Tolerations (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<serde_json::Value>,
    /// Priority (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Extra `/etc/hosts` entries (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<serde_json::Value>,
    /// Whether the pod's hostname resolves to its FQDN (kept).
    #[serde(rename = "setHostnameAsFQDN", default, skip_serializing_if = "Option::is_none")]
    pub set_hostname_as_fqdn: Option<bool>,
    /// Volumes (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<serde_json::Value>,
    /// Affinity rules (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<serde_json::Value>,
    /// Pod security context (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<serde_json::Value>,
    /// Image pull secrets (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<serde_json::Value>,
    /// Topology spread constraints (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<serde_json::Value>,
    /// Readiness gates (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_gates: Option<serde_json::Value>,
    /// Ephemeral containers (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_containers: Option<serde_json::Value>,
    /// Overhead (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<serde_json::Value>,
    /// OS selector (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<serde_json::Value>,
    /// Mount the service account token (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automount_service_account_token: Option<bool>,
    /// Priority class (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
    /// Preemption policy (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemption_policy: Option<String>,
    /// Runtime class (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_class_name: Option<String>,
    /// Deadline for the pod (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// Share the host PID namespace (kept).
    #[serde(rename = "hostPID", default, skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<bool>,
    /// Share the host IPC namespace (kept).
    #[serde(rename = "hostIPC", default, skip_serializing_if = "Option::is_none")]
    pub host_ipc: Option<bool>,
    /// Share one process namespace between containers (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_process_namespace: Option<bool>,
}

/// `spec.dnsConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDnsConfig {
    /// Extra nameservers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    /// Extra search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub searches: Vec<String>,
    /// Resolver options (`ndots:2`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<PodDnsConfigOption>,
}

/// One resolver option.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDnsConfigOption {
    /// Option name (`ndots`).
    #[serde(default)]
    pub name: String,
    /// Option value (`"2"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    /// Container name.
    #[serde(default)]
    pub name: String,
    /// Image reference (the simulated workload is chosen from it).
    #[serde(default)]
    pub image: String,
    /// Pull policy (accepted, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Entrypoint override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Declared ports (informational in Kubernetes, but named ports resolve `targetPort`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Readiness probe: gates membership in Service endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Probe>,
    /// Liveness probe (kept; restarts are not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Probe>,
    /// Startup probe: readiness probing starts only once it has succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Probe>,
    /// Working directory (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Keep stdin open (kept; `kubectl run -i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<bool>,
    /// Close stdin after the first attach (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    /// Allocate a TTY (kept; `kubectl run -t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// Environment from ConfigMaps/Secrets (accepted as opaque values, not resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<serde_json::Value>,
    /// Lifecycle hooks (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<serde_json::Value>,
    /// Container security context (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<serde_json::Value>,
    /// Block devices (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_devices: Option<serde_json::Value>,
    /// In-place resize policy (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_policy: Option<serde_json::Value>,
    /// Sidecar restart policy for init containers (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    /// Requests and limits (parsed, not simulated: netsim models no CPU or memory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Volume mounts (accepted as opaque values, not simulated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<serde_json::Value>,
    /// Termination message path (accepted from dumps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_path: Option<String>,
    /// Termination message policy (accepted from dumps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_message_policy: Option<String>,
}

/// `containers[].resources`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRequirements {
    /// Upper bounds (`cpu: 500m`, `memory: 128Mi`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
    /// Scheduling requests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
    /// Dynamic resource claims (kept as opaque values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Value>,
}

/// `containers[].ports[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerPort {
    /// IANA_SVC_NAME, referenced by a Service's string `targetPort`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Port the container listens on.
    #[serde(default)]
    pub container_port: i32,
    /// Protocol (default TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Port on the node forwarded to this container port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// Host IP for `hostPort`.
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

/// `containers[].env[]`: literal values only; `valueFrom` is accepted and left unresolved.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    #[serde(default)]
    pub name: String,
    /// Literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Reference to a field/secret/config map (kept as an opaque value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<serde_json::Value>,
}

/// A probe: one handler plus timing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// HTTP GET handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
    /// TCP connect handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketAction>,
    /// Exec handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    /// Delay before the first probe (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay_seconds: Option<i32>,
    /// Probe period (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<i32>,
    /// Probe timeout (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Consecutive successes to become ready (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_threshold: Option<i32>,
    /// Consecutive failures to become unready (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i32>,
    /// gRPC handler (accepted as an opaque value; never succeeds in the simulation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<serde_json::Value>,
    /// Grace period override on probe failure (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
}

/// One `httpGet.httpHeaders` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpHeader {
    /// Header name.
    #[serde(default)]
    pub name: String,
    /// Header value.
    #[serde(default)]
    pub value: String,
}

/// `httpGet` probe handler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpGetAction {
    /// Request path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Port number or container port name.
    #[serde(default)]
    pub port: IntOrString,
    /// Host to connect to (default pod IP).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// `HTTP` or `HTTPS`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

/// `tcpSocket` probe handler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpSocketAction {
    /// Port number or container port name.
    #[serde(default)]
    pub port: IntOrString,
    /// Host to connect to (default pod IP).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// `exec` probe handler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecAction {
    /// Command run in the container.
    #[serde(default)]
    pub command: Vec<String>,
}

/// `Pod.status`, kept as observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Conditions (`Ready`, `PodScheduled`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<PodCondition>,
    /// IP of the node.
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    /// Primary pod IP.
    #[serde(rename = "podIP", default, skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<IpAddr>,
    /// All pod IPs.
    #[serde(rename = "podIPs", default, skip_serializing_if = "Vec::is_empty")]
    pub pod_ips: Vec<PodIp>,
    /// Start time text (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// QoS class (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos_class: Option<String>,
    /// Container statuses (the kubelet's, or a dump's, with the fields netsim does not read
    /// kept as they came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_statuses: Option<Vec<ContainerStatus>>,
    /// Host IPs.
    #[serde(rename = "hostIPs", default, skip_serializing_if = "Option::is_none")]
    pub host_ips: Option<Vec<PodIp>>,
    /// Human-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `status.containerStatuses[]`. Typed for the fields the kubelet writes and kubectl reads;
/// anything else a dump carries (`containerID`, `volumeMounts`, `resources`, ...) is kept in
/// `other` and printed back as it came.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    /// Container name.
    #[serde(default)]
    pub name: String,
    /// Image as the runtime reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image digest (`""` before the runtime reports one).
    #[serde(rename = "imageID", default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// Whether the container passed its readiness probe.
    #[serde(default)]
    pub ready: bool,
    /// Restarts so far.
    #[serde(default)]
    pub restart_count: i64,
    /// Whether the container has started (and passed its startup probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    /// The current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ContainerStateStatus>,
    /// The state before the last restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<ContainerStateStatus>,
    /// Fields netsim does not read, as given.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `containerStatuses[].state` / `.lastState`: at most one of the three is set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateStatus {
    /// Not running yet, or backing off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<ContainerStateWaiting>,
    /// Running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<ContainerStateRunning>,
    /// Exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Box<ContainerStateTerminated>>,
    /// Fields netsim does not read, as given.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `state.waiting`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateWaiting {
    /// Why (`ContainerCreating`, `CrashLoopBackOff`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields netsim does not read, as given.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `state.running`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateRunning {
    /// When it started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Fields netsim does not read, as given.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `state.terminated`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateTerminated {
    /// Exit status.
    #[serde(default)]
    pub exit_code: i64,
    /// The signal that ended it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i64>,
    /// Why (`Completed`, `Error`, `OOMKilled`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Fields netsim does not read, as given.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `status.podIPs[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodIp {
    /// The address.
    pub ip: IpAddr,
}

/// `status.conditions[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodCondition {
    /// Condition type (`Ready`): the kubelet's own are static text, never allocated.
    #[serde(rename = "type", default)]
    pub type_: Cow<'static, str>,
    /// `True`, `False`, `Unknown`.
    #[serde(default)]
    pub status: Cow<'static, str>,
    /// Last probe time text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<String>,
    /// Last transition time text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'static, str>>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Pod {
    /// True if `status.conditions` has `Ready=True`.
    pub fn is_ready(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    }
}
