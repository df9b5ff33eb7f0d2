//! The RACI table and the named owners of each workflow.
//!
//! The default is the white paper's table (section VIII) with one repair:
//! its row "Attribute spend to workflows" (C R I I) names no accountable
//! function, which breaks the table's own rule of single accountability,
//! so the default makes Engineering accountable there (C A I I). A
//! `[raci]` table in the config replaces the default entirely.

use std::collections::BTreeMap;

use crate::config::{OwnerConfig, RaciConfig};

pub const DEFAULT_FUNCTIONS: [&str; 4] = ["Finance", "Engineering", "Governance", "Product"];

/// The paper's rows, letters in [`DEFAULT_FUNCTIONS`] order (repaired).
pub const DEFAULT_ACTIVITIES: [(&str, &str); 7] = [
    ("Set AI budget and forecast", "ACIC"),
    ("Attribute spend to workflows", "CAII"),
    ("Apply reduction levers", "IACC"),
    ("Define successful outcome", "CCIA"),
    ("Run the evaluation gate", "IACC"),
    ("Set cost policy and limits", "CRAC"),
    ("Review KPIs and SLOs", "ARCC"),
];

/// What the default changes in the paper's table, and why.
pub const DEFAULT_REPAIR: &str = "default: the paper's table, repaired: its row 'Attribute spend to workflows' (C R I I) names no accountable function, so Engineering is accountable there (C A I I)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Responsible,
    Accountable,
    Consulted,
    Informed,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "R" => Role::Responsible,
            "A" => Role::Accountable,
            "C" => Role::Consulted,
            "I" => Role::Informed,
            _ => return None,
        })
    }

    pub fn letter(self) -> &'static str {
        match self {
            Role::Responsible => "R",
            Role::Accountable => "A",
            Role::Consulted => "C",
            Role::Informed => "I",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub name: String,
    /// One per function, in the table's function order (`None`: not
    /// involved).
    pub roles: Vec<Option<Role>>,
}

/// A RACI table and what its check found.
#[derive(Clone, Debug, PartialEq)]
pub struct Raci {
    pub functions: Vec<String>,
    pub activities: Vec<Activity>,
    /// The paper's table (repaired) rather than the config's.
    pub is_default: bool,
    /// Rule violations: the table is invalid when there is any.
    pub errors: Vec<String>,
    /// Remarks that need no action (an A without an R, the default's repair).
    pub notes: Vec<String>,
}

impl Raci {
    pub fn default_table() -> Raci {
        let functions: Vec<String> = DEFAULT_FUNCTIONS.iter().map(|f| f.to_string()).collect();
        let activities = DEFAULT_ACTIVITIES
            .iter()
            .map(|(name, letters)| Activity {
                name: name.to_string(),
                roles: letters.chars().map(|c| Role::parse(&c.to_string())).collect(),
            })
            .collect();
        let mut r =
            Raci { functions, activities, is_default: true, errors: vec![], notes: vec![DEFAULT_REPAIR.into()] };
        r.check();
        r
    }

    /// The config's table (checked), else the default.
    pub fn from_config(c: Option<&RaciConfig>) -> Raci {
        let Some(c) = c else { return Raci::default_table() };
        let mut errors = Vec::new();
        let mut functions: Vec<String> = Vec::new();
        for f in &c.functions {
            if functions.contains(f) {
                errors.push(format!("[raci] functions: '{f}' is listed twice"));
            } else {
                functions.push(f.clone());
            }
        }
        if functions.is_empty() {
            errors.push(
                "[raci] functions: the list is empty; name the functions, e.g. [\"Finance\", \"Engineering\"]".into(),
            );
        }
        if c.activities.is_empty() {
            errors.push("[raci] has no [[raci.activity]] rows".into());
        }
        let mut activities = Vec::new();
        for a in &c.activities {
            let mut roles = vec![None; functions.len()];
            for (f, letter) in &a.roles {
                let Some(i) = functions.iter().position(|x| x == f) else {
                    errors.push(format!(
                        "activity '{}': unknown function '{f}' (functions: {})",
                        a.name,
                        functions.join(", ")
                    ));
                    continue;
                };
                match Role::parse(letter) {
                    Some(r) => roles[i] = Some(r),
                    None => errors.push(format!("activity '{}': '{letter}' for {f} is not one of R, A, C, I", a.name)),
                }
            }
            activities.push(Activity { name: a.name.clone(), roles });
        }
        let mut r = Raci { functions, activities, is_default: false, errors, notes: vec![] };
        r.check();
        r
    }

