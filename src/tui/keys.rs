//! Terminal events to actions.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};

use super::app::Action;

pub fn action_for(ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => key(k),
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

fn key(k: &KeyEvent) -> Option<Action> {
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return match k.code {
            KeyCode::Char('c') => Some(Action::Quit),
            _ => None,
        };
    }
    Some(match k.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Esc => Action::Back,
        KeyCode::Char(c @ '1'..='4') => Action::SelectTab(c as usize - '1' as usize),
        KeyCode::Tab => Action::NextTab,
        KeyCode::BackTab => Action::PrevTab,
        KeyCode::Right if k.modifiers.contains(KeyModifiers::SHIFT) => Action::BigRight,
        KeyCode::Left if k.modifiers.contains(KeyModifiers::SHIFT) => Action::BigLeft,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Char('L') => Action::BigRight,
        KeyCode::Char('H') => Action::BigLeft,
        KeyCode::Char('[') => Action::PrevItem,
        KeyCode::Char(']') => Action::NextItem,
        KeyCode::Char('0') => Action::ResetSlider,
        KeyCode::Char('R') => Action::ResetAll,
        KeyCode::Char('a') => Action::SaveScenario,
        KeyCode::Char('x') => Action::ClearSaved,
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home => Action::Home,
        KeyCode::End => Action::End,
        KeyCode::Char('g') => Action::CycleGroup,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('r') => Action::ReverseSort,
        KeyCode::Char('w') => Action::CycleWindow,
        KeyCode::Enter => Action::Enter,
        _ => return None,
    })
}
