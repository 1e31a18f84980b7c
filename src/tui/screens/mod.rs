//! One component per screen: its state, what its keys do, and how it draws.

pub mod detail;
pub mod diff;
pub mod errors;
pub mod explain;
pub mod fix;
pub mod list;
pub mod messages;
pub mod rules;
pub mod source;
pub mod tour;
