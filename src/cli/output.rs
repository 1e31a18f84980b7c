//! The one printer for people: text reaches stdout and stderr only
//! through here, every control character from a configuration, a dump or
//! a server shown as a visible escape (machine documents and diffs for
//! `patch` go through [`emit_raw`] and [`emit_bytes`] as they are).

use std::io::Write;

/// A line for people on stderr, like `eprintln!`, with every control
/// character (from a file name, a config value, what a server said) shown
/// as a visible escape.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::say_text(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes text for people to stdout, every control character from the
/// configuration, a dump or a server shown as a visible escape; a closed
/// pipe (`| head`) is not an error.
pub fn emit(text: &str) {
    emit_bytes(crate::visible::visible_lines(text).as_bytes());
}

/// Writes text to stdout as it is: a machine document (JSON escapes by
/// itself), or a report whose renderer escaped every untrusted part and
/// styled the rest.
pub fn emit_raw(text: &str) {
    emit_bytes(text.as_bytes());
}

/// Writes bytes to stdout as they are (a diff of files that are not UTF-8).
pub fn emit_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Text for people on stderr, control characters shown as visible escapes
/// (line feeds and tabs kept).
pub fn say_text(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(crate::visible::visible_lines(text).as_bytes());
}

/// Buffered standard output (a concrete type, so that writers of large
/// documents inline its writes).
pub type Stdout = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Streams a document to stdout through a buffer; a closed pipe is not
/// an error.
pub fn emit_with(write: impl FnOnce(&mut Stdout) -> std::io::Result<()>) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let _ = write(&mut out).and_then(|()| out.flush());
}
