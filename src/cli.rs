//! Command-line definitions (clap). Dispatch lives in [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::domain::record::Format;
use crate::reports::print::OutputFormat;
use crate::store::queries::GroupBy;

#[derive(Parser, Debug)]
#[command(
    name = "aifin",
    version,
    about = "AI FinOps cockpit: LLM call logs in, an exact, attributed cost ledger out",
    long_about = "aifin reads the logs your LLM gateways and SDKs already write (aifin JSONL, OpenAI and \
                  Anthropic objects), prices every call from LiteLLM's catalog, attributes it to a workflow, \
                  team and customer, and stores it exactly once in a local SQLite ledger.\n\n\
                  Exit codes: 0 success, 1 the check asked for failed (a gate candidate rejected), 2 error (the message names the file, line or flag and what to do)."
)]
pub struct Cli {
    /// Database file [default: $XDG_DATA_HOME/aifin/aifin.db]
    #[arg(long, global = true, env = "AIFIN_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Config file [default: ./aifin.toml, then $XDG_CONFIG_HOME/aifin/aifin.toml]
    #[arg(long, global = true, env = "AIFIN_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read log files into the ledger (files, directories or globs)
    Ingest(IngestArgs),
    /// The itemized ledger: cost by workflow, team, customer, model, provider, day or month
    Ledger(LedgerArgs),
    /// Lines that could not be read, with file, line and reason
    Rejects(RejectsArgs),
    /// Look up a model's prices, or list the models in the ledger and how they were priced
    Prices(PricesArgs),
    /// The source files the ledger has read
    Sources(SourcesArgs),
    /// Monthly cost = calls x tokens per call x rate, with what-if scenarios, levers, trend and accuracy
    Forecast(Box<ForecastArgs>),
    /// The eval gate: cost per successful task and pass rate per configuration; promote or reject each candidate
    Gate(GateArgs),
    /// Cost per successful outcome per workflow, its trend and verdict, and outcome coverage
    Outcomes(OutcomesArgs),
    /// Who owns AI spend: the RACI table, its check, and each workflow's accountable person and share of spend
    Raci(AsOfArgs),
    /// Budgets and burn-rate alerts replayed from the ledger (exit 1 while any alert fires)
    Alerts(AsOfArgs),
    /// The KPI/SLO board and the 90-day rollout judged from the ledger (exit 1 when a KPI is in breach)
    Kpis(KpisArgs),
    /// Follow the sources like `ingest --follow` and run a command when a budget alert fires or resolves
    Watch(WatchArgs),
    /// A snapshot to share: a view as Markdown, self-contained HTML, JSON or CSV, stamped with what it was read from
    Export(ExportArgs),
    /// The lever lab: the stored calls priced again under compression, routing and policy caps, alone and composed
    Levers(LeversArgs),
    /// Add other aifin ledgers (from other machines) into this one, exactly once
    Merge(MergeArgs),
    /// The cockpit: live spend per workflow, the ledger, sources (built-in demo when nothing is configured)
    Tui(TuiArgs),
    /// Write deterministic synthetic logs (sample data, benchmarks)
    #[command(hide = true)]
    Sim(SimArgs),
}

#[derive(Args, Debug)]
pub struct SimArgs {
    #[command(subcommand)]
    pub kind: SimKind,
}

#[derive(Subcommand, Debug)]
pub enum SimKind {
    /// The white paper's sample month (calibrated with the config's prices)
    PaperMonth {
        /// Output file
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// A Claude Code `projects/` tree of about LINES lines (last 30 days)
    ClaudeTree {
        /// Output directory (the tree goes under OUT/projects)
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 540_000)]
        lines: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// 400 session files of streamed responses (1-3 copies each, about
        /// 10% other lines) instead of sessions with a user turn per
        /// response and sub-agent files
        #[arg(long)]
        dense: bool,
    },
    /// Random realistic lines spread over the last DAYS days
    Bulk {
        /// Output file
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        lines: u64,
        #[arg(long, default_value_t = 30)]
        days: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// `--json` / `--csv` on every report.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct OutputArgs {
    /// Print JSON
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV
    #[arg(long)]
    pub csv: bool,
}

