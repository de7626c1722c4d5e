//! Keys → actions. Every binding carries a description; the help overlay is generated
//! from this table, and the config can rebind any action by name. The key type is the
//! cockpit's own: the terminal front end (`tui`) turns crossterm's events into [`Key`]s and
//! reads them through the keymap, so the reducer sees only [`Press`]es.

use std::collections::BTreeMap;
use std::fmt;

/// A key, whatever the terminal library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyCode {
    Char(char),
    Right,
    Left,
    Up,
    Down,
    Enter,
    Esc,
    Tab,
    Backspace,
    /// Any other key: bound to nothing, it still cancels a dialog.
    Other,
}

/// Where an action applies: on the cockpit, or inside a dialog that asks something. A key
/// may mean one action in each (`y` confirms a dialog and, outside one, completes a held
/// window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Main,
    Dialog,
}

/// One key press, read through the keymap: what it means outside a dialog and inside one.
/// `Press::default()` is a key bound to nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Press {
    pub main: Option<Action>,
    pub dialog: Option<Action>,
    /// The key itself, for a line typed into a dialog (a decline's reason).
    pub key: Option<Key>,
}

/// What a key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    StepForward,
    StepBack,
    /// Set the share to this percent (10…90).
    Jump(u8),
    Rollback,
    Pause,
    Smoke,
    /// Hold off the auto-rollback countdown until the breach clears and recurs.
    CancelAuto,
    /// Extend the running rollback window.
    ExtendWindow,
    /// Take the driver lease from whoever holds it (asks to confirm).
    TakeOver,
    /// Look at another person's request for approval, and answer it.
    Approve,
    Help,
    Log,
    Quit,
    /// Complete a held rollback window anyway (journaled).
    CompleteWindow,
    /// In a dialog: yes.
    Confirm,
    /// In a dialog: no (any key bound to nothing cancels too).
    Cancel,
    /// Asked where all traffic goes: blue.
    PickBlue,
    /// Asked where all traffic goes: green.
    PickGreen,
}

impl Action {
    /// Every action, in help order.
    pub fn all() -> Vec<Action> {
        let mut v = vec![Action::StepForward, Action::StepBack];
        v.extend((1..=9).map(|d| Action::Jump(d * 10)));
        v.extend([
            Action::Rollback,
            Action::Pause,
            Action::Smoke,
            Action::CancelAuto,
            Action::ExtendWindow,
            Action::TakeOver,
            Action::Approve,
            Action::Help,
            Action::Log,
            Action::Quit,
            Action::CompleteWindow,
            Action::Confirm,
            Action::Cancel,
            Action::PickBlue,
            Action::PickGreen,
        ]);
        v
    }

    /// Where the action applies.
    pub fn layer(self) -> Layer {
        match self {
            Action::Confirm | Action::Cancel | Action::PickBlue | Action::PickGreen => {
                Layer::Dialog
            }
            _ => Layer::Main,
        }
    }

    /// The name used in the config's `[keys]` table.
    pub fn name(self) -> String {
        match self {
            Action::StepForward => "step-forward".into(),
            Action::StepBack => "step-back".into(),
            Action::Jump(p) => format!("set-{p}"),
            Action::Rollback => "rollback".into(),
            Action::Pause => "pause".into(),
            Action::Smoke => "smoke".into(),
            Action::CancelAuto => "cancel-auto-rollback".into(),
            Action::ExtendWindow => "extend-window".into(),
            Action::TakeOver => "take-over".into(),
            Action::Approve => "approve".into(),
            Action::Help => "help".into(),
            Action::Log => "log".into(),
            Action::Quit => "quit".into(),
            Action::CompleteWindow => "complete-window".into(),
            Action::Confirm => "confirm".into(),
            Action::Cancel => "cancel".into(),
            Action::PickBlue => "pick-blue".into(),
            Action::PickGreen => "pick-green".into(),
        }
    }

    pub fn from_name(s: &str) -> Option<Action> {
        Action::all().into_iter().find(|a| a.name() == s)
    }

    /// True for actions that change traffic.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::StepForward | Action::StepBack | Action::Jump(_) | Action::Rollback
        )
    }
}

/// One key with its modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

