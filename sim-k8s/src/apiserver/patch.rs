//! `kubectl patch` semantics: JSON merge patch (RFC 7386: objects merge, `null` deletes,
//! arrays replace) and a strategic-merge-lite that merges the lists Kubernetes marks with a
//! patch merge key — `ports` by `port` (Service) or `containerPort` (container), `containers`
//! and `env` by `name` — and supports `$patch: delete` inside such lists — and JSON patch
//! (RFC 6902: `add`, `replace`, `remove`, `test` over JSON pointers, with evanphx/json-patch's
//! error wording). Left out: `$retainKeys`, `$setElementOrder`, `$deleteFromPrimitiveList`,
//! JSON patch `move`/`copy`.

use serde_json::{Map, Value};

/// Which patch format to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `--type merge`.
    Merge,
    /// `--type strategic` (kubectl's default).
    Strategic,
    /// `--type json` (RFC 6902 operations; applied by [`apply_json_patch`]).
    Json,
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

/// Applies a merge or strategic patch to `target` in place (a JSON patch goes through
/// [`apply_json_patch`], which can fail).
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

/// Decodes one RFC 6901 pointer token (`~1` → `/`, `~0` → `~`).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Applies an RFC 6902 JSON patch (an array of operations) to `target`; on error `target`
/// is left unchanged and the message says which operation failed and why.
pub fn apply_json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let Value::Array(ops) = ops else {
        return Err("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into());
    };
    let mut doc = target.clone();
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("");
        let Some(path) = op.get("path").and_then(Value::as_str) else {
            return Err(format!("jsonpatch {name} operation does not apply: missing path"));
        };
        let value = op.get("value");
        match name {
            "add" | "replace" | "test" if value.is_none() => {
                return Err(format!("jsonpatch {name} operation does not apply: missing value"));
            }
            "add" | "replace" | "remove" | "test" => {}
            other => return Err(format!("Unexpected kind: {other}")),
        }
        if name == "test" {
            if pointer(&doc, path) != value {
                return Err(format!("testing value {path} failed: test failed"));
            }
            continue;
        }
        let missing =
            |what: &str| format!("jsonpatch {name} operation does not apply: doc is missing {what}: {path}");
        let Some((parent_path, last)) = path.rsplit_once('/') else {
            // The empty pointer names the whole document.
            if path.is_empty() && name != "remove" {
                doc = value.cloned().unwrap_or(Value::Null);
                continue;
            }
            return Err(missing("path"));
        };
        let last = unescape(last);
        let Some(parent) = pointer_mut(&mut doc, parent_path) else {
            return Err(missing("path"));
        };
        match (parent, name) {
            (Value::Object(m), "add") => {
                m.insert(last, value.cloned().unwrap_or(Value::Null));
            }
            (Value::Object(m), "replace") => match m.get_mut(&last) {
                Some(slot) => *slot = value.cloned().unwrap_or(Value::Null),
                None => return Err(missing("key")),
            },
            (Value::Object(m), _) => {
                if m.remove(&last).is_none() {
                    return Err(missing("path"));
                }
            }
            (Value::Array(a), op) => {
                let idx = if last == "-" && op == "add" {
                    a.len()
                } else {
                    match last.parse::<usize>() {
                        Ok(i) if i < a.len() || (op == "add" && i == a.len()) => i,
                        _ => {
                            return Err(format!(
                                "jsonpatch {op} operation does not apply: index out of bounds: {path}"
                            ));
                        }
                    }
                };
                match op {
                    "add" => a.insert(idx, value.cloned().unwrap_or(Value::Null)),
                    "replace" => a[idx] = value.cloned().unwrap_or(Value::Null),
                    _ => {
                        a.remove(idx);
                    }
                }
            }
            _ => return Err(missing("path")),
        }
    }
    *target = doc;
    Ok(())
}

fn pointer<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(doc);
    }
    doc.pointer(path)
}

fn pointer_mut<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    if path.is_empty() {
        return Some(doc);
    }
    doc.pointer_mut(path)
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

    #[test]
    fn json_patch_rfc6902() {
        // RFC 6902 appendix A.1 (add), A.3 (remove), A.5 (replace), A.16 (add to array end).
        let mut t = json!({"foo": "bar", "spec": {"type": "ClusterIP"}, "a": [1, 2]});
        let ops = json!([
            {"op": "add", "path": "/baz", "value": "qux"},
            {"op": "remove", "path": "/foo"},
            {"op": "replace", "path": "/spec/type", "value": "NodePort"},
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "test", "path": "/a/0", "value": 1}
        ]);
        assert_eq!(apply_json_patch(&mut t, &ops), Ok(()));
        assert_eq!(t, json!({"baz": "qux", "spec": {"type": "NodePort"}, "a": [1, 2, 3]}));
        let before = t.clone();
        assert_eq!(
            apply_json_patch(&mut t, &json!([{"op": "replace", "path": "/spec/nope", "value": 1}])),
            Err("jsonpatch replace operation does not apply: doc is missing key: /spec/nope".into())
        );
        assert_eq!(
            apply_json_patch(&mut t, &json!([{"op": "remove", "path": "/x/y"}])),
            Err("jsonpatch remove operation does not apply: doc is missing path: /x/y".into())
        );
        assert_eq!(t, before);
    }

    proptest::proptest! {
        /// A JSON patch either applies or fails leaving the document untouched (RFC 6902 §5:
        /// the patch is atomic), whatever the paths.
        #[test]
        fn json_patch_is_atomic(
            ops in proptest::collection::vec(("(add|replace|remove|test)", "(/[a-c0-9-]{0,2}){0,3}", 0i64..3), 0..4)
        ) {
            let original = json!({"a": {"b": 1, "c": [1, 2]}, "b": [0], "c": "x"});
            let ops: Vec<Value> = ops.into_iter().map(|(op, path, v)| json!({"op": op, "path": path, "value": v})).collect();
            let mut doc = original.clone();
            if apply_json_patch(&mut doc, &Value::Array(ops)).is_err() {
                proptest::prop_assert_eq!(doc, original);
            }
        }
    }
}
