//! Themes: one [`Theme`] struct of semantic slots that every widget reads.
//!
//! Widgets never pick colours; they ask for `theme.severity_high`,
//! `theme.inherited`, `theme.selection`… Builtin themes live in
//! `themes/*.toml` (embedded at compile time); users can load their own file
//! in the same format.
//!
//! # File format
//!
//! ```toml
//! name = "my-theme"        # optional; defaults to the file name
//! extends = "light"        # optional builtin the missing slots come from (default "dark")
//!
//! [base]                   # one table per slot, named like the Theme field
//! fg = "#1c1c1c"           # a name ("red", "lightblue", "reset"…), "#rrggbb" or 0-255
//! bg = 231
//! modifiers = ["bold"]     # bold, dim, italic, underlined, reversed, crossed_out
//! ```
//!
//! An empty table (`[dim]`) means "terminal default". Unknown keys are errors
//! that name the key; bad colours are errors that name the slot and value.
//! Builtin themes must define every slot (checked by the tests).
//!
//! # Rendering contract
//!
//! `base` carries the background: render every screen inside a widget styled
//! with `theme.base`. Other slots set only a foreground and modifiers (badges
//! such as `severity_error`, `mark` and `search_match` also set a background),
//! so they compose with `selection`, which sets a background (or reverse
//! video) and keeps the text colours.
//!
//! # Choosing a theme
//!
//! [`Theme::resolve`] applies the usual order: an explicit `--theme`, then the
//! `theme` key of the config file ([`theme_from_config`]), then `NO_COLOR`
//! ([`no_color`], giving [`Theme::monochrome`]), then [`Theme::default`]
//! (dark). Following <https://no-color.org>, explicit user configuration
//! wins over `NO_COLOR`.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

