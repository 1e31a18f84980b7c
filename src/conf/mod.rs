//! Loading nginx configuration: bytes → tokens → lossless trees → the set of
//! files nginx reads, with every position kept.
//!
//! Public surface: [`load`] and [`Input`] (files on this machine),
//! [`load_files`] (a tree held in memory), the resulting [`Config`], and the
//! tree types in [`parser`].

pub mod dump;
pub mod lexer;
pub mod loader;
pub mod local_files;
pub mod parser;
pub mod source;

pub use loader::{from_bytes, load, load_files, Config, Input, LoadError, LoadedFrom};
pub use parser::{Ast, Block, Directive, NodeId, Word};
pub use source::{FileId, Range, SourceFile};
