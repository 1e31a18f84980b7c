//! Theme files: TOML with one table per slot, read with errors that name
//! the file, the line, the slot and the value.

use std::io;
use std::path::PathBuf;

use ratatui::style::{Color, Modifier, Style};

use super::{Theme, BUILTIN_THEMES};
use crate::config::{line_of, toml_repr};

/// Why a theme or the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// Neither a builtin name nor a readable file.
    #[error("no theme `{name}`: not a builtin theme ({}) and not a readable file: {source}", BUILTIN_THEMES.join(", "))]
    NotFound {
        /// What was asked for.
        name: String,
        /// Why the file could not be read.
        source: io::Error,
    },
    /// A file that exists could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}:{line}: invalid TOML: {message}")]
    Toml {
        /// The file (or builtin theme) being read.
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A top-level key that is neither a slot nor `name` / `extends`.
    #[error("{origin}: unknown key `{key}` (expected `name`, `extends` or a slot: {})", Theme::SLOTS.join(", "))]
    UnknownSlot {
        /// The file (or builtin theme) being read.
        origin: String,
        /// The offending key.
        key: String,
    },
    /// A key inside a slot table other than fg / bg / modifiers.
    #[error("{origin}: [{slot}]: unknown key `{key}` (expected fg, bg or modifiers)")]
    UnknownKey {
        /// The file (or builtin theme) being read.
        origin: String,
        /// The slot table.
        slot: String,
        /// The offending key.
        key: String,
    },
    /// A value of the wrong shape (a slot that is not a table, `name` that is
    /// not a string…).
    #[error("{origin}: `{key}` must be {expected}, found {found}")]
    WrongType {
        /// The file (or builtin theme) being read.
        origin: String,
        /// The key, `slot` or `slot.field`.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// The value found, as TOML.
        found: String,
    },
    /// A colour that cannot be parsed.
    #[error("{origin}: [{slot}] {field} = {value}: not a colour (use a name like \"lightblue\", \"#rrggbb\" or 0-255)")]
    BadColor {
        /// The file (or builtin theme) being read.
        origin: String,
        /// The slot table.
        slot: String,
        /// `fg` or `bg`.
        field: &'static str,
        /// The value found, as TOML.
        value: String,
    },
    /// A modifier that does not exist.
    #[error("{origin}: [{slot}] modifiers: unknown modifier {value} (expected bold, dim, italic, underlined, reversed, crossed_out)")]
    BadModifier {
        /// The file (or builtin theme) being read.
        origin: String,
        /// The slot table.
        slot: String,
        /// The value found, as TOML.
        value: String,
    },
    /// `extends` names no builtin theme.
    #[error("{origin}: extends = {value}: not a builtin theme ({})", BUILTIN_THEMES.join(", "))]
    BadExtends {
        /// The file being read.
        origin: String,
        /// The value found, as TOML.
        value: String,
    },
    /// A builtin theme that does not define every slot (a bug, caught by tests).
    #[error("{origin}: missing slot [{slot}]")]
    MissingSlot {
        /// The builtin theme.
        origin: String,
        /// The slot.
        slot: &'static str,
    },
}

impl Theme {
    /// Parses a user theme. `origin` names the source in error messages,
    /// `default_name` is used when the file has no `name` key. Slots the file
    /// leaves out come from the builtin named by `extends` (default "dark").
    pub fn from_toml(text: &str, origin: &str, default_name: &str) -> Result<Theme, ThemeError> {
        let table = parse_table(text, origin)?;
        let base = match table.get("extends") {
            None => Theme::default(),
            Some(toml::Value::String(s)) => {
                Theme::builtin(s).ok_or_else(|| ThemeError::BadExtends {
                    origin: origin.to_string(),
                    value: toml_repr(&toml::Value::String(s.clone())),
                })?
            }
            Some(v) => {
                return Err(ThemeError::BadExtends {
                    origin: origin.to_string(),
                    value: toml_repr(v),
                })
            }
        };
        let mut theme = base;
        theme.name = default_name.to_string();
        apply_table(&mut theme, &table, origin)?;
        Ok(theme)
    }

