//! The store's secondary indexes, as client-go's `cache.Indexer` keeps them for informers: by
//! controlling owner (kind and name, in the dependent's namespace — how the workload controllers
//! and the garbage collector match owners), by label (pods and EndpointSlices, for Service
//! selectors and `kubernetes.io/service-name`), Services by their selector's pairs (which
//! Services may select a pod), and pods by node (`spec.nodeName`, the kubelet's
//! and the scheduler's field selector). Every entry names objects, never copies them; every set
//! is ordered by name, so an indexed lookup yields objects in the same order a full list would.
//! Maintained by the API server on every write, so a lookup costs O(1 + hits) where a scan
//! of the store cost O(objects).
//!
//! The index keys (kind, namespace and two strings) are only ever looked up, never walked, so
//! they sit in hash tables probed with borrowed parts ([`PostingRef`]): a lookup neither
//! allocates nor compares long strings level by level as a B-tree of tuples did (at 100,000
//! pods that `memcmp` was a fifth of a settle). Only the posting sets keep an order.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use indexmap::{Equivalent, IndexMap};
use sim_core::hash::FxBuildHasher;

use super::object_map::Slot;
use crate::api::{Kind, Object, ObjectKey};

/// An index key: a kind, a namespace and two strings — (owner kind, owner name) for the owner
/// index, (label key, label value) for labels and selectors.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PostingKey {
    kind: Kind,
    namespace: String,
    a: String,
    b: String,
}

/// A [`PostingKey`]'s parts, borrowed: what lookups probe with.
#[derive(Clone, Copy)]
struct PostingRef<'a> {
    kind: Kind,
    namespace: &'a str,
    a: &'a str,
    b: &'a str,
}

impl PostingRef<'_> {
    fn to_owned(self) -> PostingKey {
        PostingKey {
            kind: self.kind,
            namespace: self.namespace.to_string(),
            a: self.a.to_string(),
            b: self.b.to_string(),
        }
    }
}

// The owned and the borrowed key hash alike, field by field, as `Equivalent` requires.
impl Hash for PostingKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        PostingRef { kind: self.kind, namespace: &self.namespace, a: &self.a, b: &self.b }.hash(h);
    }
}

impl Hash for PostingRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.kind.hash(h);
        self.namespace.hash(h);
        self.a.hash(h);
        self.b.hash(h);
    }
}

impl Equivalent<PostingKey> for PostingRef<'_> {
    fn equivalent(&self, k: &PostingKey) -> bool {
        self.kind == k.kind && self.a == k.a && self.b == k.b && self.namespace == k.namespace
    }
}

/// Posting sets by key; the map's own order is never observed.
type Postings<V> = IndexMap<PostingKey, BTreeSet<V>, FxBuildHasher>;
/// Posting lists of objects by key: names in order, each with its object's store slot, so a
/// hit costs no second lookup by name.
type SlotPostings = IndexMap<PostingKey, BTreeMap<String, Slot>, FxBuildHasher>;

/// Secondary indexes over the store's objects.
#[derive(Clone, Debug, Default)]
pub struct StoreIndex {
    /// (dependent kind, namespace, owner kind, owner name) → dependents' names and slots.
    owned: SlotPostings,
    /// (kind, namespace, label key, label value) → names and slots.
    labels: SlotPostings,
    /// node → (namespace, name) of its pods, with their slots.
    pods_by_node: IndexMap<String, BTreeMap<(String, String), Slot>, FxBuildHasher>,
    /// (Service, namespace, selector key, selector value) → Services' names.
    selectors: Postings<String>,
}

/// True for the kinds whose labels are indexed.
fn label_indexed(kind: Kind) -> bool {
    matches!(kind, Kind::Pod | Kind::EndpointSlice)
}

impl StoreIndex {
    /// Records `obj` stored under `key` in `slot`.
    pub fn insert(&mut self, key: &ObjectKey, obj: &Object, slot: Slot) {
        self.edit(key, obj, Some(slot));
    }

    /// Forgets `obj`, which was stored under `key`.
    pub fn remove(&mut self, key: &ObjectKey, obj: &Object) {
        self.edit(key, obj, None);
    }

