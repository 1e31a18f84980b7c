//! The terminal UI: state and actions (`app`), the keymap, rendering
//! (`ui`), themes and highlighting, and the runner that owns the terminal.
//! The UI renders the model and asks the fix engine; it never parses or
//! decides.

pub mod app;
mod clip;
pub mod highlight;
pub mod keymap;
pub mod run;
pub mod theme;
pub mod ui;