/// Declares the [`Theme`] struct and the slot table from one list, so the
/// field names, the TOML keys and [`Theme::SLOTS`] can never drift apart.
macro_rules! theme_slots {
    ($( $(#[$doc:meta])* $field:ident, )*) => {
        /// A theme: a name and one [`Style`] per semantic slot.
        ///
        /// The TOML key of each slot is the field name (`[severity_high]`).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Theme {
            /// Shown in the UI and in error messages.
            pub name: String,
            $( $(#[$doc])* pub $field: Style, )*
        }

        impl Theme {
            /// Every slot's name (= TOML key = field name), in declaration order.
            pub const SLOTS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// The style of the slot called `name`, if there is one.
            pub fn slot(&self, name: &str) -> Option<Style> {
                match name {
                    $(stringify!($field) => Some(self.$field),)*
                    _ => None,
                }
            }

            /// Mutable access to the slot called `name`, if there is one.
            pub fn slot_mut(&mut self, name: &str) -> Option<&mut Style> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// A theme where every slot is `Style::default()`.
            fn blank(name: &str) -> Theme {
                Theme {
                    name: name.to_string(),
                    $($field: Style::default(),)*
                }
            }
        }
    };
}

theme_slots! {
    /// Normal text and the background of every screen.
    base,
    /// Secondary text (hints, counts, paths).
    dim,
    /// Borders of unfocused panes.
    border,
    /// Border of the focused pane.
    border_focus,
    /// Pane and screen titles.
    title,
    /// Table headers.
    header,
    /// The selected row / cursor line. Sets a background (or reverse video)
    /// and leaves the foreground to the cell, so colours survive selection.
    selection,
    /// Key names in hints (`q`, `?`, `enter`).
    key,
    /// What a key does, next to [`Theme::key`].
    key_desc,
    /// Status-line messages.
    status_info,
    /// Status-line errors.
    status_error,
    /// Findings of severity error.
    severity_error,
    /// Findings of severity high.
    severity_high,
    /// Findings of severity medium.
    severity_medium,
    /// Findings of severity low.
    severity_low,
    /// Findings of severity info.
    severity_info,
    /// Something good, e.g. an SNI that is really sent.
    ok,
    /// Something absent, e.g. "none" as the SNI.
    none,
    /// A value set in the hop's own block.
    explicit,
    /// A value set in an outer block and inherited.
    inherited,
    /// A value nobody set: nginx's default.
    default_value,
    /// Added lines in a diff.
    diff_add,
    /// Removed lines in a diff.
    diff_del,
    /// `@@ … @@` hunk headers in a diff.
    diff_hunk,
    /// `---` / `+++` file headers in a diff.
    diff_meta,
    /// Line numbers in the source view.
    line_no,
    /// Marker of the inheritance chain's lines in the source view.
    mark,
    /// Search matches.
    search_match,
    /// nginx syntax: comments.
    syntax_comment,
    /// nginx syntax: directive names.
    syntax_directive,
    /// nginx syntax: block names (http, server, location…) and operators.
    syntax_block,
    /// nginx syntax: quoted strings and location regexes.
    syntax_string,
    /// nginx syntax: `$variables`.
    syntax_variable,
    /// nginx syntax: numbers, sizes, times and constants (`on`/`off`).
    syntax_number,
    /// nginx syntax: `{ } ;`.
    syntax_punct,
}

/// Names accepted by [`Theme::builtin`].
pub const BUILTIN_THEMES: &[&str] = &["dark", "light", "high-contrast", "monochrome"];

const DARK_TOML: &str = include_str!("../../themes/dark.toml");
const LIGHT_TOML: &str = include_str!("../../themes/light.toml");
const HIGH_CONTRAST_TOML: &str = include_str!("../../themes/high-contrast.toml");

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
    /// The config file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Default for Theme {
    /// The dark builtin theme.
    fn default() -> Self {
        Theme::builtin("dark").unwrap_or_else(Theme::monochrome)
    }
}

impl Theme {
    /// A builtin theme: "dark", "light", "high-contrast" or "monochrome".
    pub fn builtin(name: &str) -> Option<Theme> {
        let text = match name {
            "dark" => DARK_TOML,
            "light" => LIGHT_TOML,
            "high-contrast" => HIGH_CONTRAST_TOML,
            "monochrome" => return Some(Theme::monochrome()),
            _ => return None,
        };
        // Builtins are complete and valid (see the tests); `ok()` only keeps
        // this total.
        Theme::parse_builtin(name, text).ok()
    }

    /// A builtin theme by name, else a theme file at that path.
    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        if let Some(theme) = Theme::builtin(name_or_path) {
            return Ok(theme);
        }
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                ThemeError::NotFound {
                    name: name_or_path.to_string(),
                    source,
                }
            } else {
                ThemeError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| name_or_path.to_string());
        Theme::from_toml(&text, &path.display().to_string(), &stem)
    }

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
    fn parse_builtin(name: &str, text: &str) -> Result<Theme, ThemeError> {
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

    /// The theme for `NO_COLOR`: no colours at all, meaning carried by
    /// modifiers. Selection is reverse video; severities go from reverse+bold
    /// (error) through bold+underlined (high), bold (medium), plain (low) to
    /// dim (info); explicit is bold, inherited italic, default dim.
    pub fn monochrome() -> Theme {
        let m = |modifiers: Modifier| Style::default().add_modifier(modifiers);
        let plain = Style::default();
        Theme {
            name: "monochrome".to_string(),
            base: plain,
            dim: m(Modifier::DIM),
            border: m(Modifier::DIM),
            border_focus: m(Modifier::BOLD),
            title: m(Modifier::BOLD),
            header: m(Modifier::BOLD | Modifier::UNDERLINED),
            selection: m(Modifier::REVERSED),
            key: m(Modifier::BOLD),
            key_desc: plain,
            status_info: plain,
            status_error: m(Modifier::BOLD | Modifier::REVERSED),
            severity_error: m(Modifier::BOLD | Modifier::REVERSED),
            severity_high: m(Modifier::BOLD | Modifier::UNDERLINED),
            severity_medium: m(Modifier::BOLD),
            severity_low: plain,
            severity_info: m(Modifier::DIM),
            ok: m(Modifier::BOLD),
            none: m(Modifier::ITALIC | Modifier::UNDERLINED),
            explicit: m(Modifier::BOLD),
            inherited: m(Modifier::ITALIC),
            default_value: m(Modifier::DIM),
            diff_add: m(Modifier::BOLD),
            diff_del: m(Modifier::DIM),
            diff_hunk: m(Modifier::UNDERLINED),
            diff_meta: m(Modifier::BOLD | Modifier::UNDERLINED),
            line_no: m(Modifier::DIM),
            mark: m(Modifier::BOLD | Modifier::REVERSED),
            search_match: m(Modifier::UNDERLINED | Modifier::BOLD),
            syntax_comment: m(Modifier::DIM | Modifier::ITALIC),
            syntax_directive: m(Modifier::BOLD),
            syntax_block: m(Modifier::BOLD | Modifier::UNDERLINED),
            syntax_string: plain,
            syntax_variable: m(Modifier::ITALIC),
            syntax_number: plain,
            syntax_punct: plain,
        }
    }

    /// Picks the theme: `cli` (an explicit `--theme`), else `config` (the
    /// config file's `theme`), else monochrome if `no_color`, else dark.
    pub fn resolve(
        cli: Option<&str>,
        config: Option<&str>,
        no_color: bool,
    ) -> Result<Theme, ThemeError> {
        match cli.or(config) {
            Some(name) => Theme::load(name),
            None if no_color => Ok(Theme::monochrome()),
            None => Ok(Theme::default()),
        }
    }
}

/// True when `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The config file: `$XDG_CONFIG_HOME/hopscope/config.toml`, falling back
/// to `~/.config/hopscope/config.toml`. `None` if neither variable is usable.
pub fn config_path() -> Option<PathBuf> {
    config_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`config_path`] with the environment passed in. A relative or empty
/// `XDG_CONFIG_HOME` is ignored, as the XDG spec says.
pub fn config_path_from(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let xdg = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let dir = match xdg {
        Some(dir) => dir,
        None => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(dir.join("hopscope").join("config.toml"))
}

/// The `theme = "..."` of the user's config file ([`config_path`]).
///
/// No config file (or no `theme` key) → `Ok(None)`; a malformed file →
/// `Err` naming the file and line.
pub fn theme_from_config() -> Result<Option<String>, ThemeError> {
    match config_path() {
        Some(path) => theme_from_config_file(&path),
        None => Ok(None),
    }
}

/// [`theme_from_config`] for a given file. Other keys are left alone (the
/// file is shared with other settings).
pub fn theme_from_config_file(path: &Path) -> Result<Option<String>, ThemeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ThemeError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| ThemeError::Config {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(&text, s.start)),
        message: e.message().to_string(),
    })?;
    match table.get("theme") {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ThemeError::Config {
            path: path.to_path_buf(),
            line: key_line(&text, "theme"),
            message: format!(
                "`theme` must be a string (a builtin name or a file path), found {}",
                toml_repr(v)
            ),
        }),
    }
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 1-based line where top-level `key = ` is written (best effort: 1).
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ThemeError> {
    toml::from_str(text).map_err(|e| ThemeError::Toml {
        origin: origin.to_string(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().to_string(),
    })
}

/// A value written back as TOML, for error messages.
fn toml_repr(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(_) => "a table".to_string(),
        other => other.to_string(),
    }
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

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN_TOML: &[(&str, &str)] = &[
        ("dark", DARK_TOML),
        ("light", LIGHT_TOML),
        ("high-contrast", HIGH_CONTRAST_TOML),
    ];

    fn colored() -> Vec<Theme> {
        ["dark", "light", "high-contrast"]
            .iter()
            .map(|n| Theme::builtin(n).expect("builtin parses"))
            .collect()
    }

    fn all() -> Vec<Theme> {
        let mut v = colored();
        v.push(Theme::monochrome());
        v
    }

    #[test]
    fn builtins_parse_and_define_every_slot() {
        for (name, text) in BUILTIN_TOML {
            let theme = Theme::parse_builtin(name, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(theme.name, *name);
            let table: toml::Table = toml::from_str(text).unwrap();
            for slot in Theme::SLOTS {
                assert!(table.contains_key(*slot), "{name}: no [{slot}]");
                // Every slot of a coloured builtin says something.
                assert_ne!(
                    theme.slot(slot),
                    Some(Style::default()),
                    "{name}: [{slot}] is empty"
                );
            }
        }
        for name in BUILTIN_THEMES {
            assert!(Theme::builtin(name).is_some(), "{name}");
            assert_eq!(Theme::load(name).unwrap().name, *name);
        }
        assert_eq!(Theme::default(), Theme::builtin("dark").unwrap());
        assert!(Theme::builtin("solarized").is_none());
    }

    #[test]
    fn slots_list_matches_the_struct() {
        assert_eq!(Theme::SLOTS.len(), 35);
        let mut t = Theme::blank("x");
        for (i, slot) in Theme::SLOTS.iter().enumerate() {
            *t.slot_mut(slot).unwrap() = Style::default().fg(Color::Indexed(i as u8));
        }
        assert_eq!(t.base.fg, Some(Color::Indexed(0)));
        assert_eq!(t.syntax_punct.fg, Some(Color::Indexed(34)));
        assert!(t.slot("name").is_none());
    }

    #[test]
    fn meaningful_slots_are_distinct() {
        let groups: &[&[&str]] = &[
            &["explicit", "inherited", "default_value"],
            &[
                "severity_error",
                "severity_high",
                "severity_medium",
                "severity_low",
                "severity_info",
            ],
            &["ok", "none"],
            &["diff_add", "diff_del", "diff_hunk", "diff_meta"],
            &["border", "border_focus"],
            &["status_info", "status_error"],
            &["key", "key_desc"],
            &["base", "dim", "selection"],
            &[
                "syntax_comment",
                "syntax_directive",
                "syntax_block",
                "syntax_string",
                "syntax_variable",
            ],
        ];
        for theme in all() {
            for group in groups {
                for (i, a) in group.iter().enumerate() {
                    for b in &group[i + 1..] {
                        assert_ne!(theme.slot(a), theme.slot(b), "{}: {a} == {b}", theme.name);
                    }
                }
            }
        }
        // In coloured themes the provenance slots differ in colour, not just
        // in modifiers.
        for theme in colored() {
            let fg = |s: Style| s.fg;
            assert_ne!(fg(theme.explicit), fg(theme.inherited), "{}", theme.name);
            assert_ne!(
                fg(theme.inherited),
                fg(theme.default_value),
                "{}",
                theme.name
            );
            assert_ne!(
                fg(theme.explicit),
                fg(theme.default_value),
                "{}",
                theme.name
            );
        }
    }

    #[test]
    fn selection_is_visible() {
        for theme in all() {
            let s = theme.selection;
            let reversed = s.add_modifier.contains(Modifier::REVERSED);
            let new_bg = s.bg.is_some() && s.bg != theme.base.bg;
            assert!(reversed || new_bg, "{}: invisible selection", theme.name);
            // It must not set a foreground: cells keep their colours.
            assert_eq!(s.fg, None, "{}", theme.name);
        }
    }

    #[test]
    fn monochrome_has_no_colours() {
        let t = Theme::monochrome();
        for slot in Theme::SLOTS {
            let s = t.slot(slot).unwrap();
            assert_eq!((s.fg, s.bg), (None, None), "[{slot}]");
        }
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
        // Severities distinguishable by modifiers alone.
        let sev = [
            t.severity_error,
            t.severity_high,
            t.severity_medium,
            t.severity_low,
            t.severity_info,
        ];
        for (i, a) in sev.iter().enumerate() {
            for b in &sev[i + 1..] {
                assert_ne!(a.add_modifier, b.add_modifier);
            }
        }
    }

    /// RGB of a colour whose value does not depend on the terminal's palette.
    fn rgb(c: Color) -> Option<(u8, u8, u8)> {
        match c {
            Color::Rgb(r, g, b) => Some((r, g, b)),
            Color::Indexed(i @ 16..=231) => {
                let i = i - 16;
                let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                Some((level(i / 36), level(i / 6 % 6), level(i % 6)))
            }
            Color::Indexed(i @ 232..=255) => {
                let v = 8 + 10 * (i - 232);
                Some((v, v, v))
            }
            _ => None,
        }
    }

    fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    }

    fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    /// Foreground and background RGB of `style` drawn over `theme.base`.
    fn effective(theme: &Theme, style: Style) -> ((u8, u8, u8), (u8, u8, u8)) {
        let s = theme.base.patch(style);
        let fg = rgb(s.fg.expect("fg")).expect("palette-independent fg");
        let bg = rgb(s.bg.expect("bg")).expect("palette-independent bg");
        if s.add_modifier.contains(Modifier::REVERSED) {
            (bg, fg)
        } else {
            (fg, bg)
        }
    }

    #[test]
    fn coloured_builtins_are_readable() {
        // Decorations may be fainter than text.
        let decorative = ["border", "line_no"];
        let mut bad = Vec::new();
        for theme in colored() {
            let hc = theme.name == "high-contrast";
            for slot in Theme::SLOTS {
                let style = theme.slot(slot).unwrap();
                let (fg, bg) = effective(&theme, style);
                let ratio = contrast(fg, bg);
                let pure_red = fg == (255, 0, 0) || bg == (255, 0, 0);
                let min = match (hc, decorative.contains(slot)) {
                    (true, _) if pure_red => 5.0,
                    (true, _) => 7.0,
                    (false, true) => 3.0,
                    (false, false) => 4.5,
                };
                if ratio < min {
                    bad.push(format!("{}: [{slot}] {ratio:.2} < {min}", theme.name));
                }
                // No grey text in high contrast.
                if hc && fg.0 == fg.1 && fg.1 == fg.2 && fg.0 != 0 && fg.0 != 255 {
                    bad.push(format!("high-contrast: [{slot}] is grey"));
                }
                // Selected text stays readable (the selection replaces a
                // badge's background too, as a table's row highlight does).
                let (sfg, sbg) = effective(&theme, style.patch(theme.selection));
                let min = match (hc, decorative.contains(slot)) {
                    (true, _) => 5.0,
                    (false, true) => 2.0,
                    (false, false) => 3.0,
                };
                let ratio = contrast(sfg, sbg);
                if ratio < min && *slot != "border" {
                    bad.push(format!(
                        "{}: selected [{slot}] {ratio:.2} < {min}",
                        theme.name
                    ));
                }
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

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

    #[test]
    fn load_reads_files_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ocean.toml");
        std::fs::write(&path, "extends = \"dark\"\n[title]\nfg = \"#00ffff\"\n").unwrap();
        let t = Theme::load(path.to_str().unwrap()).unwrap();
        assert_eq!(t.name, "ocean");
        assert_eq!(t.title.fg, Some(Color::Rgb(0, 255, 255)));
        let e = Theme::load("no-such-theme").unwrap_err().to_string();
        assert!(
            e.contains("no theme `no-such-theme`") && e.contains("high-contrast"),
            "{e}"
        );
    }

    #[test]
    fn resolve_order() {
        assert_eq!(Theme::resolve(None, None, false).unwrap().name, "dark");
        assert_eq!(Theme::resolve(None, None, true).unwrap().name, "monochrome");
        assert_eq!(
            Theme::resolve(None, Some("light"), true).unwrap().name,
            "light"
        );
        assert_eq!(
            Theme::resolve(Some("high-contrast"), Some("light"), true)
                .unwrap()
                .name,
            "high-contrast"
        );
        assert!(Theme::resolve(Some("nope"), None, false).is_err());
    }

    #[test]
    fn config_path_follows_xdg() {
        let p = config_path_from(Some("/xdg".into()), Some("/home/u".into()));
        assert_eq!(p, Some(PathBuf::from("/xdg/hopscope/config.toml")));
        let p = config_path_from(Some("relative".into()), Some("/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.config/hopscope/config.toml"))
        );
        let p = config_path_from(Some("".into()), Some("/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.config/hopscope/config.toml"))
        );
        assert_eq!(config_path_from(None, None), None);
    }

    #[test]
    fn config_file_theme_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(theme_from_config_file(&path).unwrap(), None, "missing file");
        std::fs::write(&path, "# settings\nother = 1\n").unwrap();
        assert_eq!(theme_from_config_file(&path).unwrap(), None, "no key");
        std::fs::write(&path, "other = 1\ntheme = \"light\"\n").unwrap();
        assert_eq!(
            theme_from_config_file(&path).unwrap().as_deref(),
            Some("light")
        );
        std::fs::write(&path, "other = 1\n\ntheme = light\n").unwrap();
        let e = theme_from_config_file(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3: ", path.display())), "{e}");
        std::fs::write(&path, "other = 1\ntheme = 3\n").unwrap();
        let e = theme_from_config_file(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:2: ", path.display())), "{e}");
        assert!(e.contains("must be a string"), "{e}");
    }
}

/// What the terminal says about its colours, from `TERM` and `COLORTERM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorSupport {
    /// `TERM=dumb`: no colours at all.
    None,
    /// No sign of 256 colours: the built-in themes' colours may be wrong.
    Basic,
    /// 256 colours or true colour.
    Full,
}

