//! Integration tests: drive the real `aifin` binary on real files.

mod bad_input;
mod exactly_once;
mod formats;
mod reports;
mod sample_data;
mod util;
