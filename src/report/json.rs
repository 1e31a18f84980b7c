//! The JSON building blocks the contract's documents share (`hops` and
//! `findings` both write with them): small serializers that stream from
//! the model, and the pretty-printer.
//!
//! The JSON contract's objects are written straight from the model with
//! `Serialize` impls: no JSON tree is built for a document, so a large
//! configuration costs neither the time nor the memory of one. Keys are
//! written in sorted order, as a `serde_json::Value` object prints them, so
//! the streamed text equals that of the `Value` functions (which are built
//! from the same impls with [`to_value`]).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use crate::model::Model;

/// Writes a JSON document pretty-printed as `{:#}` prints a
/// `serde_json::Value` (two-space indent), and a final newline.
pub(crate) fn write_pretty<W: std::io::Write + ?Sized>(
    v: &impl serde::Serialize,
    out: &mut W,
) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, Pretty::default());
    v.serialize(&mut ser).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// serde_json's `PrettyFormatter` output, with each line break and its
/// indentation written in one call (the stock one writes the indentation
/// one level at a time, which dominates on large documents).
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
    /// `,\n` and spaces for the deepest level reached so far.
    breaks: Vec<u8>,
}

impl Pretty {
    fn line<W: ?Sized + std::io::Write>(&mut self, w: &mut W, comma: bool) -> std::io::Result<()> {
        let need = 2 + 2 * self.depth;
        if self.breaks.len() < need {
            self.breaks.clear();
            self.breaks.extend_from_slice(b",\n");
            self.breaks.resize(need.max(64), b' ');
        }
        let from = if comma { 0 } else { 1 };
        w.write_all(&self.breaks[from..need])
    }
    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }
    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(w, false)?;
        }
        w.write_all(b)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, !first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, !first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A sequence serialized from an iterator made on demand.
pub(crate) struct SeqOf<F>(pub F);

impl<F, I> Serialize for SeqOf<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// Load errors as the contract's `errors` array.
pub(crate) struct ErrorsOut<'a>(pub &'a Model);

impl Serialize for ErrorsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.errors().map(|e| {
            SeqMap([
                ("file", Field::Str(&e.file)),
                ("line", Field::U32(e.line)),
                ("message", Field::Str(&e.message)),
            ])
        }))
    }
}

/// A small object of scalar fields, keys given in sorted order.
pub(crate) struct SeqMap<'a, const N: usize>(pub [(&'static str, Field<'a>); N]);

pub(crate) enum Field<'a> {
    Str(&'a str),
    U32(u32),
}

impl<const N: usize> Serialize for SeqMap<'_, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(N))?;
        for (k, v) in &self.0 {
            match v {
                Field::Str(t) => m.serialize_entry(k, t)?,
                Field::U32(n) => m.serialize_entry(k, n)?,
            }
        }
        m.end()
    }
}

pub(crate) fn to_value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).expect("the report types serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streaming_pretty_printer_prints_as_serde_json_does() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, [2, {"d": null}], {"e": "f\"\n"}],
            "g": {"h": {"i": {"j": {"k": {"l": [true, false]}}}}}, "m": 1.5
        });
        // Deeper than the indentation kept at first (32 levels).
        let deep = (0..40).fold(serde_json::json!([1]), |v, i| {
            if i % 2 == 0 {
                serde_json::json!([v, 2])
            } else {
                serde_json::json!({"x": v, "y": []})
            }
        });
        for v in [v, deep] {
            let mut out = Vec::new();
            write_pretty(&v, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:#}\n"));
        }
    }
}
