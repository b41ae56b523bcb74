//! `kubectl patch` semantics: JSON merge patch (RFC 7386: objects merge, `null` deletes,
//! arrays replace) and a strategic-merge-lite that merges the lists Kubernetes marks with a
//! patch merge key — `ports` by `port` (Service) or `containerPort` (container), `containers`
//! and `env` by `name` — and supports `$patch: delete` inside such lists. Left out: `$retainKeys`,
//! `$setElementOrder`, `$deleteFromPrimitiveList` and JSON patch (RFC 6902).

use serde_json::{Map, Value};

/// Which patch format to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `--type merge`.
    Merge,
    /// `--type strategic` (kubectl's default).
    Strategic,
}

fn merge_key(field: &str, parent: &str) -> Option<&'static str> {
    match (parent, field) {
        ("spec", "ports") => Some("port"),
        ("containers" | "initContainers", "ports") => Some("containerPort"),
        (_, "containers" | "initContainers" | "env" | "volumeMounts") => Some("name"),
        ("subsets" | "endpoints", _) => None,
        _ => None,
    }
}

/// Applies `patch` to `target` in place.
pub fn apply(target: &mut Value, patch: &Value, ty: PatchType) {
    merge(target, patch, ty, "");
}

fn merge(target: &mut Value, patch: &Value, ty: PatchType, parent: &str) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
            continue;
        }
        let key = if ty == PatchType::Strategic { merge_key(k, parent) } else { None };
        match (key, v, t.get_mut(k)) {
            (Some(mk), Value::Array(items), Some(Value::Array(existing))) => {
                merge_list(existing, items, mk, ty, k);
            }
            (_, Value::Object(_), Some(slot)) => merge(slot, v, ty, k),
            _ => {
                let mut fresh = Value::Null;
                merge(&mut fresh, v, ty, k);
                t.insert(k.clone(), strip_directives(fresh));
            }
        }
    }
}

fn strip_directives(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                .map(strip_directives)
                .collect(),
        ),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, strip_directives(v))).collect()),
        other => other,
    }
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], mk: &str, ty: PatchType, field: &str) {
    for item in items {
        let Some(id) = item.get(mk) else {
            existing.push(item.clone());
            continue;
        };
        let pos = existing.iter().position(|e| e.get(mk) == Some(id));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                existing.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => merge(&mut existing[i], item, ty, field),
            (None, false) => existing.push(item.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386_examples() {
        // RFC 7386 appendix A examples.
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        apply(&mut t, &json!({"a": "z", "c": {"f": null}}), PatchType::Merge);
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [{"b": "c"}]});
        apply(&mut t, &json!({"a": [1]}), PatchType::Merge);
        assert_eq!(t, json!({"a": [1]}));
    }

    #[test]
    fn strategic_merges_service_ports_by_port() {
        let mut t =
            json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 80}, {"port": 443}]}});
        apply(
            &mut t,
            &json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}, {"port": 443, "$patch": "delete"}]}}),
            PatchType::Strategic,
        );
        assert_eq!(
            t,
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": 80, "nodePort": 30080}]}})
        );
    }
}