    /// Replaces `old` by `new` under `key` (in `slot`); nothing to do when no indexed field
    /// changed (a status write, most updates).
    pub fn replace(&mut self, key: &ObjectKey, old: &Object, new: &Object, slot: Slot) {
        if Self::same_entries(old, new) {
            return;
        }
        self.edit(key, old, None);
        self.edit(key, new, Some(slot));
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

    /// Adds `obj`'s entries (with its slot) or, for `None`, removes them.
    fn edit(&mut self, key: &ObjectKey, obj: &Object, slot: Option<Slot>) {
        let Some(meta) = obj.meta() else { return };
        let add = slot.is_some();
        let ns = key.namespace.as_str();
        if let Some(o) = meta.owner_references.iter().find(|o| o.controller == Some(true)) {
            let k = PostingRef { kind: key.kind, namespace: ns, a: &o.kind, b: &o.name };
            edit_slots(&mut self.owned, k, &key.name, slot);
        }
        if label_indexed(key.kind) {
            for (lk, lv) in &meta.labels {
                let k = PostingRef { kind: key.kind, namespace: ns, a: lk, b: lv };
                edit_slots(&mut self.labels, k, &key.name, slot);
            }
        }
        if let Object::Service(s) = obj {
            for (sk, sv) in s.spec.selector.iter().flatten() {
                let k = PostingRef { kind: Kind::Service, namespace: ns, a: sk, b: sv };
                edit_posting(&mut self.selectors, k, &key.name, add);
            }
        }
        if let Object::Pod(p) = obj
            && !p.spec.node_name.is_empty()
        {
            let v = (key.namespace.clone(), key.name.clone());
            let node = p.spec.node_name.as_str();
            if let Some(slot) = slot {
                match self.pods_by_node.get_mut(node) {
                    Some(s) => {
                        s.insert(v, slot);
                    }
                    None => {
                        self.pods_by_node.insert(node.to_string(), BTreeMap::from([(v, slot)]));
                    }
                }
            } else if let Some(s) = self.pods_by_node.get_mut(node) {
                s.remove(&v);
                if s.is_empty() {
                    self.pods_by_node.swap_remove(node);
                }
            }
        }
    }

    /// Slots of the `kind` objects in `namespace` controlled by the `owner_kind` named `owner`,
    /// in name order.
    pub fn owned(&self, kind: Kind, namespace: &str, owner_kind: &str, owner: &str) -> Vec<Slot> {
        let k = PostingRef { kind, namespace, a: owner_kind, b: owner };
        self.owned.get(&k).map(|s| s.values().copied().collect()).unwrap_or_default()
    }

    /// Slots of the `kind` objects in `namespace` carrying every label of `selector`, in name
    /// order; None for an empty selector (which selects everything in the namespace). The
    /// smallest posting list is scanned and the others checked against it.
    pub fn selected(
        &self,
        kind: Kind,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Option<Vec<Slot>> {
        let mut lists: Vec<&BTreeMap<String, Slot>> = Vec::with_capacity(selector.len());
        for (k, v) in selector {
            match self.labels.get(&PostingRef { kind, namespace, a: k, b: v }) {
                Some(s) => lists.push(s),
                None => return Some(Vec::new()),
            }
        }
        lists.sort_by_key(|s| s.len());
        let (first, rest) = lists.split_first()?;
        Some(
            first
                .iter()
                .filter(|(n, _)| rest.iter().all(|s| s.contains_key(*n)))
                .map(|(_, slot)| *slot)
                .collect(),
        )
    }

    /// Names of the Services in `namespace` whose selector has one of `labels`' pairs (the
    /// candidates a pod with those labels may be selected by), in name order.
    pub fn selecting<'a>(&'a self, namespace: &str, labels: &BTreeMap<String, String>) -> BTreeSet<&'a str> {
        let mut out = BTreeSet::new();
        for (k, v) in labels {
            if let Some(s) = self.selectors.get(&PostingRef { kind: Kind::Service, namespace, a: k, b: v }) {
                out.extend(s.iter().map(String::as_str));
            }
        }
        out
    }

    /// Slots of the pods bound to `node`, in (namespace, name) order.
    pub fn pods_on(&self, node: &str) -> impl Iterator<Item = Slot> + '_ {
        self.pods_by_node.get(node).into_iter().flat_map(|m| m.values().copied())
    }
}

/// Adds `name` in `slot` to (or, for `None`, removes it from) the posting list under `k`; an
/// emptied list goes.
fn edit_slots(map: &mut SlotPostings, k: PostingRef<'_>, name: &str, slot: Option<Slot>) {
    match slot {
        Some(slot) => match map.get_mut(&k) {
            Some(s) => match s.get_mut(name) {
                Some(v) => *v = slot,
                None => {
                    s.insert(name.to_string(), slot);
                }
            },
            None => {
                map.insert(k.to_owned(), BTreeMap::from([(name.to_string(), slot)]));
            }
        },
        None => {
            if let Some(i) = map.get_index_of(&k) {
                let s = &mut map[i];
                s.remove(name);
                if s.is_empty() {
                    map.swap_remove_index(i);
                }
            }
        }
    }
}

/// Adds `name` to (or removes it from) the posting set under `k`; an emptied set goes.
fn edit_posting(map: &mut Postings<String>, k: PostingRef<'_>, name: &str, add: bool) {
    if add {
        match map.get_mut(&k) {
            Some(s) => {
                if !s.contains(name) {
                    s.insert(name.to_string());
                }
            }
            None => {
                map.insert(k.to_owned(), BTreeSet::from([name.to_string()]));
            }
        }
    } else if let Some(i) = map.get_index_of(&k) {
        let s = &mut map[i];
        s.remove(name);
        if s.is_empty() {
            map.swap_remove_index(i);
        }
    }
}
