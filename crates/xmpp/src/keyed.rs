//! A map from names to values, in name order, as a sorted `Vec`: the client's rooms and
//! requests, the dashboard's chat. They hold tens of entries, where this is as quick as a
//! `BTreeMap`, and each value type costs the dashboard's wasm a few hundred bytes of code
//! instead of a B-tree's several kilobytes.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for Keyed<V> {
    fn default() -> Self {
        Keyed {
            entries: Vec::new(),
        }
    }
}

impl<V> Keyed<V> {
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.find(key).ok().map(|at| &self.entries[at].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.find(key).ok().map(|at| &mut self.entries[at].1)
    }

    /// The value under `key`, inserting `V::default()` first if there is none.
    pub fn get_or_default(&mut self, key: &str) -> &mut V
    where
        V: Default,
    {
        let at = self.find(key).unwrap_or_else(|at| {
            self.entries.insert(at, (key.to_owned(), V::default()));
            at
        });
        &mut self.entries[at].1
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`'s value; the one it replaces, if any.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.find(key).ok().map(|at| self.entries.remove(at).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut V) -> bool) {
        self.entries.retain_mut(|(key, value)| keep(key, value));
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, value)| value)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, value)| value)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Entries in key order.
impl<V> IntoIterator for Keyed<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_keys_unique_and_in_order() {
        let mut map = Keyed::default();
        assert_eq!(map.insert("bob".into(), 1), None);
        assert_eq!(map.insert("ana".into(), 2), None);
        assert_eq!(map.insert("bob".into(), 3), Some(1));
        *map.get_or_default("cid") += 5;
        *map.get_or_default("ana") += 1;
        assert_eq!(
            map.iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<Vec<_>>(),
            [("ana", 3), ("bob", 3), ("cid", 5)]
        );
        assert!(map.contains_key("bob") && !map.contains_key("dan"));
        assert_eq!(map.remove("bob"), Some(3));
        assert_eq!(map.remove("bob"), None);
        map.retain(|key, _| key != "ana");
        map.values_mut().for_each(|value| *value += 1);
        assert_eq!(map.values().collect::<Vec<_>>(), [&6]);
        assert_eq!((map.get("cid"), map.len()), (Some(&6), 1));
        assert_eq!(
            map.clone().into_iter().collect::<Vec<_>>(),
            [("cid".into(), 6)]
        );
        map.clear();
        assert!(map.is_empty());
    }
}
