//! A controller's watch on the store, as an informer feeds a workqueue: its position in the
//! API server's change log, so each pass reconciles only the objects a change touched (the
//! controller maps each change to the keys of the objects it manages), and a resync flag for
//! changes the log cannot show (a node stopped, a container crashed, a probe oracle installed),
//! after which the next pass reconciles everything, as an informer's periodic resync does.
//! Because every reconcile is level-triggered and idempotent, skipping an object no change
//! touched gives the same result as reconciling it.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher;

use super::ObjectStore;
use crate::api::{Kind, Object, ObjectKey, Pod};
use crate::apiserver::Change;

/// One controller's position in the change log.
#[derive(Debug)]
pub struct Watch {
    seen: u64,
    resync: bool,
    /// What the controller last saw of each pod, as a digest of the pod fields it reads
    /// (empty for controllers that do not filter pod changes).
    pods: IndexMap<ObjectKey, u64, FxBuildHasher>,
    /// The resourceVersion of the controller's own last write of each object it manages.
    own: IndexMap<ObjectKey, u64, FxBuildHasher>,
}

impl Default for Watch {
    /// A new watch resyncs first: everything in the store is new to it.
    fn default() -> Self {
        Watch { seen: 0, resync: true, pods: IndexMap::default(), own: IndexMap::default() }
    }
}

impl Watch {
    /// The changes since the last poll, or `None` when everything must be reconciled.
    /// A watch from before the log's start (compacted) relists, as an informer does on
    /// "too old resource version".
    pub fn poll<'a>(&mut self, store: &'a dyn ObjectStore) -> Option<&'a [Change]> {
        let missed = self.seen < store.log_start();
        let changes = store.changes_since(self.seen);
        self.seen = store.revision();
        if std::mem::take(&mut self.resync) || missed { None } else { Some(changes) }
    }

    /// The log position this watch has read up to.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Asks for a full reconcile on the next poll.
    pub fn resync(&mut self) {
        self.resync = true;
    }

    /// Whether a pod change can matter to a controller that reads only what `digest` hashes,
    /// as upstream's pod update handlers compare the old and new pod before queueing anything
    /// (`podEndpointsChanged`, the ReplicaSet controller's `updatePod`): true when the digest
    /// moved, records the digest. A digest of `None` says the controller sees nothing of the
    /// pod (an endpoints controller, of a pod without an address), the same as no pod: its
    /// creation and deletion matter only when the digest of the pod that is or was is `Some`.
    /// Skipping the others gives the same result, as every reconcile is level-triggered.
    pub fn pod_changed(
        &mut self,
        store: &dyn ObjectStore,
        ch: &Change,
        digest: fn(&Pod) -> Option<u64>,
    ) -> bool {
        let now = store.get_changed(ch).and_then(Object::as_pod).and_then(digest);
        match (now, self.pods.get_mut(&ch.key)) {
            (Some(d), Some(old)) if *old == d => false,
            (Some(d), Some(old)) => {
                *old = d;
                true
            }
            (Some(d), None) => {
                self.pods.insert(ch.key.clone(), d);
                true
            }
            (None, Some(_)) => {
                self.pods.swap_remove(&ch.key);
                true
            }
            (None, None) => false,
        }
    }

    /// Notes that the controller itself just wrote `key` (its resourceVersion now).
    pub fn wrote(&mut self, store: &dyn ObjectStore, key: &ObjectKey) {
        let rv = store.get(key).and_then(Object::meta).and_then(|m| m.resource_version.parse().ok());
        if let Some(rv) = rv {
            self.own.insert(key.clone(), rv);
        }
    }

    /// True when `ch` is the controller's own last write, which tells it nothing new (as
    /// upstream's EndpointSlice tracker `ShouldSync` skips slices at a generation it wrote).
    pub fn own_change(&mut self, ch: &Change) -> bool {
        if ch.change == crate::apiserver::ChangeType::Deleted {
            return false;
        }
        let own = self.own.get(&ch.key) == Some(&ch.resource_version);
        if own {
            self.own.swap_remove(&ch.key);
        }
        own
    }

    /// After a resync: the digest of every pod, as the full reconcile saw them.
    pub fn record_pods(&mut self, store: &dyn ObjectStore, digest: fn(&Pod) -> Option<u64>) {
        self.pods.clear();
        for obj in store.list(Kind::Pod) {
            if let Some(d) = obj.as_pod().and_then(digest) {
                self.pods.insert(obj.key("default"), d);
            }
        }
    }
}

/// The object a change is about: the stored one, or for a deletion the one that was deleted.
pub fn changed_object<'a>(store: &'a dyn ObjectStore, c: &'a Change) -> Option<&'a Object> {
    store.get_changed(c).or(c.old.as_deref())
}

/// Both versions a change may relate to: the stored object and, when its labels or owners
/// changed or it was deleted, the one before.
pub fn both_versions<'a>(store: &'a dyn ObjectStore, c: &'a Change) -> impl Iterator<Item = &'a Object> {
    store.get_changed(c).into_iter().chain(c.old.as_deref())
}

/// Keys to reconcile: a resync's full list of `kind`, else what `map` makes of each change.
pub fn dirty_keys(
    store: &dyn ObjectStore,
    changes: Option<&[Change]>,
    kind: crate::api::Kind,
    mut map: impl FnMut(&Change, &mut BTreeSet<ObjectKey>),
) -> BTreeSet<ObjectKey> {
    let mut out = BTreeSet::new();
    match changes {
        None => out.extend(store.list(kind).map(|o| o.key("default"))),
        Some(cs) => {
            for c in cs {
                map(c, &mut out);
            }
        }
    }
    out
}

/// Maps a change to the `owner_kind` object it touches: the object itself when it is of that
/// kind, else, for a change of the `dependent` kind the owner manages (a ReplicaSet's pods),
/// the object's controlling owner when that is of that kind. Changes of other kinds touch
/// nothing the owner's controller reads.
pub fn owner_or_self(
    store: &dyn ObjectStore,
    ch: &Change,
    owner_kind: crate::api::Kind,
    dependent: crate::api::Kind,
    out: &mut BTreeSet<ObjectKey>,
) {
    if ch.key.kind == owner_kind {
        out.insert(ch.key.clone());
        return;
    }
    if ch.key.kind != dependent {
        return;
    }
    for obj in both_versions(store, ch) {
        let owner = obj.meta().and_then(|m| m.owner_references.iter().find(|o| o.controller == Some(true)));
        if let Some(o) = owner
            && o.kind == owner_kind.as_str()
        {
            out.insert(ObjectKey::new(owner_kind, &ch.key.namespace, &o.name));
        }
    }
}
