//! Workload validation (`pkg/apis/apps/validation`: `ValidateDeploymentSpec`,
//! `ValidateReplicaSetSpec`, `ValidateStatefulSetSpec`, `ValidateDaemonSetSpec`) for selector,
//! replicas and template, plus `ValidateLabelSelector` from apimachinery. Left out: rollout
//! strategy, revision history and volume claim template checks.

use super::names::{self, NameRule};
use super::pod::validate_pod_spec;
use super::{BadValue, FieldError, child, go_string_map, index};
use crate::api::pod::RestartPolicy;
use crate::api::selector::SelectorOperator;
use crate::api::workload::{Workload, WorkloadSpec};
use crate::api::{Kind, LabelSelector};

/// `ValidateLabelSelector`.
pub fn label_selector(sel: &LabelSelector, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, r) in sel.match_expressions.iter().enumerate() {
        let rp = index(&child(path, "matchExpressions"), i);
        match &r.operator {
            SelectorOperator::In | SelectorOperator::NotIn => {
                if r.values.is_empty() {
                    errs.push(FieldError::required(
                        &child(&rp, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            SelectorOperator::Exists | SelectorOperator::DoesNotExist => {
                if !r.values.is_empty() {
                    errs.push(FieldError::forbidden(
                        &child(&rp, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            SelectorOperator::Unsupported(v) => {
                errs.push(FieldError::invalid(
                    &child(&rp, "operator"),
                    BadValue::Str(v.clone()),
                    "not a valid selector operator",
                ));
            }
        }
        for m in names::qualified_name(&r.key) {
            errs.push(FieldError::invalid(&child(&rp, "key"), BadValue::Str(r.key.clone()), &m));
        }
    }
    errs.extend(names::labels(&sel.match_labels, &child(path, "matchLabels")));
    errs
}

/// Validates a Deployment, ReplicaSet, StatefulSet or DaemonSet.
pub fn validate_workload<S: WorkloadSpec, T>(kind: Kind, w: &Workload<S, T>) -> Vec<FieldError> {
    let mut errs = names::validate_meta(&w.metadata, true, NameRule::Dns1123Subdomain);
    if let Some(r) = w.spec.replicas()
        && r < 0
    {
        errs.push(FieldError::invalid(
            "spec.replicas",
            BadValue::Int(i64::from(r)),
            "must be greater than or equal to 0",
        ));
    }
    let template = w.spec.template();
    match w.spec.selector() {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            errs.extend(label_selector(sel, "spec.selector"));
            if sel.is_empty() {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    BadValue::Raw(
                        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
                            .to_string(),
                    ),
                    &format!("empty selector is invalid for {}", kind.as_str().to_lowercase()),
                ));
            } else if !sel.matches(&template.metadata.labels) {
                errs.push(FieldError::invalid(
                    "spec.template.metadata.labels",
                    BadValue::Raw(go_string_map(&template.metadata.labels)),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errs.extend(names::labels(&template.metadata.labels, "spec.template.metadata.labels"));
    errs.extend(validate_pod_spec(&template.spec, "spec.template.spec"));
    if let Some(p) = &template.spec.restart_policy
        && *p != RestartPolicy::Always
        && p.is_supported()
    {
        errs.push(FieldError::not_supported("spec.template.spec.restartPolicy", p.as_str(), &["Always"]));
    }
    errs
}