/// Reads the colour support from the environment values given.
pub fn color_support(term: Option<&str>, colorterm: Option<&str>) -> ColorSupport {
    let term = term.unwrap_or("");
    if term == "dumb" {
        return ColorSupport::None;
    }
    let truecolor = colorterm.is_some_and(|c| c == "truecolor" || c == "24bit");
    if truecolor || term.contains("256color") || term.contains("direct") {
        ColorSupport::Full
    } else {
        ColorSupport::Basic
    }
}

/// A note for people whose terminal shows fewer colours than the themes
/// use, or None when all is well.
pub fn color_note(support: ColorSupport, term: Option<&str>) -> Option<String> {
    match support {
        ColorSupport::Full => None,
        ColorSupport::None => Some("this terminal has no colours (TERM=dumb): shown without colour".into()),
        ColorSupport::Basic => Some(format!(
            "this terminal may show only 8 or 16 colours (TERM={}): if colours look wrong, try --theme high-contrast or NO_COLOR=1",
            term.unwrap_or("unset")
        )),
    }
}

#[cfg(test)]
mod color_tests {
    use super::*;

    #[test]
    fn colour_support_from_term() {
        assert_eq!(
            color_support(Some("xterm-256color"), None),
            ColorSupport::Full
        );
        assert_eq!(
            color_support(Some("xterm"), Some("truecolor")),
            ColorSupport::Full
        );
        assert_eq!(color_support(Some("vt100"), None), ColorSupport::Basic);
        assert_eq!(color_support(Some("dumb"), None), ColorSupport::None);
        assert!(color_note(ColorSupport::Basic, Some("linux"))
            .unwrap()
            .contains("TERM=linux"));
        assert_eq!(color_note(ColorSupport::Full, None), None);
    }
}
