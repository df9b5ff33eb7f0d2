//! A ledger's identity: the id it was given at creation, the host it was
//! created on (a label), and the hosts of the ledgers merged into it.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

/// This ledger's id (16 hex digits, from migration 11).
pub fn own_id(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row("SELECT value FROM meta WHERE key = 'ledger_id'", [], |r| r.get(0))
}

/// The host label stored with the ledger, if any.
pub fn own_host(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = 'host'", [], |r| r.get(0)).optional()
}

/// Stores this machine's host name as the ledger's label, once.
pub fn label_host(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('host', ?1)", [host_name()])?;
    Ok(())
}

/// The machine's host name. Read from the kernel rather than through a
/// crate: one file on Linux, the environment elsewhere.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| crate::domain::sanitize::clean(s.trim()).into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Host labels by the `machine` key the calls carry: '' is this ledger,
/// the others come from the merges recorded in the events (a merged
/// ledger's own merges come along with its events).
pub fn ledger_hosts(conn: &Connection) -> rusqlite::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    let own = own_host(conn)?.unwrap_or_else(|| "this ledger".into());
    let mut stmt = conn.prepare_cached(
        "SELECT subject, json_extract(data, '$.host') FROM events WHERE kind = 'merge' ORDER BY started_at",
    )?;
    for r in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))? {
        let (id, host) = r?;
        if let Some(h) = host {
            out.insert(id, h);
        }
    }
    out.insert(String::new(), own);
    Ok(out)
}
