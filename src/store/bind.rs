//! A prepared statement run once per row that binds a parameter only
//! when its value differs from the previous row's.
//!
//! SQLite keeps a statement's bindings across executions (`sqlite3_reset`
//! leaves them; only `sqlite3_clear_bindings`, which rusqlite calls when a
//! cached statement goes back to its cache, drops them). Most columns of
//! consecutive calls and rollup rows repeat: zero counts, NULLs, the
//! source, the format. Skipping those binds saves about a third of them.
//!
//! Integers and NULLs are remembered; text is always bound (comparing it
//! would cost a copy of every value) but a NULL text is remembered too.

use rusqlite::CachedStatement;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not known to hold anything in particular: bind whatever comes.
    Unknown,
    Null,
    Int(i64),
}

/// A statement and what its parameters hold since the last bind.
pub struct Binder<'c> {
    stmt: CachedStatement<'c>,
    /// Indexed by the 1-based parameter number (slot 0 unused).
    last: Vec<Slot>,
}

impl<'c> Binder<'c> {
    pub fn new(stmt: CachedStatement<'c>) -> Binder<'c> {
        // A statement from the cache comes with its bindings cleared:
        // Unknown, not Null, so the first row binds everything.
        let last = vec![Slot::Unknown; stmt.parameter_count() + 1];
        Binder { stmt, last }
    }

    fn slot(&mut self, i: usize, want: Slot) -> bool {
        match self.last.get_mut(i) {
            Some(s) if *s == want => false,
            Some(s) => {
                *s = want;
                true
            }
            // Out of range: let SQLite report it.
            None => true,
        }
    }

    fn failed<T>(&mut self, e: rusqlite::Error) -> rusqlite::Result<T> {
        self.last.fill(Slot::Unknown);
        Err(e)
    }

    /// Binds an integer to parameter `i` (1-based).
    #[inline]
    pub fn int(&mut self, i: usize, v: i64) -> rusqlite::Result<()> {
        if self.slot(i, Slot::Int(v))
            && let Err(e) = self.stmt.raw_bind_parameter(i, v)
        {
            return self.failed(e);
        }
        Ok(())
    }

    /// Binds an integer or NULL to parameter `i`.
    #[inline]
    pub fn opt_int(&mut self, i: usize, v: Option<i64>) -> rusqlite::Result<()> {
        match v {
            Some(v) => self.int(i, v),
            None => self.null(i),
        }
    }

    /// Binds NULL to parameter `i`.
    #[inline]
    pub fn null(&mut self, i: usize) -> rusqlite::Result<()> {
        if self.slot(i, Slot::Null)
            && let Err(e) = self.stmt.raw_bind_parameter(i, rusqlite::types::Null)
        {
            return self.failed(e);
        }
        Ok(())
    }

    /// Binds text, or NULL for `None`, to parameter `i`.
    #[inline]
    pub fn text(&mut self, i: usize, v: Option<&str>) -> rusqlite::Result<()> {
        match v {
            None => self.null(i),
            Some(s) => {
                if let Some(slot) = self.last.get_mut(i) {
                    *slot = Slot::Unknown;
                }
                match self.stmt.raw_bind_parameter(i, s) {
                    Ok(()) => Ok(()),
                    Err(e) => self.failed(e),
                }
            }
        }
    }

    /// Runs the statement with what is bound; the bindings stay.
    pub fn execute(&mut self) -> rusqlite::Result<usize> {
        match self.stmt.raw_execute() {
            Ok(n) => Ok(n),
            Err(e) => self.failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn rows(c: &Connection) -> Vec<(i64, Option<i64>, Option<String>)> {
        let mut s = c.prepare("SELECT a, b, t FROM x ORDER BY rowid").unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn every_row_holds_its_own_values_whatever_the_row_before_held() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE x (a INTEGER NOT NULL, b INTEGER, t TEXT)").unwrap();
        let given: Vec<(i64, Option<i64>, Option<&str>)> = vec![
            (1, Some(0), None),
            (1, Some(0), None),
            (2, None, Some("a")),
            (2, None, Some("a")),
            (2, Some(0), None),
            (3, Some(7), Some("b")),
            (3, None, Some("b")),
            (0, Some(0), None),
        ];
        let mut b = Binder::new(c.prepare_cached("INSERT INTO x (a, b, t) VALUES (?1, ?2, ?3)").unwrap());
        for (a, v, t) in &given {
            b.int(1, *a).unwrap();
            b.opt_int(2, *v).unwrap();
            b.text(3, *t).unwrap();
            assert_eq!(b.execute().unwrap(), 1);
        }
        let want: Vec<_> = given.iter().map(|(a, v, t)| (*a, *v, t.map(str::to_string))).collect();
        assert_eq!(rows(&c), want);
    }

    #[test]
    fn a_statement_back_from_the_cache_binds_everything_again() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE x (a INTEGER NOT NULL, b INTEGER, t TEXT)").unwrap();
        let sql = "INSERT INTO x (a, b, t) VALUES (?1, ?2, ?3)";
        for _ in 0..2 {
            // The cache clears the bindings between the two uses; a binder
            // that believed 5 and NULL were still bound would store NULLs.
            let mut b = Binder::new(c.prepare_cached(sql).unwrap());
            b.int(1, 5).unwrap();
            b.null(2).unwrap();
            b.text(3, Some("t")).unwrap();
            b.execute().unwrap();
        }
        let mut b = Binder::new(c.prepare_cached(sql).unwrap());
        b.int(1, 5).unwrap();
        b.int(2, 9).unwrap();
        b.text(3, None).unwrap();
        b.execute().unwrap();
        assert_eq!(rows(&c), vec![(5, None, Some("t".into())), (5, None, Some("t".into())), (5, Some(9), None)]);
    }

    #[test]
    fn after_a_failed_row_the_next_one_binds_everything() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE x (a INTEGER NOT NULL UNIQUE, b INTEGER, t TEXT)").unwrap();
        let mut b = Binder::new(c.prepare_cached("INSERT INTO x (a, b, t) VALUES (?1, ?2, ?3)").unwrap());
        b.int(1, 1).unwrap();
        b.int(2, 4).unwrap();
        b.text(3, None).unwrap();
        b.execute().unwrap();
        // A duplicate fails...
        assert!(b.execute().is_err());
        // ...and a parameter number out of range is SQLite's error, not a panic.
        assert!(b.int(9, 1).is_err());
        b.int(1, 2).unwrap();
        b.int(2, 4).unwrap();
        b.text(3, None).unwrap();
        b.execute().unwrap();
        assert_eq!(rows(&c), vec![(1, Some(4), None), (2, Some(4), None)]);
    }
}