    /// Single accountability per row; an A without an R is a note.
    fn check(&mut self) {
        for a in &self.activities {
            let accountable: Vec<&str> = a
                .roles
                .iter()
                .zip(&self.functions)
                .filter(|(r, _)| **r == Some(Role::Accountable))
                .map(|(_, f)| f.as_str())
                .collect();
            match accountable.len() {
                1 => {
                    if !a.roles.contains(&Some(Role::Responsible)) {
                        self.notes.push(format!(
                            "activity '{}': no R, so the accountable function ({}) also does the work",
                            a.name, accountable[0]
                        ));
                    }
                }
                0 => {
                    self.errors.push(format!("activity '{}': no accountable function (exactly one A per row)", a.name))
                }
                _ => self.errors.push(format!(
                    "activity '{}': {} accountable functions ({}); exactly one A per row",
                    a.name,
                    accountable.len(),
                    accountable.join(", ")
                )),
            }
        }
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The function accountable for the first activity whose name
    /// contains `words` (case-insensitive), for the KPI board's owners.
    pub fn accountable_for(&self, words: &str) -> Option<&str> {
        let w = words.to_lowercase();
        let a = self.activities.iter().find(|a| a.name.to_lowercase().contains(&w))?;
        let i = a.roles.iter().position(|r| *r == Some(Role::Accountable))?;
        self.functions.get(i).map(String::as_str)
    }
}

/// The `[[owner]]` entries, resolved per workflow: a workflow entry wins
/// over its team's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Owners {
    entries: Vec<OwnerConfig>,
    /// Workflow → owning team (`[attribution.owners]`).
    teams: BTreeMap<String, String>,
}

