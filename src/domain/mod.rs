//! Plain domain types with no I/O.

pub mod dims;
pub mod fingerprint;
pub mod money;
pub mod outcome;
pub mod privacy;
pub mod record;
pub mod sanitize;
pub mod time;