    /// Parses a builtin: no `extends`, every slot must be present.
    pub(super) fn parse_builtin(name: &str, text: &str) -> Result<Theme, ThemeError> {
        let origin = format!("themes/{name}.toml");
        let table = parse_table(text, &origin)?;
        if let Some(v) = table.get("extends") {
            return Err(ThemeError::BadExtends {
                origin,
                value: toml_repr(v),
            });
        }
        if let Some(slot) = Theme::SLOTS.iter().find(|s| !table.contains_key(**s)) {
            return Err(ThemeError::MissingSlot { origin, slot });
        }
        let mut theme = Theme::blank(name);
        apply_table(&mut theme, &table, &origin)?;
        Ok(theme)
    }
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError::Toml {
        origin: origin.to_string(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })
}

/// Applies `name` and every slot table of `table` onto `theme`.
fn apply_table(theme: &mut Theme, table: &toml::Table, origin: &str) -> Result<(), ThemeError> {
    for (key, value) in table {
        match key.as_str() {
            "extends" => {} // handled by the caller
            "name" => match value {
                toml::Value::String(s) => theme.name = s.clone(),
                other => {
                    return Err(ThemeError::WrongType {
                        origin: origin.to_string(),
                        key: key.clone(),
                        expected: "a string",
                        found: toml_repr(other),
                    })
                }
            },
            slot => {
                let Some(style) = theme.slot_mut(slot) else {
                    return Err(ThemeError::UnknownSlot {
                        origin: origin.to_string(),
                        key: key.clone(),
                    });
                };
                *style = parse_slot(slot, value, origin)?;
            }
        }
    }
    Ok(())
}

/// One slot table → a Style. The table replaces the slot entirely (it does
/// not patch the style it overrides).
fn parse_slot(slot: &str, value: &toml::Value, origin: &str) -> Result<Style, ThemeError> {
    let toml::Value::Table(t) = value else {
        return Err(ThemeError::WrongType {
            origin: origin.to_string(),
            key: slot.to_string(),
            expected: "a table (fg, bg, modifiers)",
            found: toml_repr(value),
        });
    };
    let mut style = Style::default();
    for (key, v) in t {
        match key.as_str() {
            "fg" => {
                style.fg = Some(parse_color(v).ok_or_else(|| bad_color(origin, slot, "fg", v))?)
            }
            "bg" => {
                style.bg = Some(parse_color(v).ok_or_else(|| bad_color(origin, slot, "bg", v))?)
            }
            "modifiers" => {
                let toml::Value::Array(items) = v else {
                    return Err(ThemeError::WrongType {
                        origin: origin.to_string(),
                        key: format!("{slot}.modifiers"),
                        expected: "an array of strings",
                        found: toml_repr(v),
                    });
                };
                for item in items {
                    let m = item.as_str().and_then(parse_modifier).ok_or_else(|| {
                        ThemeError::BadModifier {
                            origin: origin.to_string(),
                            slot: slot.to_string(),
                            value: toml_repr(item),
                        }
                    })?;
                    style = style.add_modifier(m);
                }
            }
            _ => {
                return Err(ThemeError::UnknownKey {
                    origin: origin.to_string(),
                    slot: slot.to_string(),
                    key: key.clone(),
                })
            }
        }
    }
    Ok(style)
}

fn bad_color(origin: &str, slot: &str, field: &'static str, v: &toml::Value) -> ThemeError {
    ThemeError::BadColor {
        origin: origin.to_string(),
        slot: slot.to_string(),
        field,
        value: toml_repr(v),
    }
}

/// A colour: an integer 0-255 (xterm-256 index), or a string holding a
/// name, `#rrggbb` or a decimal index. Names ignore case, `-`, `_` and
/// spaces; `gray` is ANSI 7 (light grey), `darkgray` ANSI 8, `white` ANSI 15.
pub fn parse_color(v: &toml::Value) -> Option<Color> {
    match v {
        toml::Value::Integer(i) => u8::try_from(*i).ok().map(Color::Indexed),
        toml::Value::String(s) => parse_color_str(s),
        _ => None,
    }
}

