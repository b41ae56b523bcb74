//! The kinds a stock Kubernetes API server serves, by group/version, for telling a typo
//! (`kind: Servcie`) from a kind that exists but netsim does not simulate (`kind: ServiceAccount`).
//!
//! The table follows the built-in API groups of Kubernetes 1.31 (`k8s.io/api`, plus
//! `apiextensions.k8s.io` and `apiregistration.k8s.io`, and the component-config files users
//! keep beside their manifests). A group that is not in the table is a custom resource's group
//! (`cert-manager.io`, `monitoring.coreos.com`, `gateway.networking.k8s.io`, ...): its kinds
//! exist when their CRD is installed, so they are "not simulated", never an error. Only the
//! pairs of a built-in group the table does not list are "unknown to the API", as the REST
//! mapper answers `no matches for kind "Servcie" in version "v1"`.

/// `(group/version, kinds)` of the built-in API: the simulated kinds and the others.
const BUILTIN: &[(&[&str], &[&str])] = &[
    (
        &["v1"],
        &[
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        &["apps/v1", "apps/v1beta1", "apps/v1beta2"],
        &["ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"],
    ),
    (
        &["extensions/v1beta1"],
        &["DaemonSet", "Deployment", "Ingress", "NetworkPolicy", "PodSecurityPolicy", "ReplicaSet"],
    ),
    (&["batch/v1", "batch/v1beta1"], &["CronJob", "Job"]),
    (
        &["autoscaling/v1", "autoscaling/v2", "autoscaling/v2beta1", "autoscaling/v2beta2"],
        &["HorizontalPodAutoscaler"],
    ),
    (&["policy/v1", "policy/v1beta1"], &["PodDisruptionBudget", "PodSecurityPolicy", "Eviction"]),
    (
        &["rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1"],
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    (
        &["networking.k8s.io/v1", "networking.k8s.io/v1beta1", "networking.k8s.io/v1alpha1"],
        &["IPAddress", "Ingress", "IngressClass", "NetworkPolicy", "ServiceCIDR"],
    ),
    (&["discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"], &["EndpointSlice"]),
    (
        &["storage.k8s.io/v1", "storage.k8s.io/v1beta1"],
        &["CSIDriver", "CSINode", "CSIStorageCapacity", "StorageClass", "VolumeAttachment"],
    ),
    (&["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"], &["CustomResourceDefinition"]),
    (
        &["admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v1beta1"],
        &[
            "MutatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingWebhookConfiguration",
        ],
    ),
    (&["apiregistration.k8s.io/v1"], &["APIService"]),
    (&["scheduling.k8s.io/v1"], &["PriorityClass"]),
    (&["coordination.k8s.io/v1"], &["Lease"]),
    (&["node.k8s.io/v1"], &["RuntimeClass"]),
    (&["certificates.k8s.io/v1"], &["CertificateSigningRequest"]),
    (&["events.k8s.io/v1"], &["Event"]),
    (
        &["flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta3"],
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        &["resource.k8s.io/v1beta1"],
        &["DeviceClass", "ResourceClaim", "ResourceClaimTemplate", "ResourceSlice"],
    ),
    (&["kubeproxy.config.k8s.io/v1alpha1"], &["KubeProxyConfiguration"]),
    (&["kubelet.config.k8s.io/v1beta1"], &["KubeletConfiguration", "CredentialProviderConfig"]),
    (
        &["kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4"],
        &[
            "ClusterConfiguration",
            "InitConfiguration",
            "JoinConfiguration",
            "ResetConfiguration",
            "UpgradeConfiguration",
        ],
    ),
];

/// The group of an apiVersion (`""` for the core group's `v1`).
fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// True if `api_version` belongs to a built-in API group (whatever its version).
pub fn is_builtin_group(api_version: &str) -> bool {
    let g = group(api_version);
    BUILTIN.iter().any(|(versions, _)| versions.iter().any(|v| group(v) == g))
}

/// True if a stock API server would map `(api_version, kind)`: its group is built in and
/// serves that kind in that version, or its group is not built in (a custom resource, known
/// once its CRD is installed).
pub fn is_known(api_version: &str, kind: &str) -> bool {
    if !is_builtin_group(api_version) {
        return true;
    }
    BUILTIN.iter().any(|(versions, kinds)| versions.contains(&api_version) && kinds.contains(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_in_builtin_groups_are_unknown_and_crds_are_not() {
        assert!(!is_known("v1", "Servcie"));
        assert!(!is_known("apps/v1", "Deploymnet"));
        assert!(!is_known("v2", "Service"));
        assert!(is_known("v1", "ConfigMap"));
        assert!(is_known("batch/v1", "Job"));
        assert!(is_known("networking.k8s.io/v1", "NetworkPolicy"));
        assert!(is_known("cert-manager.io/v1", "Certificate"));
        assert!(is_known("gateway.networking.k8s.io/v1", "HTTPRoute"));
    }
}
