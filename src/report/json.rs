//! The pretty-printer serde_json writes with when a part of a document is
//! a `serde_json::Value` (see [`super::pretty::Pretty::value`]).

/// serde_json's `PrettyFormatter` output, with each line break and its
/// indentation written in one call (the stock one writes the indentation
/// one level at a time, which dominates on large documents).
#[derive(Default)]
pub(crate) struct ValueFormatter {
    depth: usize,
    has_value: bool,
    /// `,\n` and spaces for the deepest level reached so far.
    breaks: Vec<u8>,
}

impl ValueFormatter {
    /// The formatter for a value written inside a document, at `depth`.
    pub(crate) fn at_depth(depth: usize) -> ValueFormatter {
        ValueFormatter {
            depth,
            ..ValueFormatter::default()
        }
    }

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

impl serde_json::ser::Formatter for ValueFormatter {
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
            let mut ser =
                serde_json::Serializer::with_formatter(&mut out, ValueFormatter::default());
            serde::Serialize::serialize(&v, &mut ser).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:#}"));
        }
    }
}
