//! The store's table of objects: key order for lists, a hash for everything else.
//!
//! A list (`kubectl get pods -A`, a controller's resync) walks keys in (kind, namespace, name)
//! order, which a `BTreeMap` gives as a range. But most reads are point lookups — a
//! controller's `get`, an index hit turned into its object — and a B-tree pays a string
//! comparison per level for each (pod names share long prefixes: `web-6f7c9d8b5-x7k2p`), which
//! at a hundred thousand objects was a fifth of a settle. Here the ordered map holds only each
//! key's slot; point lookups go through a hash of the key's parts ([`KeyRef`], borrowed, no
//! allocation) straight to the slot. Both tables change only in [`ObjectMap::insert`] and
//! [`ObjectMap::remove`].

use std::collections::BTreeMap;
use std::rc::Rc;

use indexmap::IndexMap;
use sim_core::hash::FxBuildHasher;

use crate::api::object::KeyRef;
use crate::api::{Kind, Object, ObjectKey};

/// A slot in [`ObjectMap::slots`]: stable while its object is stored (the indexes name
/// objects by slot).
pub type Slot = u32;

/// No slot (an object not stored).
pub const NO_SLOT: Slot = Slot::MAX;

/// Objects by key, in key order and by hash.
#[derive(Clone, Debug, Default)]
pub struct ObjectMap {
    order: BTreeMap<ObjectKey, Slot>,
    lookup: IndexMap<ObjectKey, Slot, FxBuildHasher>,
    slots: Vec<Option<Rc<Object>>>,
    free: Vec<Slot>,
}

impl ObjectMap {
    /// The object under `(kind, namespace, name)`.
    #[inline]
    pub fn get_parts(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Rc<Object>> {
        let slot = *self.lookup.get(&KeyRef { kind, namespace, name })?;
        self.slot(slot)
    }

    /// The object under `key`.
    #[inline]
    pub fn get(&self, key: &ObjectKey) -> Option<&Rc<Object>> {
        self.get_parts(key.kind, &key.namespace, &key.name)
    }

    /// The object under `key`, to change in place (`Rc::make_mut`: copied only while a
    /// reader still holds the version stored).
    #[inline]
    pub fn get_mut(&mut self, key: &ObjectKey) -> Option<&mut Rc<Object>> {
        let slot = *self.lookup.get(&KeyRef::of(key))?;
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// True if an object is stored under `key`.
    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.lookup.contains_key(&KeyRef::of(key))
    }

    fn slot(&self, slot: Slot) -> Option<&Rc<Object>> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// The object in `slot` (an index hit).
    #[inline]
    pub fn by_slot(&self, slot: Slot) -> Option<&Rc<Object>> {
        self.slot(slot)
    }

    /// The slot `key`'s object has, or the one [`ObjectMap::insert`] will give it.
    /// The slot holding `key`'s object, or [`NO_SLOT`].
    pub fn slot_of(&self, key: &ObjectKey) -> Slot {
        self.lookup.get(&KeyRef::of(key)).copied().unwrap_or(NO_SLOT)
    }

    pub fn slot_for(&self, key: &ObjectKey) -> Slot {
        match self.lookup.get(&KeyRef::of(key)) {
            Some(&slot) => slot,
            None => self.free.last().copied().unwrap_or(self.slots.len() as Slot),
        }
    }

    /// Stores `obj` under `key`; returns the stored object and the one it replaced.
    pub fn insert(&mut self, key: ObjectKey, obj: Rc<Object>) -> (&Rc<Object>, Option<Rc<Object>>) {
        let (slot, old) = match self.lookup.get(&KeyRef::of(&key)) {
            Some(&slot) => (slot, self.slots[slot as usize].replace(obj)),
            None => {
                let slot = match self.free.pop() {
                    Some(s) => {
                        self.slots[s as usize] = Some(obj);
                        s
                    }
                    None => {
                        self.slots.push(Some(obj));
                        (self.slots.len() - 1) as Slot
                    }
                };
                self.order.insert(key.clone(), slot);
                self.lookup.insert(key, slot);
                (slot, None)
            }
        };
        // The slot was filled just above.
        let stored = self.slots[slot as usize].as_ref().unwrap_or_else(|| unreachable!());
        (stored, old)
    }

    /// Removes and returns the object under `key`.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Rc<Object>> {
        let slot = self.lookup.swap_remove(&KeyRef::of(key))?;
        self.order.remove(key);
        self.free.push(slot);
        self.slots[slot as usize].take()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.lookup.len()
    }

    /// True if nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.lookup.is_empty()
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectKey, &Rc<Object>)> {
        self.order.iter().filter_map(|(k, &s)| Some((k, self.slot(s)?)))
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.order.keys()
    }

    /// The objects from `from` on, in key order.
    pub fn range_from(&self, from: ObjectKey) -> impl Iterator<Item = (&ObjectKey, &Rc<Object>)> {
        self.order.range(from..).filter_map(|(k, &s)| Some((k, self.slot(s)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Namespace, ObjectMeta};

    fn ns(name: &str) -> Rc<Object> {
        Rc::new(Object::Namespace(Namespace { metadata: ObjectMeta::named("", name), ..Default::default() }))
    }

    #[test]
    fn a_borrowed_key_hashes_as_the_owned_one() {
        use std::hash::BuildHasher;
        let key = ObjectKey::new(Kind::Pod, "default", "web-6f7c9d8b5-x7k2p");
        let h = FxBuildHasher::default();
        assert_eq!(h.hash_one(&key), h.hash_one(KeyRef::of(&key)));
        assert_eq!(
            h.hash_one(&key),
            h.hash_one(KeyRef { kind: Kind::Pod, namespace: "default", name: &key.name })
        );
    }

    #[test]
    fn point_lookups_and_order_agree_through_reuse_of_slots() {
        let mut m = ObjectMap::default();
        for n in ["c", "a", "b"] {
            m.insert(ObjectKey::new(Kind::Namespace, "", n), ns(n));
        }
        let (_, old) = m.insert(ObjectKey::new(Kind::Namespace, "", "a"), ns("a"));
        assert!(old.is_some());
        assert!(m.remove(&ObjectKey::new(Kind::Namespace, "", "b")).is_some());
        m.insert(ObjectKey::new(Kind::Namespace, "", "d"), ns("d"));
        let names: Vec<&str> = m.keys().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "d"]);
        for n in ["a", "c", "d"] {
            let o = m.get_parts(Kind::Namespace, "", n).and_then(|o| o.meta()).map(|m| m.name.clone());
            assert_eq!(o.as_deref(), Some(n));
        }
        assert!(m.get_parts(Kind::Namespace, "", "b").is_none());
        assert_eq!(m.len(), 3);
        assert_eq!(m.iter().count(), 3);
    }
}
