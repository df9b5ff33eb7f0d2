//! Reports: one read model per view, computed from the store, with its
//! columns declared once, and the printers that render them. The command
//! line, the cockpit and the snapshots print the same models, so they
//! agree to the cent. Nothing here knows about the terminal.

pub mod alerts;
pub mod export;
pub mod focus;
pub mod forecast;
pub mod gate;
pub mod kpis;
pub mod ledger;
pub mod levers;
pub mod live;
pub mod outcomes;
pub mod print;
pub mod raci;
pub mod snapshot;
pub mod sources;
pub mod table;
pub mod window;
