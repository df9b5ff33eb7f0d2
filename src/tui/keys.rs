//! The one keymap: every key, where it works and what it does. Terminal
//! events resolve to actions through it, the help screen is generated
//! from it, and a test checks the README's key table against it.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};

use super::app::{Action, Tab};

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere (unless the tab binds the key itself).
    Global,
    Tab(Tab),
}

/// A key: a code and the modifiers it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub KeyCode, pub KeyModifiers);

const fn k(c: char) -> Key {
    Key(KeyCode::Char(c), KeyModifiers::NONE)
}

const fn code(c: KeyCode) -> Key {
    Key(c, KeyModifiers::NONE)
}

const fn shift(c: KeyCode) -> Key {
    Key(c, KeyModifiers::SHIFT)
}

const fn ctrl(c: char) -> Key {
    Key(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// One line of the keymap.
pub struct Binding {
    pub scope: Scope,
    pub keys: &'static [Key],
    /// How the keys are written in the help and the README.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn bind(scope: Scope, keys: &'static [Key], label: &'static str, action: Action, help: &'static str) -> Binding {
    Binding { scope, keys, label, action, help }
}

use Scope::Global as G;
const LEDGER: Scope = Scope::Tab(Tab::Ledger);
const FORECAST: Scope = Scope::Tab(Tab::Forecast);
const LEVERS: Scope = Scope::Tab(Tab::Levers);

/// Every binding, in the order the help lists them. A tab's binding of a
/// key wins over the global one.
pub const KEYMAP: &[Binding] = &[
    bind(G, &[k('1')], "`1`", Action::SelectTab(0), "Live tab"),
    bind(G, &[k('2')], "`2`", Action::SelectTab(1), "Ledger tab"),
    bind(G, &[k('3')], "`3`", Action::SelectTab(2), "Sources tab"),
    bind(G, &[k('4')], "`4`", Action::SelectTab(3), "Forecast tab"),
    bind(G, &[k('5')], "`5`", Action::SelectTab(4), "Gate tab"),
    bind(G, &[k('6')], "`6`", Action::SelectTab(5), "RACI tab"),
    bind(G, &[k('7')], "`7`", Action::SelectTab(6), "KPIs tab"),
    bind(G, &[k('8')], "`8`", Action::SelectTab(7), "Levers tab"),
    bind(G, &[code(KeyCode::Tab)], "`Tab`", Action::NextTab, "next tab"),
    bind(G, &[code(KeyCode::BackTab)], "`Shift-Tab`", Action::PrevTab, "previous tab"),
    bind(G, &[code(KeyCode::Left), k('h')], "`←` `h`", Action::PrevTab, "previous tab (Forecast, Levers: a setting)"),
    bind(G, &[code(KeyCode::Right), k('l')], "`→` `l`", Action::NextTab, "next tab (Forecast, Levers: a setting)"),
    bind(
        G,
        &[code(KeyCode::Up), k('k')],
        "`↑` `k`",
        Action::Up,
        "move the selection up (Forecast: a slider; Levers: a lever)",
    ),
    bind(
        G,
        &[code(KeyCode::Down), k('j')],
        "`↓` `j`",
        Action::Down,
        "move the selection down (Forecast: a slider; Levers: a lever)",
    ),
    bind(G, &[code(KeyCode::PageUp)], "`PgUp`", Action::PageUp, "a page up"),
    bind(G, &[code(KeyCode::PageDown)], "`PgDn`", Action::PageDown, "a page down"),
    bind(G, &[code(KeyCode::Home)], "`Home`", Action::Home, "first row"),
    bind(G, &[code(KeyCode::End)], "`End`", Action::End, "last row"),
    bind(
        G,
        &[code(KeyCode::Enter)],
        "`Enter`",
        Action::Enter,
        "open the row (Live: that workflow in the ledger; Gate: the cases the candidate lost)",
    ),
    bind(G, &[code(KeyCode::Esc)], "`Esc`", Action::Back, "close the drill-down, the filter or the help"),
    bind(
        LEDGER,
        &[k('g')],
        "`g`",
        Action::CycleGroup,
        "group by workflow → team → customer → model → provider → project",
    ),
    bind(LEDGER, &[k('s')], "`s`", Action::CycleSort, "sort by the next column"),
    bind(LEDGER, &[k('r')], "`r`", Action::ReverseSort, "reverse the order"),
    bind(LEDGER, &[k('w')], "`w`", Action::CycleWindow, "window today → 7 d → 30 d → month → previous month"),
    bind(LEDGER, &[k('W')], "`W`", Action::PromptRange, "a custom window (SINCE..UNTIL in the WHEN grammar)"),
    bind(G, &[k('/')], "`/`", Action::PromptFilter, "filter the list by name"),
    bind(G, &[k('e')], "`e`", Action::Export, "export what the tab shows as Markdown (aifin-VIEW-TIME.md here)"),
    bind(G, &[k('E')], "`E`", Action::PromptExport, "export, in a format chosen from a list"),
    bind(G, &[k('p')], "`p`", Action::TogglePause, "pause or resume refreshing"),
    bind(G, &[k('?')], "`?`", Action::ToggleHelp, "this help"),
    bind(G, &[ctrl('z')], "`Ctrl-Z`", Action::Suspend, "suspend (resume with `fg`)"),
    bind(G, &[k('q'), ctrl('c')], "`q` `Ctrl-C`", Action::Quit, "quit"),
    bind(FORECAST, &[code(KeyCode::Left), k('h')], "`←` `h`", Action::SliderLeft, "move the slider down 5 points"),
    bind(FORECAST, &[code(KeyCode::Right), k('l')], "`→` `l`", Action::SliderRight, "move the slider up 5 points"),
    bind(
        FORECAST,
        &[shift(KeyCode::Left), k('H')],
        "`Shift-←` `H`",
        Action::SliderBigLeft,
        "move the slider down 25 points",
    ),
    bind(
        FORECAST,
        &[shift(KeyCode::Right), k('L')],
        "`Shift-→` `L`",
        Action::SliderBigRight,
        "move the slider up 25 points",
    ),
    bind(FORECAST, &[k('[')], "`[`", Action::PrevItem, "previous workflow"),
    bind(FORECAST, &[k(']')], "`]`", Action::NextItem, "next workflow"),
    bind(FORECAST, &[k('0')], "`0`", Action::ResetSlider, "reset the slider"),
    bind(FORECAST, &[k('R')], "`R`", Action::ResetAll, "reset every slider"),
    bind(FORECAST, &[k('a')], "`a`", Action::SaveScenario, "save the scenario for comparison (up to 6)"),
    bind(FORECAST, &[k('x')], "`x`", Action::ClearSaved, "clear the saved scenarios"),
    bind(
        FORECAST,
        &[k('v')],
        "`v`",
        Action::ToggleReplayed,
        "levers as replayed on the Levers tab (measured), or as the sliders",
    ),
    bind(LEVERS, &[code(KeyCode::Left), k('h')], "`←` `h`", Action::SliderLeft, "the lever's setting a step down"),
    bind(LEVERS, &[code(KeyCode::Right), k('l')], "`→` `l`", Action::SliderRight, "the lever's setting a step up"),
    bind(
        LEVERS,
        &[k(' '), code(KeyCode::Enter)],
        "`Space` `Enter`",
        Action::ToggleLever,
        "switch the lever on or off (replayed at once)",
    ),
    bind(LEVERS, &[k('[')], "`[`", Action::PrevItem, "previous routing target"),
    bind(LEVERS, &[k(']')], "`]`", Action::NextItem, "next routing target"),
];

/// Whether an event is this key. Characters carry their case, so Shift
/// is ignored for them (terminals differ in reporting it).
fn matches(key: &Key, ev: &KeyEvent) -> bool {
    if key.0 != ev.code {
        return false;
    }
    match ev.code {
        KeyCode::Char(_) | KeyCode::BackTab => {
            ev.modifiers.difference(KeyModifiers::SHIFT) == key.1.difference(KeyModifiers::SHIFT)
        }
        _ => ev.modifiers == key.1,
    }
}

/// The action of a key on a tab: the tab's binding, else the global one.
pub fn action_for_key(ev: &KeyEvent, tab: Tab) -> Option<Action> {
    let find = |scope: Scope| KEYMAP.iter().find(|b| b.scope == scope && b.keys.iter().any(|k| matches(k, ev)));
    find(Scope::Tab(tab)).or_else(|| find(Scope::Global)).map(|b| b.action.clone())
}

/// Keys while a prompt is open: text, editing, and the way out.
fn prompt_key(ev: &KeyEvent) -> Option<Action> {
    if ev.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(ev.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    match ev.code {
        KeyCode::Char(c) => Some(Action::Input(c)),
        KeyCode::Backspace => Some(Action::Backspace),
        KeyCode::Enter => Some(Action::Enter),
        KeyCode::Esc => Some(Action::Back),
        // Lists in a dialog (the export formats).
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        KeyCode::Home => Some(Action::Home),
        KeyCode::End => Some(Action::End),
        _ => None,
    }
}

/// Terminal events to actions, given the tab and whether a prompt is open.
pub fn action_for(ev: &Event, tab: Tab, prompt: bool) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => {
            if prompt {
                prompt_key(k)
            } else {
                action_for_key(k, tab)
            }
        }
        Event::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(m.column, m.row)),
            MouseEventKind::ScrollUp => Some(Action::ScrollUp),
            MouseEventKind::ScrollDown => Some(Action::ScrollDown),
            _ => None,
        },
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// The help, in groups: (where, [(keys, what they do)]): everywhere
/// first, then each tab's own keys.
pub fn help_groups() -> Vec<(&'static str, Vec<(String, String)>)> {
    let mut groups: Vec<(Scope, &'static str, Vec<(String, String)>)> = vec![(Scope::Global, "Everywhere", Vec::new())];
    for b in KEYMAP {
        let i = match groups.iter().position(|g| g.0 == b.scope) {
            Some(i) => i,
            None => {
                let title = match b.scope {
                    Scope::Global => "Everywhere",
                    Scope::Tab(t) => t.title(),
                };
                groups.push((b.scope, title, Vec::new()));
                groups.len() - 1
            }
        };
        groups[i].2.push((b.label.replace('`', ""), b.help.to_string()));
    }
    groups.into_iter().map(|(_, t, v)| (t, v)).collect()
}

/// The README's key table, generated (a test checks the README has it).
#[cfg(test)]
pub fn markdown_table() -> String {
    let mut s = String::from("| Key | Where | Action |\n|---|---|---|\n");
    for b in KEYMAP {
        let scope = match b.scope {
            Scope::Global => "everywhere",
            Scope::Tab(t) => t.title(),
        };
        s.push_str(&format!("| {} | {} | {} |\n", b.label, scope, b.help));
    }
    s.push_str("| mouse click, wheel | everywhere | select a tab or a row; move the selection |\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode, m: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(c, m))
    }

    #[test]
    fn tab_bindings_win_over_global_ones() {
        let left = key(KeyCode::Left, KeyModifiers::NONE);
        assert_eq!(action_for(&left, Tab::Forecast, false), Some(Action::SliderLeft));
        assert_eq!(action_for(&left, Tab::Ledger, false), Some(Action::PrevTab));
        assert_eq!(
            action_for(&key(KeyCode::Char('g'), KeyModifiers::NONE), Tab::Ledger, false),
            Some(Action::CycleGroup)
        );
        assert_eq!(action_for(&key(KeyCode::Char('g'), KeyModifiers::NONE), Tab::Live, false), None);
        assert_eq!(
            action_for(&key(KeyCode::Char('L'), KeyModifiers::SHIFT), Tab::Forecast, false),
            Some(Action::SliderBigRight)
        );
        assert_eq!(
            action_for(&key(KeyCode::Right, KeyModifiers::SHIFT), Tab::Forecast, false),
            Some(Action::SliderBigRight)
        );
        assert_eq!(action_for(&key(KeyCode::Char('c'), KeyModifiers::CONTROL), Tab::Live, false), Some(Action::Quit));
        assert_eq!(
            action_for(&key(KeyCode::Char('z'), KeyModifiers::CONTROL), Tab::Live, false),
            Some(Action::Suspend)
        );
        assert_eq!(action_for(&key(KeyCode::BackTab, KeyModifiers::SHIFT), Tab::Live, false), Some(Action::PrevTab));
    }

    #[test]
    fn an_open_prompt_takes_text() {
        let q = key(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(action_for(&q, Tab::Ledger, true), Some(Action::Input('q')));
        assert_eq!(action_for(&q, Tab::Ledger, false), Some(Action::Quit));
    }

    #[test]
    fn no_key_is_bound_twice_in_one_scope() {
        for (i, a) in KEYMAP.iter().enumerate() {
            for b in &KEYMAP[i + 1..] {
                if a.scope == b.scope {
                    for ka in a.keys {
                        assert!(!b.keys.contains(ka), "{ka:?} is bound to {:?} and {:?}", a.action, b.action);
                    }
                }
            }
        }
    }
}
