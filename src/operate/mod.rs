//! Operate: who owns the spend (RACI and named owners), budgets with
//! burn-rate alerts, and the rules behind the KPI board. Pure engines: the
//! reports read the store and call them; nothing here prints.

pub mod burn;
pub mod raci;

use crate::config::ConfigFile;

/// Everything the operate views read from the config, checked once.
#[derive(Clone, Debug, PartialEq)]
pub struct Operate {
    pub raci: raci::Raci,
    pub owners: raci::Owners,
    /// Problems with `[[owner]]` entries.
    pub owner_errors: Vec<String>,
    pub budgets: Vec<burn::Budget>,
    /// Why the budgets could not be read (they are then ignored).
    pub budget_error: Option<String>,
    /// `[kpi.<name>]` targets and cadences.
    pub kpi: std::collections::BTreeMap<String, crate::config::KpiConfig>,
}

impl Default for Operate {
    /// The paper's RACI, no owners, budgets or targets.
    fn default() -> Operate {
        Operate::from_config(&ConfigFile::default())
    }
}

impl Operate {
    pub fn from_config(c: &ConfigFile) -> Operate {
        let (owners, owner_errors) = raci::Owners::new(&c.owners, &c.attribution.owners);
        let (budgets, budget_error) = match burn::budgets(&c.budgets) {
            Ok(b) => (b, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        Operate {
            raci: raci::Raci::from_config(c.raci.as_ref()),
            owners,
            owner_errors,
            budgets,
            budget_error,
            kpi: c.kpi.clone(),
        }
    }

    /// Every error in the operate config (RACI rules, owners, budgets).
    pub fn errors(&self) -> Vec<String> {
        let mut e = self.raci.errors.clone();
        e.extend(self.owner_errors.iter().cloned());
        e.extend(self.budget_error.iter().cloned());
        e
    }

    /// The one line other commands print when the operate config has
    /// problems (only `aifin raci` fails on them).
    pub fn warning_line(&self) -> Option<String> {
        let e = self.errors();
        (!e.is_empty()).then(|| {
            format!(
                "warning: {} problem{} in the RACI, owners or budgets ({}{}); `aifin raci` lists them",
                e.len(),
                if e.len() == 1 { "" } else { "s" },
                e[0],
                if e.len() > 1 { ", ..." } else { "" }
            )
        })
    }
}
