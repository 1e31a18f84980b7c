//! Rendering results for people and machines. Reports only read the model
//! and the findings; they decide nothing.

pub mod hops;
