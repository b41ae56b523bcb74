//! The store's secondary indexes, as client-go's `cache.Indexer` keeps them for informers: by
//! controlling owner (kind and name, in the dependent's namespace — how the workload controllers
//! and the garbage collector match owners), by label (pods and EndpointSlices, for Service
//! selectors and `kubernetes.io/service-name`), Services by their selector's pairs (which
//! Services may select a pod), and pods by node (`spec.nodeName`, the kubelet's
//! and the scheduler's field selector). Every entry names objects, never copies them; every set
//! is ordered by name, so an indexed lookup yields objects in the same order a full list would.
//! Maintained by the API server on every write, so a lookup costs O(log n + hits) where a scan
//! of the store cost O(objects).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{Kind, Object, ObjectKey};

/// (dependent kind, namespace, owner kind, owner name).
type OwnerKey = (Kind, String, String, String);
/// (kind, namespace, label key, label value).
type LabelKey = (Kind, String, String, String);

/// Secondary indexes over the store's objects.
#[derive(Clone, Debug, Default)]
pub struct StoreIndex {
    owned: BTreeMap<OwnerKey, BTreeSet<String>>,
    labels: BTreeMap<LabelKey, BTreeSet<String>>,
    pods_by_node: BTreeMap<String, BTreeSet<(String, String)>>,
    selectors: BTreeMap<(String, String, String), BTreeSet<String>>,
}

/// True for the kinds whose labels are indexed.
fn label_indexed(kind: Kind) -> bool {
    matches!(kind, Kind::Pod | Kind::EndpointSlice)
}

impl StoreIndex {
    /// Records `obj` stored under `key`.
    pub fn insert(&mut self, key: &ObjectKey, obj: &Object) {
        self.edit(key, obj, true);
    }

    /// Forgets `obj`, which was stored under `key`.
    pub fn remove(&mut self, key: &ObjectKey, obj: &Object) {
        self.edit(key, obj, false);
    }

    /// Replaces `old` by `new` under `key`; nothing to do when no indexed field changed (a
    /// status write, most updates).
    pub fn replace(&mut self, key: &ObjectKey, old: &Object, new: &Object) {
        if Self::same_entries(old, new) {
            return;
        }
        self.edit(key, old, false);
        self.edit(key, new, true);
    }

    /// True if `a` and `b` have the same index entries: labels, controlling owner, a Service's
    /// selector, a pod's node.
    fn same_entries(a: &Object, b: &Object) -> bool {
        let (Some(ma), Some(mb)) = (a.meta(), b.meta()) else { return false };
        fn owner(m: &crate::api::ObjectMeta) -> Option<(&str, &str)> {
            m.owner_references
                .iter()
                .find(|o| o.controller == Some(true))
                .map(|o| (o.kind.as_str(), o.name.as_str()))
        }
        let specific = match (a, b) {
            (Object::Service(x), Object::Service(y)) => x.spec.selector == y.spec.selector,
            (Object::Pod(x), Object::Pod(y)) => x.spec.node_name == y.spec.node_name,
            _ => a.kind() == b.kind(),
        };
        specific && ma.labels == mb.labels && owner(ma) == owner(mb)
    }

    fn edit(&mut self, key: &ObjectKey, obj: &Object, add: bool) {
        let Some(meta) = obj.meta() else { return };
        if let Some(o) = meta.owner_references.iter().find(|o| o.controller == Some(true)) {
            let k = (key.kind, key.namespace.clone(), o.kind.clone(), o.name.clone());
            edit_set(&mut self.owned, k, key.name.clone(), add);
        }
        if label_indexed(key.kind) {
            for (lk, lv) in &meta.labels {
                let k = (key.kind, key.namespace.clone(), lk.clone(), lv.clone());
                edit_set(&mut self.labels, k, key.name.clone(), add);
            }
        }
        if let Object::Service(s) = obj {
            for (k, v) in s.spec.selector.iter().flatten() {
                let sk = (key.namespace.clone(), k.clone(), v.clone());
                edit_set(&mut self.selectors, sk, key.name.clone(), add);
            }
        }
        if let Object::Pod(p) = obj
            && !p.spec.node_name.is_empty()
        {
            let v = (key.namespace.clone(), key.name.clone());
            edit_set(&mut self.pods_by_node, p.spec.node_name.clone(), v, add);
        }
    }

    /// Names of `kind` objects in `namespace` controlled by the `owner_kind` named `owner`.
    pub fn owned(&self, kind: Kind, namespace: &str, owner_kind: &str, owner: &str) -> Vec<&str> {
        let k = (kind, namespace.to_string(), owner_kind.to_string(), owner.to_string());
        self.owned.get(&k).map(|s| s.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    /// Names of `kind` objects in `namespace` carrying every label of `selector`, in name
    /// order; None for an empty selector (which selects everything in the namespace). The
    /// smallest posting list is scanned and the others checked against it.
    pub fn selected<'a>(
        &'a self,
        kind: Kind,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Option<Vec<&'a str>> {
        let mut lists: Vec<&BTreeSet<String>> = Vec::with_capacity(selector.len());
        for (k, v) in selector {
            let key = (kind, namespace.to_string(), k.clone(), v.clone());
            match self.labels.get(&key) {
                Some(s) => lists.push(s),
                None => return Some(Vec::new()),
            }
        }
        lists.sort_by_key(|s| s.len());
        let (first, rest) = lists.split_first()?;
        Some(first.iter().filter(|n| rest.iter().all(|s| s.contains(*n))).map(String::as_str).collect())
    }

    /// Names of the Services in `namespace` whose selector has one of `labels`' pairs (the
    /// candidates a pod with those labels may be selected by), in name order.
    pub fn selecting(&self, namespace: &str, labels: &BTreeMap<String, String>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (k, v) in labels {
            if let Some(s) = self.selectors.get(&(namespace.to_string(), k.clone(), v.clone())) {
                out.extend(s.iter().cloned());
            }
        }
        out
    }

    /// (namespace, name) of the pods bound to `node`, in key order.
    pub fn pods_on(&self, node: &str) -> impl Iterator<Item = &(String, String)> {
        self.pods_by_node.get(node).into_iter().flatten()
    }
}

fn edit_set<K: Ord, V: Ord>(map: &mut BTreeMap<K, BTreeSet<V>>, k: K, v: V, add: bool) {
    if add {
        map.entry(k).or_default().insert(v);
    } else if let Some(s) = map.get_mut(&k) {
        s.remove(&v);
        if s.is_empty() {
            map.remove(&k);
        }
    }
}
