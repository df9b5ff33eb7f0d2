//! The terminal as an RAII resource: raw mode, the alternate screen and
//! mouse capture are entered in [`TerminalGuard::new`] and always left, on
//! drop, on error and on panic of the UI thread (the panic hook restores
//! first, then chains to the previous hook; background threads catch their
//! own panics and report them on screen). [`TerminalGuard::suspend`] gives
//! the terminal back for Ctrl-Z and takes it again on `fg`.

use std::io::{self, Stdout};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    pub terminal: Term,
}

/// Leaves raw mode and the alternate screen; safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
}

impl TerminalGuard {
    pub fn new() -> io::Result<TerminalGuard> {
        let prev = std::panic::take_hook();
        let ui_thread = std::thread::current().id();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == ui_thread {
                restore();
            }
            prev(info);
        }));
        enter()?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout())).inspect_err(|_| restore())?;
        Ok(TerminalGuard { terminal })
    }

    /// Restores the terminal, stops the process (SIGTSTP, as Ctrl-Z would
    /// in a shell) and, once continued, takes the terminal back and redraws
    /// everything.
    pub fn suspend(&mut self) -> io::Result<()> {
        restore();
        let _ = self.terminal.show_cursor();
        signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
        enter()?;
        // The screen was used by others meanwhile: clear it and make the
        // next frame draw every cell.
        execute!(io::stdout(), Clear(ClearType::All))?;
        self.terminal.current_buffer_mut().reset();
        self.terminal.swap_buffers();
        Ok(())
    }
}

fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    if let Err(e) = execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    Ok(())
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        let _ = self.terminal.show_cursor();
    }
}
