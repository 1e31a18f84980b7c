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
//! `theme` key of the config file ([`crate::config::theme`]), then `NO_COLOR`
//! ([`no_color`], giving [`Theme::monochrome`]), then [`Theme::default`]
//! (dark). Following <https://no-color.org>, explicit user configuration
//! wins over `NO_COLOR`.

use std::fmt;
use std::io;
use std::path::Path;

use ratatui::style::{Modifier, Style};

mod file;
mod terminal;

pub use file::{parse_color, ThemeError};
pub use terminal::{color_note, color_support, no_color, ColorSupport};

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
    /// SNI: the target's own name is sent.
    sni_right,
    /// SNI: none is sent.
    sni_none,
    /// SNI: an `upstream {}` group label or an address is sent as the name.
    sni_group,
    /// SNI: the name is computed per request (`$host`).
    sni_dynamic,
    /// SNI: a name written for another host reaches the hop.
    sni_other_host,
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

const DARK_TOML: &str = include_str!("../../../themes/dark.toml");
const LIGHT_TOML: &str = include_str!("../../../themes/light.toml");
const HIGH_CONTRAST_TOML: &str = include_str!("../../../themes/high-contrast.toml");

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
            sni_right: m(Modifier::BOLD),
            sni_none: m(Modifier::ITALIC | Modifier::UNDERLINED),
            sni_group: m(Modifier::BOLD | Modifier::REVERSED),
            sni_dynamic: m(Modifier::ITALIC),
            sni_other_host: m(Modifier::BOLD | Modifier::UNDERLINED),
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

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

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
        assert_eq!(Theme::SLOTS.len(), 40);
        let mut t = Theme::blank("x");
        for (i, slot) in Theme::SLOTS.iter().enumerate() {
            *t.slot_mut(slot).unwrap() = Style::default().fg(Color::Indexed(i as u8));
        }
        assert_eq!(t.base.fg, Some(Color::Indexed(0)));
        assert_eq!(t.syntax_punct.fg, Some(Color::Indexed(39)));
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
            &[
                "sni_right",
                "sni_none",
                "sni_group",
                "sni_dynamic",
                "sni_other_host",
            ],
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
}