/// A character no one can read on the key's label: a control character, a line or tab
/// break, a bidirectional control, a zero-width or format character (U+200B–U+200F,
/// U+2060–U+2064, U+FEFF, a soft hyphen). Bound to rollback it left the footer blank and
/// no key rolled back.
fn invisible(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || crate::shared::is_bidi_control(c)
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}' | '\u{180e}')
        // Combining marks and variation selectors: nothing of their own to show.
        || matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe00}'..='\u{fe0f}' | '\u{fe20}'..='\u{fe2f}' | '\u{e0100}'..='\u{e01ef}')
}

impl Key {
    pub fn parse(s: &str) -> Result<Key, String> {
        let lower = s.to_ascii_lowercase();
        let (ctrl, rest) = match lower
            .strip_prefix("ctrl-")
            .or_else(|| lower.strip_prefix("c-"))
        {
            Some(r) => (true, &s[s.len() - r.len()..]),
            None => (false, s),
        };
        let code = match rest.to_ascii_lowercase().as_str() {
            "right" => KeyCode::Right,
            "left" => KeyCode::Left,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "space" => KeyCode::Char(' '),
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backspace" => KeyCode::Backspace,
            _ if rest.chars().count() == 1 => {
                let c = rest.chars().next().expect("one char");
                if invisible(c) {
                    return Err(format!(
                        "`{}` is a control or invisible character, not a key the help and footer can show (for Esc, Enter or Tab write esc, enter, tab); expected a printable character",
                        c.escape_unicode()
                    ));
                }
                // A terminal sends these as Tab, Enter, a line feed, Backspace or Esc:
                // the cockpit can never tell them from those keys.
                if ctrl
                    && matches!(
                        c.to_ascii_lowercase(),
                        'i' | 'm' | 'j' | 'h' | '[' | '@' | '\\' | ']' | '^' | '_' | '?'
                    )
                {
                    return Err(format!(
                        "`{s}` reaches the cockpit as the same byte as Tab, Enter, Backspace or Esc, so it can never be told apart; expected another key"
                    ));
                }
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => {
                return Err(format!(
                    "`{s}` is not a key; expected a character, right, left, up, down, space, enter, esc, tab, backspace, or ctrl-<char>"
                ));
            }
        };
        Ok(Key { code, ctrl })
    }

    /// A key as a terminal reports it: with Ctrl held, a letter is the same letter
    /// whatever its case.
    pub fn new(code: KeyCode, ctrl: bool) -> Key {
        let code = match code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            c => c,
        };
        Key { code, ctrl }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        match self.code {
            KeyCode::Right => f.write_str("→"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Other => f.write_str("?"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
        }
    }
}

/// The bindings, in help order.
#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let k = |s: &str| Key::parse(s).expect("built-in key");
        let mut bindings = vec![
            (Action::StepForward, vec![k("right"), k("l"), k("+")]),
            (Action::StepBack, vec![k("left"), k("h"), k("-")]),
        ];
        for d in 1..=9u8 {
            let c = char::from(b'0' + d).to_string();
            bindings.push((Action::Jump(d * 10), vec![k(&c)]));
        }
        bindings.extend([
            (Action::Rollback, vec![k("r")]),
            (Action::Pause, vec![k("p"), k("space")]),
            (Action::Smoke, vec![k("s")]),
            (Action::CancelAuto, vec![k("c")]),
            (Action::ExtendWindow, vec![k("e")]),
            (Action::TakeOver, vec![k("T")]),
            (Action::Approve, vec![k("a")]),
            (Action::Help, vec![k("?")]),
            (Action::Log, vec![k("L")]),
            (Action::Quit, vec![k("q"), k("ctrl-c")]),
            (Action::CompleteWindow, vec![k("y"), k("Y")]),
            (Action::Confirm, vec![k("y"), k("Y"), k("enter")]),
            (Action::Cancel, vec![k("n"), k("N"), k("esc")]),
            (Action::PickBlue, vec![k("b"), k("B")]),
            (Action::PickGreen, vec![k("g"), k("G")]),
        ]);
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with the actions named in `overrides` rebound.
    pub fn with_overrides(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        // Which override claimed which key, per layer: two may not claim the same one.
        let mut claimed: Vec<(Layer, Key, String)> = Vec::new();
        for (name, keys) in overrides {
            let Some(action) = Action::from_name(name) else {
                let names: Vec<String> = Action::all().iter().map(|a| a.name()).collect();
                return Err(format!(
                    "keys.{}: no such action; expected one of {}",
                    crate::shared::one_line(name, 40),
                    names.join(", ")
                ));
            };
            let keys = keys
                .iter()
                .map(|s| {
                    Key::parse(s)
                        .map_err(|e| format!("keys.{name}: {}", crate::shared::one_line(&e, 160)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if keys.is_empty()
                && matches!(
                    action,
                    Action::Rollback
                        | Action::Quit
                        | Action::Confirm
                        | Action::PickBlue
                        | Action::PickGreen
                )
            {
                return Err(format!(
                    "keys.{name} = []: expected at least one key for {name}"
                ));
            }
            for (i, k) in keys.iter().enumerate() {
                if keys[..i].contains(k) {
                    return Err(format!(
                        "keys.{name} lists `{k}` twice; expected each key once"
                    ));
                }
                if let Some((_, _, other)) = claimed
                    .iter()
                    .find(|(l, ck, _)| *l == action.layer() && ck == k)
                {
                    return Err(format!(
                        "keys.{name} and keys.{other} both bind `{k}`; expected each key once"
                    ));
                }
                claimed.push((action.layer(), *k, name.clone()));
            }
            // A key moves to its new action (within the action's layer).
            for (a, ks) in &mut map.bindings {
                if a.layer() == action.layer() {
                    ks.retain(|k| !keys.contains(k));
                }
            }
            if let Some((_, ks)) = map.bindings.iter_mut().find(|(a, _)| *a == action) {
                *ks = keys;
            }
        }
        map.check(overrides)?;
        Ok(map)
    }

    /// What a set of overrides may not leave behind: rollback without a key, a dialog key
    /// that rollback pre-empts (the dialog could never be answered with it), an action whose
    /// keys all moved elsewhere without the config saying it wants it unbound.
    fn check(&self, overrides: &BTreeMap<String, Vec<String>>) -> Result<(), String> {
        if self.keys(Action::Rollback).is_empty() {
            return Err(
                "keys: every key of rollback was rebound; expected rollback to keep a key".into(),
            );
        }
        for (action, keys) in &self.bindings {
            let name = action.name();
            if action.layer() == Layer::Dialog {
                for (other, why) in [
                    (Action::Rollback, "rollback pre-empts every dialog"),
                    (Action::Quit, "quit never changes traffic"),
                ] {
                    if let Some(k) = keys.iter().find(|k| self.keys(other).contains(k)) {
                        return Err(format!(
                            "keys: `{k}` is bound to both {} and {name}, and {why}; expected {name} to use a key {} does not",
                            other.name(),
                            other.name()
                        ));
                    }
                }
            }
            if keys.is_empty() && !overrides.contains_key(&name) {
                return Err(format!(
                    "keys.{name}: its keys were all given to other actions; expected a key for {name}, or `{name} = []` to leave it unbound"
                ));
            }
        }
        Ok(())
    }

    /// The action `key` is bound to in `layer`.
    pub fn action(&self, key: &Key, layer: Layer) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(a, ks)| a.layer() == layer && ks.contains(key))
            .map(|(a, _)| *a)
    }

    /// What a key press means, outside and inside a dialog.
    pub fn press(&self, key: &Key) -> Press {
        Press {
            main: self.action(key, Layer::Main),
            dialog: self.action(key, Layer::Dialog),
            key: Some(*key),
        }
    }

    /// The first key of `action`, for messages ("y completes anyway").
    pub fn first(&self, action: Action) -> String {
        self.keys(action).first().map_or_else(
            || format!("<{}: unbound>", action.name()),
            std::string::ToString::to_string,
        )
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, ks)| ks.as_slice())
            .unwrap_or(&[])
    }

    pub fn bindings(&self) -> &[(Action, Vec<Key>)] {
        &self.bindings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, ctrl: bool) -> Key {
        Key::new(code, ctrl)
    }

    fn main(m: &Keymap, k: Key) -> Option<Action> {
        m.action(&k, Layer::Main)
    }

    #[test]
    fn default_bindings_table() {
        let m = Keymap::default();
        let none = false;
        let cases = [
            (ev(KeyCode::Right, none), Some(Action::StepForward)),
            (ev(KeyCode::Char('l'), none), Some(Action::StepForward)),
            (ev(KeyCode::Char('+'), false), Some(Action::StepForward)),
            (ev(KeyCode::Char('-'), none), Some(Action::StepBack)),
            (ev(KeyCode::Char('3'), none), Some(Action::Jump(30))),
            (ev(KeyCode::Char('r'), none), Some(Action::Rollback)),
            (ev(KeyCode::Char(' '), none), Some(Action::Pause)),
            (ev(KeyCode::Char('c'), true), Some(Action::Quit)),
            (ev(KeyCode::Char('c'), none), Some(Action::CancelAuto)),
            (ev(KeyCode::Char('x'), none), None),
            (ev(KeyCode::Char('0'), none), None),
        ];
        for (e, want) in cases {
            assert_eq!(main(&m, e), want, "{e:?}");
        }
    }

    #[test]
    fn overrides_move_keys_and_refuse_nonsense() {
        let mut o = BTreeMap::new();
        o.insert(
            "rollback".to_string(),
            vec!["x".to_string(), "r".to_string()],
        );
        o.insert("smoke".to_string(), vec!["l".to_string()]);
        let m = Keymap::with_overrides(&o).unwrap();
        let none = false;
        assert_eq!(
            main(&m, ev(KeyCode::Char('x'), none)),
            Some(Action::Rollback)
        );
        assert_eq!(main(&m, ev(KeyCode::Char('l'), none)), Some(Action::Smoke));
        assert_eq!(m.keys(Action::StepForward).len(), 2);

        let mut bad = BTreeMap::new();
        bad.insert("launch".to_string(), vec!["x".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .contains("keys.launch")
        );
        let mut bad = BTreeMap::new();
        bad.insert("rollback".to_string(), vec![]);
        assert!(Keymap::with_overrides(&bad).is_err());
        let mut bad = BTreeMap::new();
        bad.insert("quit".to_string(), vec!["ctrl-alt-del".to_string()]);
        assert!(
            Keymap::with_overrides(&bad)
                .unwrap_err()
                .contains("not a key")
        );
        // A key no label can show: refused, named escaped.
        for (k, shown) in [
            ("\u{1b}", "`\\u{1b}`"),
            ("\u{0}", "`\\u{0}`"),
            ("\u{200b}", "`\\u{200b}`"),
            ("\u{202e}", "`\\u{202e}`"),
            ("\n", "`\\u{a}`"),
            ("\u{feff}", "`\\u{feff}`"),
        ] {
            let mut bad = BTreeMap::new();
            bad.insert("rollback".to_string(), vec![k.to_string()]);
            let e = Keymap::with_overrides(&bad).unwrap_err();
            assert!(
                e.contains("keys.rollback") && e.contains("control or invisible character"),
                "{k:?}: {e}"
            );
            assert!(!e.contains(k) && e.contains(shown), "{k:?}: {e}");
        }
        for k in ["ctrl-m", "ctrl-i", "ctrl-[", "C-j", "ctrl-h"] {
            let mut bad = BTreeMap::new();
            bad.insert("rollback".to_string(), vec![k.to_string()]);
            let e = Keymap::with_overrides(&bad).unwrap_err();
            assert!(e.contains("can never be told apart"), "{k}: {e}");
        }
        for k in ["\u{fe0f}", "\u{301}", "\u{2028}"] {
            let mut bad = BTreeMap::new();
            bad.insert("rollback".to_string(), vec![k.to_string()]);
            assert!(Keymap::with_overrides(&bad).is_err(), "{k:?}");
        }
        // A space is a key.
        let mut ok = BTreeMap::new();
        ok.insert("pause".to_string(), vec![" ".to_string()]);
        assert!(Keymap::with_overrides(&ok).is_ok());
    }

    #[test]
    fn dialog_keys_are_their_own_layer_and_rebindable() {
        let m = Keymap::default();
        let y = m.press(&Key::new(KeyCode::Char('y'), false));
        assert_eq!(y.main, Some(Action::CompleteWindow));
        assert_eq!(y.dialog, Some(Action::Confirm));
        let enter = m.press(&Key::new(KeyCode::Enter, false));
        assert_eq!((enter.main, enter.dialog), (None, Some(Action::Confirm)));
        let g = m.press(&Key::new(KeyCode::Char('g'), false));
        assert_eq!((g.main, g.dialog), (None, Some(Action::PickGreen)));
        let r = m.press(&Key::new(KeyCode::Char('r'), false));
        assert_eq!((r.main, r.dialog), (Some(Action::Rollback), None));
        assert_eq!(m.first(Action::Confirm), "y");

        // Rebinding confirm to `j` moves nothing off the main layer.
        let mut o = BTreeMap::new();
        o.insert("confirm".to_string(), vec!["j".to_string()]);
        o.insert("pick-blue".to_string(), vec!["1".to_string()]);
        let m = Keymap::with_overrides(&o).unwrap();
        let j = m.press(&Key::new(KeyCode::Char('j'), false));
        assert_eq!((j.main, j.dialog), (None, Some(Action::Confirm)));
        let one = m.press(&Key::new(KeyCode::Char('1'), false));
        assert_eq!(
            (one.main, one.dialog),
            (Some(Action::Jump(10)), Some(Action::PickBlue))
        );
        let y = m.press(&Key::new(KeyCode::Char('y'), false));
        assert_eq!((y.main, y.dialog), (Some(Action::CompleteWindow), None));
        let mut bad = BTreeMap::new();
        bad.insert("confirm".to_string(), vec![]);
        assert!(Keymap::with_overrides(&bad).is_err());
    }

    #[test]
    fn clashes_are_refused_with_the_keys_named() {
        let o = |pairs: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            pairs
                .iter()
                .map(|(a, ks)| {
                    (
                        (*a).to_string(),
                        ks.iter().map(|k| (*k).to_string()).collect(),
                    )
                })
                .collect()
        };
        let e = Keymap::with_overrides(&o(&[("confirm", &["r"])])).unwrap_err();
        assert!(
            e.contains("both rollback and confirm") && e.contains("rollback pre-empts"),
            "{e}"
        );
        let e = Keymap::with_overrides(&o(&[("confirm", &["ctrl-c"])])).unwrap_err();
        assert!(
            e.contains("both quit and confirm") && e.contains("never changes traffic"),
            "{e}"
        );
        // A 3 000-character action or key is said short.
        let long = "z".repeat(3000);
        let e = Keymap::with_overrides(&o(&[(long.as_str(), &["x"])])).unwrap_err();
        assert!(e.starts_with("keys.zzz") && e.len() < 400, "{}", e.len());
        let e = Keymap::with_overrides(&o(&[("rollback", &[long.as_str()])])).unwrap_err();
        assert!(
            e.starts_with("keys.rollback: ") && e.len() < 400,
            "{}",
            e.len()
        );
        let e = Keymap::with_overrides(&o(&[("help", &["?", "?"])])).unwrap_err();
        assert!(e.contains("keys.help lists `?` twice"), "{e}");
        let e =
            Keymap::with_overrides(&o(&[("cancel", &["x"]), ("rollback", &["x"])])).unwrap_err();
        assert!(e.contains("cancel") && e.contains("`x`"), "{e}");
        let e = Keymap::with_overrides(&o(&[("pause", &["r"]), ("rollback", &["r"])])).unwrap_err();
        assert!(
            e.contains("keys.rollback and keys.pause both bind `r`"),
            "{e}"
        );
        let e = Keymap::with_overrides(&o(&[("rollback", &["p", "space", "r"])])).unwrap_err();
        assert!(e.contains("keys.pause: its keys were all given"), "{e}");
        // Said on purpose, an action may be left unbound; and a dialog key may be a main key.
        let m = Keymap::with_overrides(&o(&[("rollback", &["p", "space", "r"]), ("pause", &[])]))
            .unwrap();
        assert!(m.keys(Action::Pause).is_empty());
        assert!(Keymap::with_overrides(&o(&[("confirm", &["l"])])).is_ok());
    }
}