impl OutputArgs {
    pub fn format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else if self.csv {
            OutputFormat::Csv
        } else {
            OutputFormat::Table
        }
    }
}

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Files, directories (read recursively for *.jsonl, *.ndjson, *.json, *.log) or globs.
    /// Without any: the config's [[source]] entries, else Claude Code's transcript directories
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Read every line as this format instead of detecting it per line
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,

    /// Price every call from these paths at batch rates
    #[arg(long)]
    pub batch: bool,

    /// Keep reading as files grow, rotate or appear, until Ctrl-C or SIGTERM
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Do not count prompt components of logs that carry prompt text
    #[arg(long)]
    pub no_tokenize: bool,

    /// Read the rejected lines again where they are (with --format if given)
    #[arg(long, conflicts_with_all = ["paths", "follow"])]
    pub retry_rejects: bool,

    /// Which symlinks met while walking a directory or glob are followed:
    /// under-root (the default: only those pointing inside it) or any
    #[arg(long, value_name = "POLICY", default_value = "under-root", value_parser = parse_symlinks)]
    pub symlinks: crate::ingest::paths::SymlinkPolicy,

    /// Seconds between rescans when following (file-system events wake it sooner)
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub rescan: f64,

    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

fn parse_symlinks(s: &str) -> Result<crate::ingest::paths::SymlinkPolicy, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_group(s: &str) -> Result<GroupBy, String> {
    s.parse()
}

#[derive(Args, Debug)]
pub struct LedgerArgs {
    /// Group by: workflow, team, customer, user, project, provider, model, machine, day or month
    #[arg(long, default_value = "workflow", value_parser = parse_group)]
    pub by: GroupBy,

    /// Start (inclusive): YYYY-MM-DD, an RFC 3339 time, `today`, or a span such as 7d / 24h
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// End (inclusive for dates, exclusive for times): YYYY-MM-DD, RFC 3339, `today`
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,

    /// Time zone for dates and day/month grouping [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// A report at one moment.
#[derive(Args, Debug)]
pub struct AsOfArgs {
    /// The report's time: later calls are ignored; the month is the one containing it [default: now]
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,

    /// Time zone for months [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// md (GitHub Markdown), html (one self-contained page), json, csv, or focus (a FOCUS 1.2 Cost and Usage CSV)
    #[arg(long, value_name = "FORMAT", value_parser = ["md", "html", "json", "csv", "focus"])]
    pub format: String,

    /// The FOCUS version written
    #[arg(long, default_value = "1.2", value_parser = ["1.2", "1.3"])]
    pub focus_version: String,

    /// FOCUS: write unpriced calls too, with x_Unpriced=true and costs of 0 (left out otherwise)
    #[arg(long)]
    pub include_unpriced: bool,

    /// --view levers: the levers, as in `aifin levers`
    #[command(flatten)]
    pub levers: LeverArgs,

    /// ledger, live, forecast, outcomes, budgets, kpis, raci, gate, sources, or all (md, html and json)
    #[arg(long, default_value = "ledger", value_name = "VIEW")]
    pub view: String,

    /// Start (inclusive), in the WHEN grammar [default: with no --window, all time]
    #[arg(long, value_name = "WHEN", conflicts_with = "window")]
    pub since: Option<String>,

    /// End (inclusive for dates); also the moment budgets, KPIs and owners are judged at
    #[arg(long, value_name = "WHEN", conflicts_with = "window")]
    pub until: Option<String>,

    /// The cockpit's windows: today, 7d, 30d, month, prev-month
    #[arg(long, value_name = "WINDOW")]
    pub window: Option<String>,

    /// Group the ledger and outcomes by: workflow, team, customer, user, project, provider, model, machine, day or month
    #[arg(long, default_value = "workflow", value_parser = parse_group)]
    pub by: GroupBy,

    /// Time zone for dates and days [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    /// Write to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The levers of the lever lab, spelled the same wherever they are taken.
#[derive(Args, Debug, Default)]
pub struct LeverArgs {
    /// Compression: cut prompt components by a percentage (system, tools, context, history, user), or input=PCT for all input
    #[arg(long, value_name = "PART=PCT,...")]
    pub compress: Option<String>,

