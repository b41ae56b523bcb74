//! State a namespace holds only once something writes to it. Most namespaces of a cluster are
//! pods' that never see IPVS and track few or no connections, yet each would carry an empty
//! IPVS table and conntrack table inline (about 700 bytes); a namespace holds a pointer instead,
//! and reads of one never written see a shared empty value, exactly what a fresh one would be.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A value that is allocated on its first mutable use; until then it reads as
/// [`Empty::empty`].
pub struct OnFirstUse<T: Empty>(Option<Box<T>>);

/// A type with a shared, never-written empty value: what `T::default()` is.
pub trait Empty: Default + 'static {
    /// The shared empty value.
    fn empty() -> &'static Self;
}

/// Implements [`Empty`] for a type with a per-thread empty value (leaked once per thread).
#[macro_export]
macro_rules! impl_empty {
    ($t:ty) => {
        impl $crate::on_first_use::Empty for $t {
            fn empty() -> &'static Self {
                thread_local! {
                    static EMPTY: &'static $t = Box::leak(Box::default());
                }
                EMPTY.with(|e| *e)
            }
        }
    };
}

impl<T: Empty> OnFirstUse<T> {
    /// True once something has written to the value.
    pub fn is_allocated(&self) -> bool {
        self.0.is_some()
    }

    /// Holds `value` (allocated at once).
    pub fn new(value: T) -> Self {
        OnFirstUse(Some(Box::new(value)))
    }
}

impl<T: Empty> Default for OnFirstUse<T> {
    fn default() -> Self {
        OnFirstUse(None)
    }
}

impl<T: Empty> Deref for OnFirstUse<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            None => T::empty(),
        }
    }
}

impl<T: Empty> DerefMut for OnFirstUse<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Empty + fmt::Debug> fmt::Debug for OnFirstUse<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Empty + Clone> Clone for OnFirstUse<T> {
    fn clone(&self) -> Self {
        OnFirstUse(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::OnFirstUse;

    #[derive(Debug, Default, PartialEq, Clone)]
    struct Counter(u32);
    crate::impl_empty!(Counter);

    #[test]
    fn reads_see_the_empty_value_until_a_write() {
        let mut c: OnFirstUse<Counter> = OnFirstUse::default();
        assert_eq!(*c, Counter(0));
        assert!(!c.is_allocated());
        (*c).0 += 1;
        assert!(c.is_allocated());
        assert_eq!(*c, Counter(1));
        // The shared empty value is untouched.
        let fresh: OnFirstUse<Counter> = OnFirstUse::default();
        assert_eq!(*fresh, Counter(0));
    }
}
