//! `aifin export`: a view as a snapshot to share.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};

use super::Env;
use crate::cli::ExportArgs;
use crate::domain::time;
use crate::operate::Operate;
use crate::reports::export;
use crate::reports::ledger::window_words;
use crate::reports::snapshot::{self, Params, VIEWS};
use crate::reports::window::WindowKind;
use crate::store::queries::Window;

/// xxh3 of the attribution rules, owners and outcome rules in effect.
pub fn rules_hash(env: &Env) -> String {
    rules_hash_of(&env.config)
}

pub fn rules_hash_of(c: &crate::config::Config) -> String {
    let f = &c.file;
    let text = format!("{:?}|{:?}|{:?}", f.attribution, f.owners, f.outcome);
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

pub fn run(env: &Env, a: &ExportArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let tz = env.tz(a.tz.as_deref())?;
    let now = time::now_ms();
    let views: Vec<&str> = match a.view.as_str() {
        "all" if a.format == "csv" => {
            bail!("--view all: CSV holds one table; export one view at a time (--view ledger, ...)")
        }
        "all" => VIEWS.to_vec(),
        v if VIEWS.contains(&v) => vec![v],
        v => bail!("--view '{v}': use one of {}, or all", VIEWS.join(", ")),
    };
    let (window, label) = match &a.window {
        Some(w) => {
            let k: WindowKind = w.parse().map_err(|e: String| anyhow!("--window: {e}"))?;
            (k.window(now, &tz), k.label())
        }
        None => {
            let bound = |flag: &str, v: &Option<String>, end: bool| {
                v.as_deref()
                    .map(|s| time::parse_bound(s, &tz, now, end).map_err(|e| anyhow!("{flag}: {e}")))
                    .transpose()
            };
            let (since, until) = (bound("--since", &a.since, false)?, bound("--until", &a.until, true)?);
            if let (Some(s), Some(u)) = (since, until)
                && u <= s
            {
                bail!("--until must be after --since");
            }
            (Window { since, until }, window_words(since, until))
        }
    };
    let catalog = env.catalog()?;
    let p = Params {
        now,
        window,
        window_label: label,
        // The last moment of the window, so that a window ending on the
        // 1st judges the month it closes.
        as_of: window.until.map_or(now, |u| u - 1).min(now),
        tz: tz.clone(),
        by: a.by,
        catalog_version: catalog.version().to_string(),
        rules_hash: rules_hash(env),
        outcome_rules: env.attributor()?.outcome_workflows(),
        levers: a.levers.any().then(|| super::levers::lever_set(&a.levers, &catalog)).transpose()?,
        levers_report: None,
    };
    if a.view == "levers" && p.levers.is_none() {
        bail!("--view levers: set the levers with --compress, --route or --cap (as in `aifin levers`)");
    }
    if a.format == "focus" {
        return focus(env, a, window, out);
    }
    let op = Operate::from_config(&env.config.file);
    if let Some(w) = op.warning_line() {
        eprintln!("{}", crate::domain::sanitize::clean(&w));
    }
    let conn = env.read_conn()?;
    let mut pricer = crate::pricing::Pricer::new(catalog);
    let mut snaps = Vec::new();
    for v in views {
        if let Some(s) = snapshot::build(&conn, v, &p, &op, &mut pricer)? {
            snaps.push(s);
        }
    }
    let text = export::render(&a.format, &snaps).map_err(|e| anyhow!("{e}"))?;
    match &a.out {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("--out: cannot write '{}'", path.display()))?;
            eprintln!(
                "exported {} as {} to {} (ledger fingerprint {})",
                snaps.iter().map(|s| s.view).collect::<Vec<_>>().join(", "),
                a.format,
                path.display(),
                snaps.first().map(|s| s.stamp.ledger_fingerprint.as_str()).unwrap_or("-")
            );
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `--format focus`: the window's calls as a FOCUS Cost and Usage CSV.
fn focus(env: &Env, a: &ExportArgs, window: Window, out: &mut dyn Write) -> Result<ExitCode> {
    use crate::reports::focus;
    if a.view != "ledger" || a.by != crate::store::queries::GroupBy::WORKFLOW {
        eprintln!(
            "note: --view and --by do not apply to FOCUS (one row per day, model, token class, price and workflow)"
        );
    }
    let conn = env.read_conn()?;
    let charged = env.catalog()?;
    // List prices: the shipped catalog, with the config's aliases (so a
    // dated name finds its list entry) but none of its price overrides.
    let list = std::sync::Arc::new(
        crate::pricing::Catalog::embedded().with_config(Default::default(), env.config.price_aliases()),
    );
    let f = &env.config.file.export.focus;
    let o = focus::FocusOptions {
        window,
        version_1_3: a.focus_version == "1.3",
        include_unpriced: a.include_unpriced,
        billing_account_id: f.billing_account_id.clone(),
        billing_account_name: f.billing_account_name.clone(),
        invoice_issuer_name: f.invoice_issuer_name.clone(),
    };
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |n: u64| {
        if tty {
            eprint!("\rfocus: {} calls read…", crate::reports::table::thousands(n as i64));
        }
    };
    let s = match &a.out {
        Some(path) => {
            let file =
                std::fs::File::create(path).with_context(|| format!("--out: cannot write '{}'", path.display()))?;
            focus::export(&conn, charged, list, &o, std::io::BufWriter::new(file), progress)
        }
        None => focus::export(&conn, charged, list, &o, &mut *out, progress),
    }
    .map_err(|e| anyhow!("FOCUS export: {e}"))?;
    if tty {
        eprintln!();
    }
    let ledger = s.ledger.0 as i128;
    // The rows' exact total against the ledger's per-call-rounded one.
    let scale = s.billed.scale.max(9);
    let billed_at = s.billed.m * 10i128.pow(scale - s.billed.scale);
    let ledger_at = ledger * 10i128.pow(scale - 9);
    let diff = focus::Dec { m: billed_at - ledger_at, scale };
    eprintln!(
        "focus {}: {} rows from {} calls · BilledCost ${} · ledger ${} · difference ${} (the ledger rounds each call to the nano-dollar)",
        a.focus_version,
        s.rows,
        s.calls - s.unpriced_calls - s.pending_calls,
        s.billed.text(),
        s.ledger.format_plain(9),
        diff.text()
    );
    if s.unpriced_calls > 0 {
        eprintln!(
            "focus {}: {} unpriced calls {} (never a cost of 0; see `aifin prices`)",
            a.focus_version,
            s.unpriced_calls,
            if a.include_unpriced {
                "written with x_Unpriced=true and their cost columns 0"
            } else {
                "left out (--include-unpriced writes them)"
            }
        );
    }
    if s.pending_calls > 0 {
        eprintln!(
            "focus {}: {} calls wait for their usage to be counted and are left out",
            a.focus_version, s.pending_calls
        );
    }
    Ok(ExitCode::SUCCESS)
}
