//! hopscope: audit the TLS hops nginx makes to its upstreams.
//!
//! Data flows one way: [`conf`] loads and parses, [`model`] computes hops
//! and their effective settings, and the views render them.
#![forbid(unsafe_code)]

pub mod changed;
pub mod cli;
pub mod conf;
pub mod config;
pub mod demo;
pub mod diagnostic;
pub mod evidence;
pub mod fix;
pub mod jobs;
pub mod model;
pub mod parallel;
pub mod probe;
pub mod remote;
pub mod report;
pub mod rules;
pub mod settings;
#[doc(hidden)]
pub mod test_support;
pub mod tour;
pub mod tui;
pub mod visible;
