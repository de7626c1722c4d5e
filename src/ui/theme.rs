//! Semantic themes: widgets ask for `theme.env(env)` or `theme.check(c)`, never a colour.
//! Built-in themes are `themes/*.toml`, embedded; a user file overrides only what it sets.

use crate::app::state::Level;
use crate::core::{Env, Health, RuleCheck};
use ratatui::style::{Color, Modifier, Style};
use std::collections::BTreeMap;
use std::str::FromStr;

pub const BUILTIN: [(&str, &str); 3] = [
    ("default", include_str!("../../themes/default.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
    (
        "deuteranopia",
        include_str!("../../themes/deuteranopia.toml"),
    ),
];

const KEYS: [&str; 15] = [
    "text",
    "dim",
    "border",
    "title",
    "blue",
    "green",
    "bar-blue",
    "bar-green",
    "ok",
    "warn",
    "breach",
    "stale",
    "key",
    "rollback",
    "popup",
];

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub border: Style,
    pub title: Style,
    pub blue: Style,
    pub green: Style,
    pub bar_blue: Style,
    pub bar_green: Style,
    pub ok: Style,
    pub warn: Style,
    pub breach: Style,
    pub stale: Style,
    pub key: Style,
    pub rollback: Style,
    pub popup: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin("default").expect("built-in default theme parses")
    }
}

/// Parses a style string such as `"#e69f00 bold"` or `"white on blue"`.
pub fn parse_style(s: &str) -> Result<Style, String> {
    let mut style = Style::default();
    let mut words = s.split_whitespace();
    while let Some(w) = words.next() {
        let m = match w {
            "bold" => Some(Modifier::BOLD),
            "dim" => Some(Modifier::DIM),
            "italic" => Some(Modifier::ITALIC),
            "underlined" => Some(Modifier::UNDERLINED),
            "reversed" => Some(Modifier::REVERSED),
            _ => None,
        };
        if let Some(m) = m {
            style = style.add_modifier(m);
            continue;
        }
        if w == "on" {
            let c = words.next().ok_or("`on` needs a colour after it")?;
            style = style.bg(color(c)?);
            continue;
        }
        style = style.fg(color(w)?);
    }
    Ok(style)
}

fn color(s: &str) -> Result<Color, String> {
    Color::from_str(s).map_err(|_| {
        format!("`{s}` is not a colour; expected a name such as red or darkgray, #rrggbb, or a number 0-255")
    })
}

impl Theme {
    pub fn builtin(name: &str) -> Option<Theme> {
        let text = BUILTIN.iter().find(|(n, _)| *n == name)?.1;
        Some(Theme::from_toml(name, text, None).expect("built-in themes parse"))
    }

    /// A theme from TOML text, over `base` (or the default theme).
    pub fn from_toml(name: &str, text: &str, base: Option<&Theme>) -> Result<Theme, String> {
        let table: BTreeMap<String, String> = toml::from_str(text)
            .map_err(|e| format!("theme {name}: {}", crate::shared::toml_error(text, &e)))?;
        let mut t = match base {
            Some(b) => b.clone(),
            None if name == "default" => Theme::blank(),
            None => Theme::default(),
        };
        t.name = name.into();
        for (k, v) in &table {
            let style = parse_style(v).map_err(|e| format!("theme {name}: {k} = \"{v}\": {e}"))?;
            let slot = match k.as_str() {
                "text" => &mut t.text,
                "dim" => &mut t.dim,
                "border" => &mut t.border,
                "title" => &mut t.title,
                "blue" => &mut t.blue,
                "green" => &mut t.green,
                "bar-blue" => &mut t.bar_blue,
                "bar-green" => &mut t.bar_green,
                "ok" => &mut t.ok,
                "warn" => &mut t.warn,
                "breach" => &mut t.breach,
                "stale" => &mut t.stale,
                "key" => &mut t.key,
                "rollback" => &mut t.rollback,
                "popup" => &mut t.popup,
                other => {
                    return Err(format!(
                        "theme {name}: `{other}` is not a theme key; expected one of {}",
                        KEYS.join(", ")
                    ));
                }
            };
            *slot = style;
        }
        Ok(t)
    }

    fn blank() -> Theme {
        let s = Style::default();
        Theme {
            name: String::new(),
            text: s,
            dim: s,
            border: s,
            title: s,
            blue: s,
            green: s,
            bar_blue: s,
            bar_green: s,
            ok: s,
            warn: s,
            breach: s,
            stale: s,
            key: s,
            rollback: s,
            popup: s,
        }
    }

