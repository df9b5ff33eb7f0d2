//! aifin: an AI FinOps cockpit for the terminal.
//!
//! Data flows one way:
//!
//! ```text
//! source files ─► ingest (offsets, lines) ─► formats (detect + parse, pure)
//!   ─► CallRecord ─► pricing + attribution ─► store::writer (single SQLite
//!   writer, batched transactions, offsets committed with rows)
//!   ─► store::queries ─► reports (output) / views
//! ```
//!
//! Modules are named after the domain. `domain` holds plain types (exact
//! money, timestamps, the call record, sanitizing); `formats` parses log
//! lines without I/O; `pricing` resolves models in LiteLLM's catalog and
//! computes integer costs; `attribution` applies the config's rules;
//! `store` owns the database; `ingest` reads files; `cli`, `commands` and
//! `output` are the command-line edge.

pub mod cli;
pub mod commands;

mod attribution;
mod config;
mod demo;
mod domain;
mod forecast;
mod formats;
mod gate;
mod ingest;
mod levers;
mod merge;
mod operate;
mod pricing;
mod reports;
mod sim;
mod store;
mod tokenize;
mod tui;

/// What the benchmarks and the integration tests reach, in one place: not
/// an API, and not part of what the crate promises. Everything else is
/// private, so the compiler finds what nothing uses.
#[doc(hidden)]
pub mod bench {
    pub use crate::attribution::Attributor;
    pub use crate::config::ConfigFile;
    pub use crate::domain::dims::Dimension;
    pub use crate::domain::money::Nanos;
    pub use crate::domain::record::{CallRecord, Tokens};
    pub use crate::domain::time::{MS_PER_DAY, format_utc, now_ms};
    pub use crate::formats::Detector;
    pub use crate::gate::evals::read as read_evals;
    pub use crate::gate::{GateOptions, evaluate};
    pub use crate::ingest::follow::{FollowOptions, follow};
    pub use crate::ingest::{IngestOptions, IngestReport, SourceOptions, SourceSpec, ingest_paths};
    pub use crate::levers::{Cache, CallSet, Cap, Compress, LeverSet, Route, replay as replay_levers};
    pub use crate::merge::merge;
    pub use crate::operate::Operate;
    pub use crate::pricing::{Catalog, Pricer};
    pub use crate::reports::alerts::{AlertsReport, judge_cached, judge_now};
    pub use crate::reports::export::render as render_snapshot;
    pub use crate::reports::focus::{FocusOptions, export as focus_export};
    pub use crate::reports::kpis::KpiReport;
    pub use crate::reports::ledger::LedgerOutcomes;
    pub use crate::reports::outcomes::OutcomesReport;
    pub use crate::reports::snapshot::{Params as SnapshotParams, VIEWS, build as snapshot_view};
    pub use crate::reports::window::WindowKind;
    pub use crate::sim::{Rng, bulk, random_line, text_line};
    pub use crate::store::live::MinuteCache;
    pub use crate::store::queries::GroupBy;
    pub use crate::store::queries::{Window, ledger};
    pub use crate::store::writer::{Batch, Writer};
    pub use crate::store::{open_read, open_rw};
    pub use crate::tokenize::{Encoding, count};
    pub use crate::tui::app::{Action, App, Status};
    pub use crate::tui::data::{QueryParams, snapshot, snapshot_cached};
    pub use crate::tui::theme::Theme;
    pub use crate::tui::ui::render;
}
