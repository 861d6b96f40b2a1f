//! The page's parts, one component per file.

pub mod history;
pub mod live;
pub mod map;
pub mod open_incidents;
pub mod status;
