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

/// The (kind, name) of the controlling owner, the owner index's entry.
fn controller_of(m: &crate::api::ObjectMeta) -> Option<(&str, &str)> {
    m.owner_references.iter().find(|o| o.controller == Some(true)).map(|o| (o.kind.as_str(), o.name.as_str()))
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

    /// Replaces `old` by `new` under `key` (in `slot`), editing only the indexes whose field
    /// changed: nothing for a status write or most updates, the node alone for a binding.
    pub fn replace(&mut self, key: &ObjectKey, old: &Object, new: &Object, slot: Slot) {
        let (Some(mo), Some(mn)) = (old.meta(), new.meta()) else {
            self.edit(key, old, None);
            self.edit(key, new, Some(slot));
            return;
        };
        if controller_of(mo) != controller_of(mn) {
            self.edit_owner(key, mo, None);
            self.edit_owner(key, mn, Some(slot));
        }
        if label_indexed(key.kind) && mo.labels != mn.labels {
            self.edit_labels(key, mo, None);
            self.edit_labels(key, mn, Some(slot));
        }
        if let (Object::Service(o), Object::Service(n)) = (old, new)
            && o.spec.selector != n.spec.selector
        {
            self.edit_selector(key, o, false);
            self.edit_selector(key, n, true);
        }
        if let (Object::Pod(o), Object::Pod(n)) = (old, new)
            && o.spec.node_name != n.spec.node_name
        {
            self.edit_node(key, &o.spec.node_name, None);
            self.edit_node(key, &n.spec.node_name, Some(slot));
        }
    }

    /// Adds `obj`'s entries (with its slot) or, for `None`, removes them.
    fn edit(&mut self, key: &ObjectKey, obj: &Object, slot: Option<Slot>) {
        let Some(meta) = obj.meta() else { return };
        self.edit_owner(key, meta, slot);
        self.edit_labels(key, meta, slot);
        if let Object::Service(s) = obj {
            self.edit_selector(key, s, slot.is_some());
        }
        if let Object::Pod(p) = obj {
            self.edit_node(key, &p.spec.node_name, slot);
        }
    }

    fn edit_owner(&mut self, key: &ObjectKey, meta: &crate::api::ObjectMeta, slot: Option<Slot>) {
        if let Some((kind, name)) = controller_of(meta) {
            let k = PostingRef { kind: key.kind, namespace: &key.namespace, a: kind, b: name };
            edit_slots(&mut self.owned, k, &key.name, slot);
        }
    }

    fn edit_labels(&mut self, key: &ObjectKey, meta: &crate::api::ObjectMeta, slot: Option<Slot>) {
        if label_indexed(key.kind) {
            for (lk, lv) in &meta.labels {
                let k = PostingRef { kind: key.kind, namespace: &key.namespace, a: lk, b: lv };
                edit_slots(&mut self.labels, k, &key.name, slot);
            }
        }
    }

    fn edit_selector(&mut self, key: &ObjectKey, svc: &crate::api::Service, add: bool) {
        for (sk, sv) in svc.spec.selector.iter().flatten() {
            let k = PostingRef { kind: Kind::Service, namespace: &key.namespace, a: sk, b: sv };
            edit_posting(&mut self.selectors, k, &key.name, add);
        }
    }

    /// Records that the pod under `key` (in `slot`) was bound to `node` (it had none).
    pub fn add_to_node(&mut self, key: &ObjectKey, node: &str, slot: Slot) {
        self.edit_node(key, node, Some(slot));
    }

    fn edit_node(&mut self, key: &ObjectKey, node: &str, slot: Option<Slot>) {
        if node.is_empty() {
            return;
        }
        let v = (key.namespace.clone(), key.name.clone());
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
        self.selected_by(kind, namespace, selector.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// [`StoreIndex::selected`] for a selector given as its `(key, value)` pairs (borrowed: no
    /// map is built for a selector the caller knows).
    pub fn selected_by<'p>(
        &self,
        kind: Kind,
        namespace: &str,
        pairs: impl ExactSizeIterator<Item = (&'p str, &'p str)>,
    ) -> Option<Vec<Slot>> {
        let mut lists: Vec<&BTreeMap<String, Slot>> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
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
