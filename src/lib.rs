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

pub mod attribution;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod domain;
pub mod forecast;
pub mod formats;
pub mod ingest;
pub mod pricing;
pub mod reports;
pub mod sim;
pub mod store;
pub mod tokenize;
pub mod tui;
