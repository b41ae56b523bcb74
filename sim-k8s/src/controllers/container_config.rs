//! The kubelet's check of a container's environment sources before it creates the container
//! (kuberuntime `generateContainerConfig` → `makeEnvironmentVariables`): every `envFrom`
//! ConfigMap or Secret, and every `valueFrom` `configMapKeyRef` / `secretKeyRef`, must exist
//! (and hold the key) unless it is `optional`. The first that does not is the error the
//! container waits with (`CreateContainerConfigError`), worded as the kubelet words it:
//! `configmap "app-config" not found`, `couldn't find key LEVEL in ConfigMap default/app-config`.

use crate::api::{Container, Kind, Object, Pod};

use super::ObjectStore;

/// The error that keeps `c` from being created, if any.
pub fn env_source_error(store: &dyn ObjectStore, pod: &Pod, c: &Container) -> Option<String> {
    let ns = pod.metadata.namespace.as_str();
    let optional =
        |r: &serde_json::Value| r.get("optional").and_then(serde_json::Value::as_bool) == Some(true);
    let str_of =
        |r: &serde_json::Value, f: &str| r.get(f).and_then(serde_json::Value::as_str).map(str::to_string);
    if let Some(serde_json::Value::Array(sources)) = &c.env_from {
        for src in sources {
            for (field, source) in [("configMapRef", Source::ConfigMap), ("secretRef", Source::Secret)] {
                let Some(r) = src.get(field) else { continue };
                let name = str_of(r, "name").unwrap_or_default();
                if !optional(r) && source.keys(store, ns, &name).is_none() {
                    return Some(source.not_found(&name));
                }
            }
        }
    }
    for e in c.env.iter().filter(|e| e.value.is_none()) {
        let Some(from) = &e.value_from else { continue };
        for (field, source) in [("configMapKeyRef", Source::ConfigMap), ("secretKeyRef", Source::Secret)] {
            let Some(r) = from.get(field) else { continue };
            if optional(r) {
                continue;
            }
            let (name, key) = (str_of(r, "name").unwrap_or_default(), str_of(r, "key").unwrap_or_default());
            match source.keys(store, ns, &name) {
                None => return Some(source.not_found(&name)),
                Some(keys) if !keys.contains(&key) => {
                    return Some(format!("couldn't find key {key} in {} {ns}/{name}", source.kind_name()));
                }
                Some(_) => {}
            }
        }
    }
    None
}

#[derive(Clone, Copy)]
enum Source {
    ConfigMap,
    Secret,
}

impl Source {
    /// The source's keys, `None` when it does not exist.
    fn keys(self, store: &dyn ObjectStore, ns: &str, name: &str) -> Option<Vec<String>> {
        match (self, store.get_named(self.kind(), ns, name)?) {
            (Source::ConfigMap, Object::ConfigMap(cm)) => Some(cm.data.keys().cloned().collect()),
            (Source::Secret, Object::Secret(s)) => Some(s.data.keys().cloned().collect()),
            _ => None,
        }
    }

    fn kind(self) -> Kind {
        match self {
            Source::ConfigMap => Kind::ConfigMap,
            Source::Secret => Kind::Secret,
        }
    }

    /// The API's NotFound error as the kubelet's managers return it.
    fn not_found(self, name: &str) -> String {
        match self {
            Source::ConfigMap => format!("configmap \"{name}\" not found"),
            Source::Secret => format!("secret \"{name}\" not found"),
        }
    }

    fn kind_name(self) -> &'static str {
        match self {
            Source::ConfigMap => "ConfigMap",
            Source::Secret => "Secret",
        }
    }
}
