//! The layout of a golden file: pretty JSON down to a depth, each value deeper than that
//! on one line — so that a snapshot holds one line per case, and blessing a new run
//! shows in a diff as the cases whose verdicts changed.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// `value` as pretty JSON (two-space indent) whose objects and arrays nested deeper than
/// `depth` are written on one line, `{"a": 1, "b": [2, 3]}`.
pub(super) fn to_json_lines<T: Serialize>(value: &T, depth: usize) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let formatter = Layout {
        depth,
        level: 0,
        has_value: false,
    };
    value.serialize(&mut Serializer::with_formatter(&mut out, formatter))?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// serde_json's pretty formatter, inline below `depth`.
struct Layout {
    /// Containers at this level or shallower are indented.
    depth: usize,
    /// Nesting of the container being written (1 inside the top-level one).
    level: usize,
    /// The container being written has a value (its closer goes on its own line).
    has_value: bool,
}

impl Layout {
    fn inline(&self) -> bool {
        self.level > self.depth
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        if !self.inline() && self.has_value {
            self.newline(w, self.level - 1)?;
        }
        self.level -= 1;
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if self.inline() {
            return w.write_all(if first { b"" } else { b", " });
        }
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w, self.level)
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W, indent: usize) -> io::Result<()> {
        w.write_all(b"\n")?;
        (0..indent).try_for_each(|_| w.write_all(b"  "))
    }
}

impl Formatter for Layout {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_to_the_depth_then_one_line() {
        let value = json!({
            "format": 2,
            "empty": {},
            "cases": {"a": {"passed": true, "fail": [], "pass": ["x", "y"]}, "b": {}},
            "list": [1, [2, 3]]
        });
        let text = to_json_lines(&value, 2).unwrap();
        assert_eq!(
            text,
            r#"{
  "format": 2,
  "empty": {},
  "cases": {
    "a": {"passed": true, "fail": [], "pass": ["x", "y"]},
    "b": {}
  },
  "list": [
    1,
    [2, 3]
  ]
}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        // With no depth left inline, serde_json's own pretty printer.
        let deep = to_json_lines(&value, usize::MAX).unwrap();
        assert_eq!(deep, serde_json::to_string_pretty(&value).unwrap());
    }
}
