//! What the terminal and the environment say about colours: `NO_COLOR`,
//! `TERM` and `COLORTERM`.

/// True when `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
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