impl Owners {
    /// The entries and their problems (an entry naming both a workflow and
    /// a team, or neither).
    pub fn new(entries: &[OwnerConfig], teams: &BTreeMap<String, String>) -> (Owners, Vec<String>) {
        let mut errors = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            match (&e.workflow, &e.team) {
                (Some(_), Some(_)) => errors.push(format!("[[owner]] #{}: give a workflow or a team, not both", i + 1)),
                (None, None) => errors.push(format!("[[owner]] #{}: give a workflow or a team", i + 1)),
                _ => {}
            }
        }
        (Owners { entries: entries.to_vec(), teams: teams.clone() }, errors)
    }

    /// The workflow's team: the config's `[attribution.owners]`, else the
    /// one the ledger shows.
    pub fn team_of<'a>(&'a self, workflow: &str, ledger_team: Option<&'a str>) -> Option<&'a str> {
        self.teams.get(workflow).map(String::as_str).or(ledger_team)
    }

    /// The entry that names the workflow's people.
    pub fn of(&self, workflow: &str, team: Option<&str>) -> Option<&OwnerConfig> {
        self.entries.iter().find(|e| e.workflow.as_deref() == Some(workflow)).or_else(|| {
            team.and_then(|t| self.entries.iter().find(|e| e.workflow.is_none() && e.team.as_deref() == Some(t)))
        })
    }

    /// The workflows the config names (entries and `[attribution.owners]`).
    pub fn named_workflows(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| e.workflow.as_deref()).chain(self.teams.keys().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RaciActivityConfig;

    fn table(functions: &[&str], rows: &[(&str, &[(&str, &str)])]) -> RaciConfig {
        RaciConfig {
            functions: functions.iter().map(|f| f.to_string()).collect(),
            activities: rows
                .iter()
                .map(|(n, r)| RaciActivityConfig {
                    name: n.to_string(),
                    roles: r.iter().map(|(f, l)| (f.to_string(), l.to_string())).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_default_is_the_papers_table_with_one_repair() {
        let r = Raci::default_table();
        assert!(r.is_valid(), "{:?}", r.errors);
        assert_eq!(r.functions, ["Finance", "Engineering", "Governance", "Product"]);
        let letters =
            |i: usize| -> String { r.activities[i].roles.iter().map(|x| x.map(Role::letter).unwrap_or("-")).collect() };
        // The paper's letters, row by row, except the repaired one.
        assert_eq!(letters(0), "ACIC");
        assert_eq!(letters(1), "CAII");
        assert_eq!(letters(6), "ARCC");
        assert!(r.notes[0].contains("C R I I") && r.notes[0].contains("C A I I"));
        // Five rows (the repaired one included) have an A and no R: notes, not errors.
        assert_eq!(r.notes.iter().filter(|n| n.contains("no R")).count(), 5, "{:?}", r.notes);
        assert_eq!(r.accountable_for("budget"), Some("Finance"));
        assert_eq!(r.accountable_for("successful outcome"), Some("Product"));
    }

    #[test]
    fn each_rule_is_an_error_naming_the_activity() {
        let fs = ["Finance", "Engineering"];
        let two = Raci::from_config(Some(&table(&fs, &[("Budget", &[("Finance", "A"), ("Engineering", "A")])])));
        assert_eq!(two.errors.len(), 1);
        assert!(two.errors[0].contains("'Budget'") && two.errors[0].contains("2 accountable"), "{:?}", two.errors);
        let none = Raci::from_config(Some(&table(&fs, &[("Gate", &[("Finance", "R"), ("Engineering", "C")])])));
        assert!(none.errors[0].contains("'Gate'") && none.errors[0].contains("no accountable"), "{:?}", none.errors);
        let letter = Raci::from_config(Some(&table(&fs, &[("Levers", &[("Finance", "A"), ("Engineering", "X")])])));
        assert!(letter.errors[0].contains("'Levers'") && letter.errors[0].contains("'X'"), "{:?}", letter.errors);
        let lower = Raci::from_config(Some(&table(&fs, &[("Levers", &[("Finance", "a")])])));
        assert!(!lower.is_valid(), "letters are capitals");
        let unknown = Raci::from_config(Some(&table(&fs, &[("Policy", &[("Legal", "A"), ("Finance", "R")])])));
        assert!(unknown.errors.iter().any(|e| e.contains("'Policy'") && e.contains("unknown function 'Legal'")));
        let ok = Raci::from_config(Some(&table(&fs, &[("Policy", &[("Finance", "A")])])));
        assert!(ok.is_valid());
        assert!(ok.notes[0].contains("no R"), "{:?}", ok.notes);
        // A function missing from a row is not involved.
        assert_eq!(ok.activities[0].roles, vec![Some(Role::Accountable), None]);
    }

    #[test]
    fn a_workflow_entry_wins_over_its_teams() {
        let entries = vec![
            OwnerConfig { team: Some("CX".into()), accountable: Some("team-lead@acme".into()), ..Default::default() },
            OwnerConfig {
                workflow: Some("support-copilot".into()),
                accountable: Some("dana@acme".into()),
                ..Default::default()
            },
        ];
        let teams = BTreeMap::from([("support-copilot".to_string(), "CX".to_string())]);
        let (o, errors) = Owners::new(&entries, &teams);
        assert!(errors.is_empty());
        let t = o.team_of("support-copilot", None);
        assert_eq!(o.of("support-copilot", t).unwrap().accountable.as_deref(), Some("dana@acme"));
        assert_eq!(o.of("cx-triage", Some("CX")).unwrap().accountable.as_deref(), Some("team-lead@acme"));
        assert!(o.of("cx-triage", Some("IT")).is_none());
        let (_, errors) = Owners::new(
            &[OwnerConfig { workflow: Some("a".into()), team: Some("b".into()), ..Default::default() }],
            &BTreeMap::new(),
        );
        assert!(errors[0].contains("not both"));
    }
}
