//! The page's parts, one component per file.

pub mod chat;
pub mod drawer;
pub mod history;
pub mod live;
pub mod login;
pub mod map;
pub mod open_incidents;
pub mod presence;
pub mod roster;
pub mod status;
pub mod theme;