    /// Routing: to=MODEL[,share=P][,if-output-le=N][,if-input-le=N][,customer=GLOB][,team=GLOB][,ratio=R]
    #[arg(long, value_name = "to=MODEL,...")]
    pub route: Option<String>,

    /// Policy caps: input=N|pNN,output=N|pNN (pNN: that percentile of the workflow's calls)
    #[arg(long, value_name = "input=N|pNN,output=N|pNN")]
    pub cap: Option<String>,

    /// Caching, measured from prompt fingerprints: prefix=5m|1h (prompt caching), response=TTL (exact repeats)
    #[arg(long, value_name = "prefix=5m|1h,response=TTL")]
    pub cache: Option<String>,
}

impl LeverArgs {
    pub fn any(&self) -> bool {
        self.compress.is_some() || self.route.is_some() || self.cap.is_some() || self.cache.is_some()
    }
}

#[derive(Args, Debug)]
pub struct LeversArgs {
    /// Only this workflow's calls
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,

    /// Start (inclusive) [default: 30 days before --until]
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// End (inclusive for dates) [default: now]
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,

    #[command(flatten)]
    pub levers: LeverArgs,

    /// Time zone for dates [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Ledger files to merge in (opened read-only, never changed)
    #[arg(value_name = "OTHER.db", required = true)]
    pub others: Vec<PathBuf>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct KpisArgs {
    #[command(flatten)]
    pub at: AsOfArgs,

    /// Record this review in the ledger (the rollout's last step asks for one)
    #[arg(long)]
    pub record_review: bool,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Files, directories or globs to follow [default: the config's [[source]] entries]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Run through `sh -c` with the alert as one JSON object on standard input, each time an alert fires or resolves
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,

    /// Seconds between evaluations of the budgets
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    pub every: f64,

    /// Time zone for months [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

#[derive(Args, Debug)]
pub struct OutcomesArgs {
    /// Group by: workflow, team, customer, user, project, provider, model, machine, day or month
    #[arg(long, default_value = "workflow", value_parser = parse_group)]
    pub by: GroupBy,

    /// Start (inclusive) [default: the start of the month to date at --as-of; on the 1st, the month just ended]
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// End (inclusive for dates) [default: --as-of]
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,

    /// The report's time: later calls and outcomes are ignored; month- and quarter-over-quarter changes are to date at it [default: now]
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,

    /// Time zone for dates, months and quarters [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// Forecast one workflow (default: all together)
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,

    /// Base window for the drivers, back from now (e.g. 30d, 14d)
    #[arg(long, value_name = "SPAN", default_value = "30d", conflicts_with_all = ["since", "until"])]
    pub base: String,

    /// Base window start instead of --base: YYYY-MM-DD, RFC 3339, `today`
    #[arg(long, value_name = "WHEN", requires = "until")]
    pub since: Option<String>,

    /// Base window end (inclusive for dates)
    #[arg(long, value_name = "WHEN", requires = "since")]
    pub until: Option<String>,

    /// Days in the month the base window is scaled to
    #[arg(long, value_name = "DAYS", default_value_t = 30.0)]
    pub month_days: f64,

    /// Project the month containing this time (trend) [default: now]
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,

    /// Explicit drivers (no database needed): calls per month
    #[arg(long, value_name = "N", requires_all = ["tokens_per_call", "rate_per_1k"], conflicts_with_all = ["workflow", "since", "as_of"])]
    pub calls: Option<f64>,

    /// Explicit drivers: average input + output tokens per call
    #[arg(long, value_name = "N", requires = "calls")]
    pub tokens_per_call: Option<f64>,

    /// Explicit drivers: blended cost per 1,000 tokens in USD
    #[arg(long, value_name = "USD", requires = "calls")]
    pub rate_per_1k: Option<f64>,

    /// Explicit drivers: share of tokens that are input, in percent
    #[arg(long, value_name = "PCT", default_value_t = 90.0, requires = "calls")]
    pub input_share: f64,

    /// Scenario: adoption growth in percent (calls x (1 + PCT/100))
    #[arg(long, value_name = "PCT", default_value_t = 0.0, allow_negative_numbers = true)]
    pub growth: f64,

    /// Scenario: tokens per call become N
    #[arg(long, value_name = "N", conflicts_with = "tokens_change")]
    pub new_tokens_per_call: Option<f64>,

    /// Scenario: tokens per call change by PCT percent
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    pub tokens_change: Option<f64>,

    /// Scenario: the blended rate per 1K tokens becomes USD
    #[arg(long, value_name = "USD", conflicts_with_all = ["rate_change", "route_share"])]
    pub new_rate_per_1k: Option<f64>,

    /// Scenario: the rate changes by PCT percent
    #[arg(long, value_name = "PCT", allow_negative_numbers = true, conflicts_with = "route_share")]
    pub rate_change: Option<f64>,

    /// Lever: route PCT percent of calls to --route-to (priced from the catalog)
    #[arg(long, value_name = "PCT", requires = "route_to")]
    pub route_share: Option<f64>,

    /// Lever: the model routed calls go to
    #[arg(long, value_name = "MODEL", requires = "route_share")]
    pub route_to: Option<String>,

    /// Lever: cut input tokens by PCT percent (compression)
    #[arg(long, value_name = "PCT", default_value_t = 0.0)]
    pub input_reduction: f64,

    /// Lever: share of input served from the prompt cache, in percent
    #[arg(long, value_name = "PCT")]
    pub cache_hit: Option<f64>,

    /// Levers measured on the base window's calls by the lever lab (with --compress, --route, --cap, --cache) instead of typed percentages
    #[arg(long, conflicts_with_all = ["input_reduction", "cache_hit", "route_share", "calls"])]
    pub levers_from_replay: bool,

    /// With --levers-from-replay: the levers, as in `aifin levers`
    #[command(flatten)]
    pub levers: LeverArgs,

    /// Time zone for days and months [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,

    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GateArgs {
    /// Eval result files: promptfoo results.json, aifin JSONL or CSV
    #[arg(long, value_name = "FILE", num_args = 1.., required_unless_present = "history")]
    pub evals: Vec<PathBuf>,

    /// List the recorded gate runs (newest first) instead of judging files
    #[arg(long, conflicts_with_all = ["evals", "record", "lever", "baseline", "candidate", "margin"])]
    pub history: bool,

    /// Read every file as this format: promptfoo, jsonl or csv
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// The configuration the others are judged against [default: the first]
    #[arg(long, value_name = "NAME")]
    pub baseline: Option<String>,

    /// Judge only this configuration [default: every other one]
    #[arg(long, value_name = "NAME")]
    pub candidate: Option<String>,

    /// Non-inferiority margin in percentage points (2 = a 2-point drop is tolerated)
    #[arg(long, value_name = "PTS", allow_negative_numbers = true)]
    pub margin: Option<f64>,

    /// Interval of the cost per success: delta-log (default) or bootstrap[:SEED]
    #[arg(long, value_name = "METHOD")]
    pub ci: Option<String>,

    /// Record the run (figures, decision, inputs' hash) in the ledger's events
    #[arg(long)]
    pub record: bool,

    /// With --record: the workflow the change is for (with --history: only its runs)
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,

    /// With --record: the lever tried: compression, routing, caching or policy
    #[arg(long, value_name = "NAME", requires = "record")]
    pub lever: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct RejectsArgs {
    /// Show at most this many (newest first)
    #[arg(long, default_value_t = 50)]
    pub limit: usize,

    /// Only rejects from files whose path contains this text
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct PricesArgs {
    /// A model name as it appears in logs (omit to list the ledger's models)
    pub model: Option<String>,

    /// The provider, to help resolve names such as `gemini-2.5-pro`
    #[arg(long)]
    pub provider: Option<String>,

    /// List the catalog's chat, completion and responses entries aifin cannot price, and why
    #[arg(long, conflicts_with_all = ["model", "provider"])]
    pub check: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct TuiArgs {
    /// Run on built-in demo data with simulated live traffic (a temporary ledger)
    #[arg(long)]
    pub demo: bool,

    /// Time zone for days and months [default: config report.tz, else the system zone]
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
}

#[derive(Args, Debug)]
pub struct SourcesArgs {
    #[command(flatten)]
    pub output: OutputArgs,
}
