//! Events: runaways, budget alerts, gate runs and reviews share one table
//! with a `kind`. An event's identity is (kind, subject, start), so
//! recording the same event again (after a restart, from a second
//! watcher, or a merge) updates it instead of adding a copy.

use rusqlite::{Connection, params};

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `runaway`, `budget_alert`, `gate_run`, `review`.
    pub kind: String,
    /// What it is about: a workflow, a budget, a gate's inputs.
    pub subject: String,
    pub started_at: i64,
    /// `None` while it lasts (or for instantaneous events).
    pub ended_at: Option<i64>,
    pub severity: Option<String>,
    /// Details, as a JSON object.
    pub data: serde_json::Value,
}

/// Inserts the event, or updates its end, severity and details.
pub fn record(conn: &Connection, e: &Event, now_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO events (kind, subject, started_at, ended_at, severity, data, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (kind, subject, started_at) DO UPDATE SET
           ended_at = excluded.ended_at, severity = excluded.severity, data = excluded.data,
           recorded_at = excluded.recorded_at",
    )?
    .execute(params![e.kind, e.subject, e.started_at, e.ended_at, e.severity, e.data.to_string(), now_ms])?;
    Ok(())
}

/// Events of a kind that were going on at or after `since`, oldest first.
pub fn list(conn: &Connection, kind: &str, since: i64) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, subject, started_at, ended_at, severity, data FROM events
         WHERE kind = ?1 AND (ended_at IS NULL OR ended_at >= ?2) ORDER BY started_at, subject",
    )?;
    let rows = stmt.query_map(params![kind, since], |r| {
        let data: String = r.get(5)?;
        Ok(Event {
            kind: r.get(0)?,
            subject: r.get(1)?,
            started_at: r.get(2)?,
            ended_at: r.get(3)?,
            severity: r.get(4)?,
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_twice_updates_instead_of_copying() {
        let conn = crate::store::open_memory().unwrap();
        let mut e = Event {
            kind: "runaway".into(),
            subject: "support".into(),
            started_at: 1_000,
            ended_at: None,
            severity: None,
            data: serde_json::json!({"peak_per_hour_nanousd": 5}),
        };
        record(&conn, &e, 2_000).unwrap();
        e.ended_at = Some(9_000);
        e.data = serde_json::json!({"peak_per_hour_nanousd": 7});
        record(&conn, &e, 9_000).unwrap();
        let all = list(&conn, "runaway", 0).unwrap();
        assert_eq!(all, vec![e.clone()]);
        assert!(list(&conn, "runaway", 10_000).unwrap().is_empty(), "ended before the window");
        assert!(list(&conn, "budget_alert", 0).unwrap().is_empty());
    }
}