    /// A built-in theme by name, or a TOML file by path (over the default theme).
    pub fn load(name_or_path: &str) -> Result<Theme, String> {
        if let Some(t) = Theme::builtin(name_or_path) {
            return Ok(t);
        }
        let text = crate::shared::read_small_file(
            std::path::Path::new(name_or_path),
            crate::shared::SMALL_FILE_MAX,
        )
        .map_err(|e| {
            format!(
                "theme `{name_or_path}`: {e}; expected default, mono, deuteranopia or a theme file"
            )
        })?;
        Theme::from_toml(name_or_path, &text, None)
    }

    /// The same theme with every colour removed (for `NO_COLOR`).
    pub fn without_colors(mut self) -> Theme {
        for s in [
            &mut self.text,
            &mut self.dim,
            &mut self.border,
            &mut self.title,
            &mut self.blue,
            &mut self.green,
            &mut self.bar_blue,
            &mut self.bar_green,
            &mut self.ok,
            &mut self.warn,
            &mut self.breach,
            &mut self.stale,
            &mut self.key,
            &mut self.rollback,
            &mut self.popup,
        ] {
            s.fg = None;
            s.bg = None;
        }
        self
    }

    pub fn env(&self, env: Env) -> Style {
        match env {
            Env::Blue => self.blue,
            Env::Green => self.green,
        }
    }

    pub fn bar(&self, env: Env) -> Style {
        match env {
            Env::Blue => self.bar_blue,
            Env::Green => self.bar_green,
        }
    }

    pub fn check(&self, c: &RuleCheck) -> Style {
        match c {
            RuleCheck::Ok => self.ok,
            RuleCheck::Breach => self.breach,
            RuleCheck::Stale => self.stale,
            RuleCheck::Settling { .. } => self.dim,
            RuleCheck::NoData
            | RuleCheck::NoSource(_)
            | RuleCheck::Pending { .. }
            | RuleCheck::Waiting { .. }
            | RuleCheck::Invalid(_) => self.warn,
        }
    }

    pub fn health(&self, h: Health) -> Style {
        match h {
            Health::Up => self.ok,
            Health::Degraded => self.warn,
            Health::Down => self.breach,
            Health::Unknown => self.stale,
        }
    }

    pub fn level(&self, l: Level) -> Style {
        match l {
            Level::Info => self.text,
            Level::Good => self.ok,
            Level::Warn => self.warn,
            Level::Error => self.breach,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_mono_has_no_colour() {
        for (name, _) in BUILTIN {
            assert!(Theme::builtin(name).is_some(), "{name}");
        }
        let mono = Theme::builtin("mono").unwrap();
        for s in [
            mono.blue,
            mono.green,
            mono.ok,
            mono.breach,
            mono.warn,
            mono.bar_blue,
        ] {
            assert!(matches!(s.fg, None | Some(Color::Reset)), "{s:?}");
        }
        assert_eq!(Theme::default().without_colors().breach.fg, None);
        assert!(
            Theme::default()
                .without_colors()
                .breach
                .add_modifier
                .contains(Modifier::BOLD)
        );
    }

    #[test]
    fn deuteranopia_uses_no_red_or_green() {
        let t = Theme::builtin("deuteranopia").unwrap();
        for s in [t.ok, t.breach, t.warn, t.green, t.blue] {
            assert!(!matches!(
                s.fg,
                Some(Color::Red | Color::Green | Color::LightRed | Color::LightGreen)
            ));
        }
        assert_ne!(t.ok.fg, t.breach.fg);
    }

    #[test]
    fn user_theme_overrides_only_its_keys_and_bad_keys_are_named() {
        let t = Theme::from_toml("mine", "breach = \"magenta bold\"", None).unwrap();
        assert_eq!(t.breach.fg, Some(Color::Magenta));
        assert_eq!(t.ok, Theme::default().ok);
        let e = Theme::from_toml("mine", "breech = \"red\"", None).unwrap_err();
        assert!(e.contains("`breech` is not a theme key"), "{e}");
        let e = Theme::from_toml("mine", "ok = \"chartreuse\"", None).unwrap_err();
        assert!(
            e.contains("ok = \"chartreuse\"") && e.contains("not a colour"),
            "{e}"
        );
    }
}
