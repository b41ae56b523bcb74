//! `ValidatingWebhookConfiguration` (admissionregistration.k8s.io/v1): stored so that the API
//! server knows which admission webhooks to call. netsim calls a webhook it models — the
//! ingress-nginx controller's `validate.nginx.ingress.kubernetes.io` (see
//! `crate::ingress::admission`) — and names any other as not simulated. The webhook entries are
//! kept as written; [`Webhook`] reads the fields the call depends on.

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// A ValidatingWebhookConfiguration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidatingWebhookConfiguration {
    /// `apiVersion` as written.
    #[serde(default)]
    pub api_version: String,
    /// `kind` as written.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// `webhooks`, as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<serde_json::Value>,
}

/// What the API server needs of one webhook entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// `name` (`validate.nginx.ingress.kubernetes.io`).
    pub name: String,
    /// `clientConfig.service`: namespace, name, port (default 443) and path.
    pub service: Option<(String, String, u16, String)>,
    /// `failurePolicy` is `Ignore` (the default is `Fail`).
    pub ignore_failures: bool,
    /// `timeoutSeconds` (default 10).
    pub timeout_seconds: u64,
    /// `rules`: what the webhook is called for.
    pub rules: Vec<RuleWithOperations>,
}

/// One entry of a webhook's `rules` (`*` matches anything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleWithOperations {
    /// `apiGroups` (`networking.k8s.io`).
    pub api_groups: Vec<String>,
    /// `apiVersions` (`v1`).
    pub api_versions: Vec<String>,
    /// `operations` (`CREATE`, `UPDATE`).
    pub operations: Vec<String>,
    /// `resources` (`ingresses`).
    pub resources: Vec<String>,
}

fn strings(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

impl Webhook {
    /// Reads one entry of `webhooks`.
    pub fn from_value(v: &serde_json::Value) -> Webhook {
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let service = v.get("clientConfig").and_then(|c| c.get("service")).map(|svc| {
            let f = |k: &str| svc.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            let port = svc.get("port").and_then(|p| p.as_u64()).and_then(|p| u16::try_from(p).ok());
            (f("namespace"), f("name"), port.unwrap_or(443), f("path"))
        });
        let rules = v
            .get("rules")
            .and_then(|r| r.as_array())
            .map(|rs| {
                rs.iter()
                    .map(|r| RuleWithOperations {
                        api_groups: strings(r, "apiGroups"),
                        api_versions: strings(r, "apiVersions"),
                        operations: strings(r, "operations"),
                        resources: strings(r, "resources"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Webhook {
            name: s("name"),
            service,
            ignore_failures: s("failurePolicy") == "Ignore",
            timeout_seconds: v.get("timeoutSeconds").and_then(|t| t.as_u64()).unwrap_or(10),
            rules,
        }
    }

    /// True when a rule covers `operation` (`CREATE`, `UPDATE`) on `group/version` `resource`.
    pub fn matches(&self, group: &str, version: &str, operation: &str, resource: &str) -> bool {
        let has = |list: &[String], want: &str| list.iter().any(|x| x == "*" || x == want);
        self.rules.iter().any(|r| {
            has(&r.api_groups, group)
                && has(&r.api_versions, version)
                && has(&r.operations, operation)
                && has(&r.resources, resource)
        })
    }
}

impl ValidatingWebhookConfiguration {
    /// The webhook entries, read.
    pub fn hooks(&self) -> Vec<Webhook> {
        self.webhooks.iter().map(Webhook::from_value).collect()
    }
}
