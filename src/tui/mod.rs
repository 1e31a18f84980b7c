//! The terminal UI: what a person asks for (`action`), the state and its
//! one entry point for change (`app`), the keymap, one component per screen
//! (`screens`: its state, keys and drawing), the pieces screens share
//! (`widgets`, `text`, `clip`), themes and highlighting, and the runner
//! that owns the terminal. The UI renders the model and asks the fix
//! engine; it never parses or decides.

pub mod action;
pub mod app;
mod clip;
mod footer;
pub mod help;
pub mod highlight;
pub mod input;
pub mod keymap;
pub mod run;
pub mod screens;
pub mod text;
pub mod theme;
pub mod ui;
mod widgets;