fn parse_color_str(s: &str) -> Option<Color> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u8>().ok().map(Color::Indexed);
    }
    let name: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match name.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

fn parse_modifier(s: &str) -> Option<Modifier> {
    Some(
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" | "underline" => Modifier::UNDERLINED,
            "reversed" | "reverse" => Modifier::REVERSED,
            "crossed_out" | "strikethrough" => Modifier::CROSSED_OUT,
            _ => return None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_colours_and_modifiers() {
        let text = r##"
            name = "mine"
            extends = "light"
            [base]
            fg = "LightBlue"
            bg = "#0a0B0c"
            [dim]
            fg = 244
            bg = "reset"
            modifiers = ["bold", "italic", "underlined", "reversed", "dim"]
            [border]
        "##;
        let t = Theme::from_toml(text, "mine.toml", "stem").unwrap();
        assert_eq!(t.name, "mine");
        assert_eq!(t.base.fg, Some(Color::LightBlue));
        assert_eq!(t.base.bg, Some(Color::Rgb(10, 11, 12)));
        assert_eq!(t.dim.fg, Some(Color::Indexed(244)));
        assert_eq!(t.dim.bg, Some(Color::Reset));
        assert_eq!(
            t.dim.add_modifier,
            Modifier::BOLD
                | Modifier::ITALIC
                | Modifier::UNDERLINED
                | Modifier::REVERSED
                | Modifier::DIM
        );
        assert_eq!(
            t.border,
            Style::default(),
            "an empty table is the terminal default"
        );
        // Slots left out come from `extends`.
        assert_eq!(
            t.severity_high,
            Theme::builtin("light").unwrap().severity_high
        );
        // Without `name`, the default name; without `extends`, dark.
        let t = Theme::from_toml("[dim]\nfg = \"red\"", "x.toml", "stem").unwrap();
        assert_eq!(t.name, "stem");
        assert_eq!(t.dim.fg, Some(Color::Red));
        assert_eq!(t.title, Theme::default().title);
    }

    fn err(text: &str) -> String {
        Theme::from_toml(text, "bad.toml", "bad")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn error_messages_name_the_problem() {
        let e = err("[severity_hgih]\nfg = \"red\"");
        assert!(
            e.contains("bad.toml") && e.contains("unknown key `severity_hgih`"),
            "{e}"
        );
        let e = err("[base]\ncolour = \"red\"");
        assert!(
            e.contains("[base]") && e.contains("unknown key `colour`"),
            "{e}"
        );
        let e = err("[inherited]\nfg = \"purplish\"");
        assert!(
            e.contains("[inherited] fg = \"purplish\"") && e.contains("not a colour"),
            "{e}"
        );
        let e = err("[inherited]\nbg = \"#12345\"");
        assert!(e.contains("[inherited] bg = \"#12345\""), "{e}");
        let e = err("[inherited]\nbg = 256");
        assert!(e.contains("[inherited] bg = 256"), "{e}");
        let e = err("[ok]\nmodifiers = [\"blink\"]");
        assert!(
            e.contains("[ok] modifiers") && e.contains("\"blink\""),
            "{e}"
        );
        let e = err("[ok]\nmodifiers = \"bold\"");
        assert!(e.contains("ok.modifiers") && e.contains("array"), "{e}");
        let e = err("ok = 3");
        assert!(e.contains("`ok` must be a table"), "{e}");
        let e = err("extends = \"solarized\"");
        assert!(e.contains("extends = \"solarized\""), "{e}");
        let e = err("\n\n[base\nfg = 1");
        assert!(e.starts_with("bad.toml:3: invalid TOML"), "{e}");
    }

    #[test]
    fn builtin_must_be_complete() {
        let e = Theme::parse_builtin("x", "[base]\nfg = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing slot [dim]"), "{e}");
    }
}
