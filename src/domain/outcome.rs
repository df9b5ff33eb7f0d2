//! Outcomes: whether the work a workflow's calls were spent on succeeded.
//! The unit of account is the successful outcome (cost per success = a
//! workflow's spend / its successes).
//!
//! An outcome's identity is (id kind, id): the request, trace or session it
//! concludes (or, for a success rule applied per call, the call itself). It
//! is stored once; when events about the same outcome disagree, the latest
//! by time wins.

use super::money::Nanos;

/// What an outcome's id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    Request,
    Trace,
    Session,
    /// A call without a request id (rules with `per = "call"`): the id is
    /// the call's dedupe identity.
    Call,
}

impl IdKind {
    pub const ALL: [IdKind; 4] = [IdKind::Request, IdKind::Trace, IdKind::Session, IdKind::Call];

    /// Stable small integer stored in the database.
    pub fn code(self) -> i64 {
        match self {
            IdKind::Request => 0,
            IdKind::Trace => 1,
            IdKind::Session => 2,
            IdKind::Call => 3,
        }
    }

    pub fn from_code(c: i64) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|k| k.code() == c)
    }

    /// The JSON key that carries this kind of id in an outcome event.
    pub fn key(self) -> &'static str {
        match self {
            IdKind::Request => "request_id",
            IdKind::Trace => "trace_id",
            IdKind::Session => "session_id",
            IdKind::Call => "call",
        }
    }
}

/// A rule's or a stamp's granularity: `per = "call" | "trace" | "session"`.
impl std::str::FromStr for IdKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "call" | "request" => Ok(IdKind::Request),
            "trace" => Ok(IdKind::Trace),
            "session" => Ok(IdKind::Session),
            other => Err(format!("per = '{other}': use call, trace or session")),
        }
    }
}

/// An outcome carried by a call itself: a gateway's `aifin.outcome`
/// metadata / span attribute, or an `[[outcome.rule]]` that matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutcomeStamp {
    /// What the outcome concludes: this call (`Request`), its trace or its
    /// session.
    pub per: IdKind,
    pub success: bool,
    pub value: Option<Nanos>,
}

/// An outcome event line (`{"type":"outcome", ...}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutcomeEvent {
    pub kind: IdKind,
    pub id: String,
    pub ts_ms: i64,
    pub success: bool,
    pub value: Option<Nanos>,
    pub workflow: Option<String>,
    pub line_no: u64,
}
