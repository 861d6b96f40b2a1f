//! What the page remembers on this browser across visits (`localStorage`): the theme, the last
//! JID logged in with, the rooms chosen. Lost or refused storage only makes it forget.

/// The value kept under `key`, if any.
pub fn recall(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn remember(key: &str, value: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(key, value);
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}
