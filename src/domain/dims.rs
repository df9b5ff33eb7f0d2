//! The attribution vocabulary, declared once: every dimension a call can
//! be grouped by, with its name, its title, the record field that holds
//! it, the keys logs spell it with, its SQL column and whether
//! attribution rules may set it. Parsers, rules, rollups, queries, reports
//! and the cockpit all take their words from here.

use std::fmt;
use std::str::FromStr;

use super::record::CallRecord;

/// A dimension of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Workflow,
    Team,
    Customer,
    User,
    Project,
    Provider,
    Model,
    /// The ledger a call was first ingested into (merged ledgers keep it).
    Machine,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::Workflow,
        Dimension::Team,
        Dimension::Customer,
        Dimension::User,
        Dimension::Project,
        Dimension::Provider,
        Dimension::Model,
        Dimension::Machine,
    ];

    /// The dimensions attribution rules and source defaults may set.
    pub const SETTABLE: [Dimension; 5] =
        [Dimension::Workflow, Dimension::Team, Dimension::Customer, Dimension::User, Dimension::Project];

    /// The name used on the command line, in config files and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Workflow => "workflow",
            Dimension::Team => "team",
            Dimension::Customer => "customer",
            Dimension::User => "user",
            Dimension::Project => "project",
            Dimension::Provider => "provider",
            Dimension::Model => "model",
            Dimension::Machine => "machine",
        }
    }

    /// The column title in tables.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::Workflow => "Workflow",
            Dimension::Team => "Team",
            Dimension::Customer => "Customer",
            Dimension::User => "User",
            Dimension::Project => "Project",
            Dimension::Provider => "Provider",
            Dimension::Model => "Model (as logged)",
            Dimension::Machine => "Ledger (machine)",
        }
    }

    /// The label of calls without a value.
    pub fn missing_label(self) -> &'static str {
        if self == Dimension::Machine {
            return "(this ledger)";
        }
        if self.settable() { "(unattributed)" } else { "(unknown)" }
    }

    pub fn settable(self) -> bool {
        Dimension::SETTABLE.contains(&self)
    }

    /// Keys under which logs carry the dimension (in tags, metadata,
    /// span attributes); the first is the dimension's own name.
    pub fn log_keys(self) -> &'static [&'static str] {
        match self {
            Dimension::Workflow => &["workflow", "workflow_id", "workflow_name", "feature"],
            Dimension::Team => &["team", "team_id", "team_name", "team_alias"],
            Dimension::Customer => &["customer", "customer_id", "tenant", "tenant_id", "end_user", "account"],
            Dimension::User => &["user", "user_id", "userid"],
            Dimension::Project => &["project", "project_id"],
            Dimension::Provider => &["provider"],
            Dimension::Model => &["model"],
            Dimension::Machine => &["machine"],
        }
    }

    /// The settable dimension a log key names, if any.
    pub fn for_log_key(key: &str) -> Option<Dimension> {
        // Asked for every tag of every line: one lookup in a map made once
        // from the lists above (the first dimension naming a key wins).
        static KEYS: std::sync::LazyLock<hashbrown::HashMap<&'static str, Dimension>> =
            std::sync::LazyLock::new(|| {
                let mut m = hashbrown::HashMap::new();
                for d in Dimension::SETTABLE {
                    for k in d.log_keys() {
                        m.entry(*k).or_insert(d);
                    }
                }
                m
            });
        KEYS.get(key).copied()
    }

    /// The call's value.
    pub fn get(self, r: &CallRecord) -> Option<&str> {
        match self {
            Dimension::Workflow => r.workflow.as_deref(),
            Dimension::Team => r.team.as_deref(),
            Dimension::Customer => r.customer.as_deref(),
            Dimension::User => r.user.as_deref(),
            Dimension::Project => r.project.as_deref(),
            Dimension::Provider => r.provider.as_deref(),
            Dimension::Model => Some(r.model.as_str()),
            Dimension::Machine => r.machine.as_deref(),
        }
    }

    /// The record field of a settable dimension.
    pub fn slot(self, r: &mut CallRecord) -> Option<&mut Option<String>> {
        Some(match self {
            Dimension::Workflow => &mut r.workflow,
            Dimension::Team => &mut r.team,
            Dimension::Customer => &mut r.customer,
            Dimension::User => &mut r.user,
            Dimension::Project => &mut r.project,
            _ => return None,
        })
    }

    /// The SQL expression of the dimension over the calls table `c`
    /// (`''` when missing).
    pub fn sql(self) -> &'static str {
        match self {
            Dimension::Workflow => "COALESCE(c.workflow, '')",
            Dimension::Team => "COALESCE(c.team, '')",
            Dimension::Customer => "COALESCE(c.customer, '')",
            Dimension::User => "COALESCE(c.user, '')",
            Dimension::Project => "COALESCE(c.project, '')",
            Dimension::Provider => "COALESCE(c.provider, '')",
            Dimension::Model => "c.model",
            Dimension::Machine => "c.machine",
        }
    }

    pub fn names() -> String {
        Dimension::ALL.map(Dimension::name).join(", ")
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown dimension '{s}'; use one of: {}", Dimension::names()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_log_keys_are_unique() {
        for d in Dimension::ALL {
            assert_eq!(d.name().parse::<Dimension>().unwrap(), d);
            assert_eq!(d.log_keys()[0], d.name());
        }
        let mut keys: Vec<&str> = Dimension::SETTABLE.iter().flat_map(|d| d.log_keys().iter().copied()).collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "a log key names one dimension");
        assert_eq!(Dimension::for_log_key("tenant_id"), Some(Dimension::Customer));
        assert_eq!(Dimension::for_log_key("model"), None, "only settable dimensions come from tags");
        assert_eq!(Dimension::for_log_key("Team"), None, "log keys are matched as written");
        for d in Dimension::SETTABLE {
            for k in d.log_keys() {
                assert_eq!(Dimension::for_log_key(k), Some(d), "{k}");
            }
        }
    }

    #[test]
    fn slots_and_getters_agree() {
        let mut r = CallRecord::default();
        for d in Dimension::SETTABLE {
            *d.slot(&mut r).unwrap() = Some(d.name().to_string());
        }
        for d in Dimension::SETTABLE {
            assert_eq!(d.get(&r), Some(d.name()));
        }
        assert!(Dimension::Model.slot(&mut r).is_none());
    }
}
