//! Integration tests: drive the real `aifin` binary on real files.

mod bad_input;
mod ecosystem;
mod exactly_once;
mod export;
mod faults;
mod follow;
mod forecast;
mod formats;
mod gate;
mod levers;
mod merge;
mod operate;
mod outcomes;
mod pricing;
mod reliability;
mod reports;
mod sample_data;
mod tokenizer;
mod tui;
mod util;
