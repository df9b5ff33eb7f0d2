//! The cockpit's state and its pure `update`: an [`Action`] in, state
//! changed, [`Effect`]s out for the event loop to run. No I/O happens here,
//! so every interaction can be tested without a terminal. Policy lives
//! here too: when to refresh, when to retry a failed query, which
//! runaways to record.
//!
//! Selections follow items, not row numbers: each list remembers the key
//! of its selected item (a workflow, a ledger row, a file), so a re-sort
//! or a reload never moves the selection to another item.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::data::{QueryParams, Snapshot, source_rates};
use super::layout::{self, Hit};
use crate::domain::dims::Dimension;
use crate::domain::money::Nanos;
use crate::reports::live::Runaway;
use crate::reports::window::WindowKind;
use crate::store::events::Event;
use crate::store::queries::GroupBy;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Live,
    Ledger,
    Sources,
    Forecast,
    Gate,
    Raci,
    Kpis,
    Levers,
}

impl Tab {
    pub const ALL: [Tab; 8] =
        [Tab::Live, Tab::Ledger, Tab::Sources, Tab::Forecast, Tab::Gate, Tab::Raci, Tab::Kpis, Tab::Levers];

    pub fn title(self) -> &'static str {
        layout::TAB_TITLES[self.index()]
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Groupings the ledger tab cycles through with `g`.
pub const LEDGER_GROUPS: [Dimension; 6] = [
    Dimension::Workflow,
    Dimension::Team,
    Dimension::Customer,
    Dimension::Model,
    Dimension::Provider,
    Dimension::Project,
];

/// The ledger columns `s` sorts by, in turn (keys of the ledger report).
pub const SORT_CYCLE: [&str; 7] =
    ["cost_usd", "calls", "input_tokens", "avg_input_tokens", "cost_per_call_usd", "unpriced_calls", "key"];

#[derive(Clone, Debug, PartialEq)]
pub struct LedgerState {
    pub group: GroupBy,
    /// The key of the column the rows are sorted by.
    pub sort: &'static str,
    pub descending: bool,
    pub window: WindowKind,
    /// The key of the selected row.
    pub selected: Option<String>,
    /// The key of the row opened with Enter.
    pub drill: Option<String>,
}

/// A what-if slider of the forecast tab (values in percent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Slider {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    pub big_step: f64,
}

pub const SLIDERS: [Slider; 5] = [
    Slider { name: "Adoption growth", min: -90.0, max: 500.0, step: 5.0, big_step: 25.0 },
    Slider { name: "Tokens per call", min: -90.0, max: 300.0, step: 5.0, big_step: 25.0 },
    Slider { name: "Rate per 1K", min: -90.0, max: 300.0, step: 5.0, big_step: 25.0 },
    Slider { name: "Input reduction", min: 0.0, max: 90.0, step: 5.0, big_step: 25.0 },
    Slider { name: "Cache hit rate", min: 0.0, max: 100.0, step: 5.0, big_step: 25.0 },
];

/// The scenario the slider values describe.
pub fn scenario_of(values: &[f64; 5]) -> crate::forecast::Scenario {
    use crate::forecast::{RateChange, Scenario, TokensChange};
    Scenario {
        growth_pct: values[0],
        tokens: if values[1] == 0.0 { TokensChange::Same } else { TokensChange::Pct(values[1]) },
        rate: if values[2] == 0.0 { RateChange::Same } else { RateChange::Pct(values[2]) },
        input_reduction_pct: values[3],
        cache_hit_pct: (values[4] > 0.0).then_some(values[4]),
        route: None,
        replayed: None,
    }
}

/// A scenario kept for comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedScenario {
    pub workflow: String,
    pub values: [f64; 5],
    pub current: Nanos,
    pub cost: Nanos,
}

/// Scenarios kept at most (the oldest is dropped).
pub const MAX_SAVED: usize = 6;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastState {
    /// The chosen workflow (`None`: all workflows).
    pub item: Option<String>,
    /// The slider that arrows move.
    pub slider: usize,
    pub values: [f64; 5],
    pub saved: Vec<SavedScenario>,
    /// The levers come from the Levers tab's replay (its measured factors
    /// replace the input-reduction and cache sliders).
    pub replayed: bool,
}

/// The Gate tab: the selected history row (a run's comparison) and
/// whether its discordant cases are open.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GateState {
    pub selected: Option<String>,
    pub cases: bool,
}

/// The models the Levers tab routes to, in turn (`[` `]`).
pub const ROUTE_TARGETS: [&str; 3] = ["claude-haiku-4-5", "gpt-4o-mini", "gemini-2.5-flash"];
/// The input caps the policy lever takes, in turn (percentiles of each
/// workflow's calls).
pub const CAP_PERCENTILES: [u8; 4] = [99, 95, 90, 80];
/// How long the calls read for the lever lab are replayed before they are
/// read again (a new setting within it replays the calls in memory).
pub const LEVERS_RELOAD_MS: i64 = 5 * 60_000;
/// The lever lab's window: the last 30 days.
pub const LEVERS_WINDOW_MS: i64 = 30 * crate::domain::time::MS_PER_DAY;

/// The Levers tab's setting of each lever (in `Lever::ALL` order: policy,
/// compression, caching, routing).
#[derive(Clone, Debug, PartialEq)]
pub struct LeverSettings {
    pub on: [bool; 4],
    /// Index in `CAP_PERCENTILES`.
    pub cap: usize,
    /// Percent of input cut.
    pub compress_pct: u32,
    /// The prefix cache's TTL is an hour (else 5 minutes).
    pub cache_1h: bool,
    pub route_share_pct: u32,
    /// Index in `ROUTE_TARGETS`.
    pub route_to: usize,
}

impl Default for LeverSettings {
    fn default() -> Self {
        LeverSettings { on: [true; 4], cap: 1, compress_pct: 30, cache_1h: false, route_share_pct: 30, route_to: 0 }
    }
}

impl LeverSettings {
    /// Each lever's setting as the command line spells it.
    pub fn spec(&self, i: usize) -> String {
        match i {
            0 => format!("input=p{}", CAP_PERCENTILES[self.cap.min(CAP_PERCENTILES.len() - 1)]),
            1 => format!("input={}", self.compress_pct),
            2 => format!("prefix={},response=10m", if self.cache_1h { "1h" } else { "5m" }),
            _ => format!(
                "to={},share={}",
                ROUTE_TARGETS[self.route_to.min(ROUTE_TARGETS.len() - 1)],
                self.route_share_pct
            ),
        }
    }

    /// The levers switched on.
    pub fn lever_set(&self) -> crate::levers::LeverSet {
        use crate::levers::{Cache, Cap, Compress, Route};
        let on = |i: usize| self.on[i].then(|| self.spec(i));
        crate::levers::LeverSet {
            cap: on(0).and_then(|s| Cap::parse(&s).ok()),
            compress: on(1).and_then(|s| Compress::parse(&s).ok()),
            cache: on(2).and_then(|s| Cache::parse(&s).ok()),
            route: on(3).and_then(|s| Route::parse(&s).ok()),
        }
    }

    /// Moves lever `i`'s setting a step (`dir` -1 or 1).
    fn step(&mut self, i: usize, dir: i64) {
        let by = |v: u32, lo: i64, hi: i64| (v as i64 + 5 * dir).clamp(lo, hi) as u32;
        match i {
            0 => self.cap = (self.cap as i64 + dir).clamp(0, CAP_PERCENTILES.len() as i64 - 1) as usize,
            1 => self.compress_pct = by(self.compress_pct, 5, 90),
            2 => self.cache_1h = dir > 0,
            _ => self.route_share_pct = by(self.route_share_pct, 5, 100),
        }
    }
}

/// A replay's result as the tab keeps it.
#[derive(Clone, Debug)]
pub struct LeversResult {
    pub report: std::sync::Arc<crate::reports::levers::LeversReport>,
    /// The calls replayed.
    pub calls: usize,
    /// How long the replay took (with the read, when there was one).
    pub took_ms: u64,
    /// The calls were read for it (not the ones in memory).
    pub read: bool,
    /// The setting replayed.
    pub settings: LeverSettings,
}

impl PartialEq for LeversResult {
    fn eq(&self, o: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.report, &o.report) && self.took_ms == o.took_ms
    }
}

/// A replay for the lever thread.
#[derive(Clone, Debug, PartialEq)]
pub struct LeverRequest {
    pub generation: u64,
    pub settings: LeverSettings,
    pub now_ms: i64,
    /// Read the calls again (else replay the ones in memory).
    pub reload: bool,
}

/// The Levers tab: the settings, the replay running and the last result.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeversState {
    /// The lever the arrows set.
    pub row: usize,
    pub settings: LeverSettings,
    /// The newest replay asked for.
    pub generation: u64,
    pub running: bool,
    /// Calls read so far by the running replay.
    pub read: u64,
    pub result: Option<LeversResult>,
    pub error: Option<String>,
    /// When the calls in memory were read.
    pub loaded_ms: Option<i64>,
    /// A request that reads the calls is on its way: the next setting
    /// replays what it reads instead of reading them again.
    pub reading: bool,
}

/// Background progress shown in the status bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// Lines per second read by the ingester (recent average).
    pub ingest_rate: f64,
    pub ingest_lines: u64,
    pub following: usize,
    /// The follower is still reading the sources' existing lines.
    pub catching_up: bool,
    pub tokenizer_queue: u64,
    pub tokenizer_done: u64,
    pub tokenizer_rate: f64,
    pub db_path: String,
    pub tz_name: String,
    /// A message shown above the status bar (demo notice, errors).
    pub notice: Option<String>,
}

/// What a one-line prompt is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: keep the rows whose name contains the text.
    Filter,
    /// `W`: a custom window for the ledger.
    Range,
    /// `E`: the format of an export, chosen from a list (the text is the
    /// format selected).
    Export,
}

/// A snapshot of what a tab shows, to write to a file.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRequest {
    /// The snapshot view (`ledger`, `forecast`, ...).
    pub view: &'static str,
    /// `md`, `html`, `json` or `csv`.
    pub format: String,
    pub window: WindowKind,
    pub group: GroupBy,
    pub now_ms: i64,
    pub tz: TimeZone,
    pub outcome_rules: Vec<String>,
    pub operate: std::sync::Arc<crate::operate::Operate>,
    /// The Levers tab's setting (for its view).
    pub levers: Option<LeverSettings>,
    /// The Levers tab's last result, exported as it is on screen.
    pub levers_result: Option<LeversResult>,
}

/// The formats an export takes.
pub const EXPORT_FORMATS: [&str; 4] = ["md", "html", "json", "csv"];

/// What each export format is for, as the `E` dialog lists it.
pub const EXPORT_FORMAT_HELP: [&str; 4] = [
    "Markdown tables, for a pull request or a chat",
    "one self-contained page with charts",
    "the report model, as the CLI's --json",
    "the report rows, safe to open in a spreadsheet",
];

/// The snapshot view of a tab.
pub fn export_view(tab: Tab) -> &'static str {
    match tab {
        Tab::Live => "live",
        Tab::Ledger => "ledger",
        Tab::Sources => "sources",
        Tab::Forecast => "forecast",
        Tab::Gate => "gate",
        Tab::Raci => "raci",
        Tab::Kpis => "kpis",
        Tab::Levers => "levers",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Quit,
    Suspend,
    NextTab,
    PrevTab,
    SelectTab(usize),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    CycleGroup,
    CycleSort,
    ReverseSort,
    CycleWindow,
    PromptRange,
    PromptFilter,
    TogglePause,
    /// Move the selected slider (forecast).
    SliderLeft,
    SliderRight,
    SliderBigLeft,
    SliderBigRight,
    /// Previous / next workflow in the forecast.
    PrevItem,
    NextItem,
    ResetSlider,
    ResetAll,
    SaveScenario,
    ClearSaved,
    /// Forecast: take the levers from the Levers tab's replay, or not.
    ToggleReplayed,
    Enter,
    Back,
    ToggleHelp,
    /// Export what the tab shows as Markdown.
    Export,
    /// Ask for the format, then export.
    PromptExport,
    /// An export finished: where it went, or why it failed.
    Exported(Result<String, String>),
    /// Switch the selected lever on or off (Levers).
    ToggleLever,
    /// Calls read so far by the running lever replay.
    LeversProgress(u64),
    /// A lever replay finished.
    LeversReady(u64, Result<LeversResult, String>),
    /// Text typed into an open prompt.
    Input(char),
    Backspace,
    /// Time passes (epoch ms).
    Tick(i64),
    Resize(u16, u16),
    Click(u16, u16),
    ScrollUp,
    ScrollDown,
    /// New rows were committed to the ledger.
    Committed,
    DataReady(Box<Snapshot>),
    /// A query failed (the database cannot be opened or read).
    QueryFailed(String),
    Status(Box<Status>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Read a new snapshot with these parameters.
    Query(QueryParams),
    /// Write events to the ledger.
    Record(Vec<Event>),
    /// Stop the process (Ctrl-Z) with the terminal restored.
    Suspend,
    /// Write a snapshot to a file.
    Export(ExportRequest),
    /// Replay the levers (off the UI thread).
    Replay(LeverRequest),
}

pub struct App {
    /// Workflows an `[[outcome.rule]]` defines success for.
    pub outcome_rules: Vec<String>,
    pub tab: Tab,
    /// The selected workflow of the Live tab.
    pub live_selected: Option<String>,
    pub ledger: LedgerState,
    /// The selected file of the Sources tab.
    pub sources_selected: Option<String>,
    pub forecast: ForecastState,
    pub gate: GateState,
    /// The selected workflow of the RACI tab's owners.
    pub raci_selected: Option<String>,
    /// The selected KPI.
    pub kpi_selected: Option<String>,
    pub levers: LeversState,
    /// The RACI, owners, budgets and KPI targets from the config.
    pub operate: std::sync::Arc<crate::operate::Operate>,
    /// Budget alerts firing, as recorded (by subject); loaded from the
    /// ledger with the first snapshot, so a restart neither forgets nor
    /// re-fires them.
    pub alerts: BTreeMap<String, Event>,
    pub alerts_loaded: bool,
    pub help: bool,
    pub prompt: Option<Prompt>,
    /// Rows whose name contains this (case-insensitive) are shown.
    pub filter: Option<String>,
    /// Refreshes are paused (`p`).
    pub paused: bool,
    pub quit: bool,
    pub now_ms: i64,
    pub tz: TimeZone,
    pub size: (u16, u16),
    pub snapshot: Option<Snapshot>,
    pub status: Status,
    /// Why the last query failed, until one succeeds.
    pub query_error: Option<String>,
    /// New data was committed since the last snapshot was asked for.
    pub stale: bool,
    /// When the last snapshot was asked for.
    pub last_query_ms: i64,
    pub waiting: bool,
    /// Runaways going on, as last recorded (by workflow).
    pub runaways: BTreeMap<String, Runaway>,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// The change answers the person (a key, a click, the data or replay
    /// they wait for): drawn at once. Other changes (status, progress, the
    /// clock) wait for the next frame slot.
    pub urgent: bool,
    /// Where the last export went (or why it failed), shown above the
    /// status bar.
    pub export_note: Option<String>,
}

/// How often the views refresh without new data (time moves the windows).
pub const REFRESH_MS: i64 = 5_000;
/// How often at most new commits trigger a refresh.
pub const COMMIT_REFRESH_MS: i64 = 500;
/// How soon a failed query is tried again.
pub const RETRY_MS: i64 = 2_000;
/// A query that has not answered after this long is given up on and asked
/// again (the answer may have been lost).
pub const QUERY_TIMEOUT_MS: i64 = 30_000;

/// The ids of a list with a filter applied (case-insensitive substring).
pub fn filtered<'a>(ids: impl Iterator<Item = &'a str>, filter: Option<&str>) -> Vec<&'a str> {
    let f = filter.map(str::to_lowercase).filter(|f| !f.is_empty());
    ids.filter(|id| f.as_ref().is_none_or(|f| id.to_lowercase().contains(f))).collect()
}

impl App {
    pub fn new(now_ms: i64, tz: TimeZone, status: Status) -> App {
        App {
            outcome_rules: Vec::new(),
            tab: Tab::Live,
            live_selected: None,
            ledger: LedgerState {
                group: GroupBy::WORKFLOW,
                sort: "cost_usd",
                descending: true,
                window: WindowKind::Today,
                selected: None,
                drill: None,
            },
            sources_selected: None,
            forecast: ForecastState::default(),
            gate: GateState::default(),
            raci_selected: None,
            kpi_selected: None,
            levers: LeversState::default(),
            operate: Default::default(),
            alerts: BTreeMap::new(),
            alerts_loaded: false,
            help: false,
            prompt: None,
            filter: None,
            paused: false,
            quit: false,
            now_ms,
            tz,
            size: (80, 24),
            snapshot: None,
            status,
            query_error: None,
            stale: true,
            last_query_ms: i64::MIN / 2,
            waiting: false,
            runaways: BTreeMap::new(),
            dirty: true,
            urgent: true,
            export_note: None,
        }
    }

    /// The parameters of the snapshot the current state needs.
    pub fn params(&self) -> QueryParams {
        QueryParams {
            now_ms: self.now_ms,
            tz: self.tz.clone(),
            group: self.ledger.group,
            window: self.ledger.window,
            drill: self.ledger.drill.clone(),
            forecast: self.tab == Tab::Forecast,
            forecast_ahead: self.tab != Tab::Forecast,
            outcome_rules: self.outcome_rules.clone(),
            kpis: self.tab == Tab::Kpis,
            operate: self.operate.clone(),
        }
    }

    fn query(&mut self) -> Vec<Effect> {
        self.stale = false;
        self.waiting = true;
        self.last_query_ms = self.now_ms;
        vec![Effect::Query(self.params())]
    }

    /// The ids of the current tab's list, in display order, filtered.
    pub fn list_ids(&self) -> Vec<String> {
        self.list_ids_of(self.tab)
    }

    /// The ids of a tab's list, in display order, filtered.
    pub fn list_ids_of_public(&self, tab: Tab) -> Vec<String> {
        self.list_ids_of(tab)
    }

    fn list_ids_of(&self, tab: Tab) -> Vec<String> {
        let Some(s) = &self.snapshot else { return Vec::new() };
        let f = self.filter.as_deref();
        match tab {
            Tab::Live => filtered(s.live.workflows.iter().map(|w| w.workflow.as_str()), f)
                .into_iter()
                .map(str::to_string)
                .collect(),
            Tab::Ledger => self.ledger_ids(),
            Tab::Sources => filtered(s.sources.report.sources.iter().map(|x| x.view.path.as_str()), f)
                .into_iter()
                .map(str::to_string)
                .collect(),
            Tab::Forecast => Vec::new(),
            Tab::Gate => {
                // The filter matches the candidate or the workflow.
                let f = f.map(str::to_lowercase).filter(|f| !f.is_empty());
                s.gate
                    .history
                    .iter()
                    .filter(|r| {
                        f.as_ref().is_none_or(|f| {
                            r.candidate.to_lowercase().contains(f)
                                || r.workflow.as_deref().is_some_and(|w| w.to_lowercase().contains(f))
                        })
                    })
                    .map(crate::reports::gate::run_row_id)
                    .collect()
            }
            Tab::Raci => filtered(s.operate.raci.owners.iter().map(|o| o.workflow.as_str()), f)
                .into_iter()
                .map(str::to_string)
                .collect(),
            Tab::Kpis => match &s.operate.kpis {
                Some((k, _)) => k.kpis.iter().map(|k| k.name.to_string()).collect(),
                None => Vec::new(),
            },
            Tab::Levers => Vec::new(),
        }
    }

    /// The ledger's row keys in the displayed order (sorted, filtered).
    pub fn ledger_ids(&self) -> Vec<String> {
        let Some(s) = &self.snapshot else { return Vec::new() };
        let t = s.ledger.table();
        let col = t.column(self.ledger.sort).unwrap_or(0);
        let ids: Vec<&str> =
            t.order_by(col, self.ledger.descending).into_iter().map(|i| t.rows[i].id.as_str()).collect();
        filtered(ids.into_iter(), self.filter.as_deref()).into_iter().map(str::to_string).collect()
    }

    /// The forecast items' keys (`None`: all workflows), filtered.
    pub fn forecast_keys(&self) -> Vec<Option<String>> {
        let Some(f) = self.snapshot.as_ref().and_then(|s| s.forecast.as_ref()) else { return Vec::new() };
        let filter = self.filter.as_deref().map(str::to_lowercase).filter(|f| !f.is_empty());
        f.items
            .iter()
            .map(|i| i.key().map(str::to_string))
            .filter(|k| match (k, &filter) {
                (None, _) | (_, None) => true,
                (Some(k), Some(f)) => k.to_lowercase().contains(f),
            })
            .collect()
    }

    fn selected_key(&self) -> Option<&String> {
        self.selected_key_of(self.tab)
    }

    fn selected_key_of(&self, tab: Tab) -> Option<&String> {
        match tab {
            Tab::Live => self.live_selected.as_ref(),
            Tab::Ledger => self.ledger.selected.as_ref(),
            Tab::Sources => self.sources_selected.as_ref(),
            Tab::Forecast => None,
            Tab::Gate => self.gate.selected.as_ref(),
            Tab::Raci => self.raci_selected.as_ref(),
            Tab::Kpis => self.kpi_selected.as_ref(),
            Tab::Levers => None,
        }
    }

    fn set_selected(&mut self, key: Option<String>) {
        self.set_selected_of(self.tab, key)
    }

    fn set_selected_of(&mut self, tab: Tab, key: Option<String>) {
        match tab {
            Tab::Live => self.live_selected = key,
            Tab::Ledger => self.ledger.selected = key,
            Tab::Sources => self.sources_selected = key,
            Tab::Forecast => {}
            Tab::Gate => self.gate.selected = key,
            Tab::Raci => self.raci_selected = key,
            Tab::Kpis => self.kpi_selected = key,
            Tab::Levers => {}
        }
    }

    /// The position of the selection in the current list (0 when the
    /// selected item is not in it).
    pub fn selected_index(&self) -> usize {
        let ids = self.list_ids();
        self.selected_key().and_then(|k| ids.iter().position(|i| i == k)).unwrap_or(0)
    }

    /// Switches tab; the forecast and KPI tabs ask for their data when it
    /// is not loaded.
    fn go_to(&mut self, t: Tab) -> Vec<Effect> {
        self.tab = t;
        let missing = match t {
            Tab::Forecast => self.snapshot.as_ref().is_none_or(|s| s.forecast.is_none()),
            Tab::Kpis => self.snapshot.as_ref().is_none_or(|s| s.operate.kpis.is_none()),
            Tab::Levers => {
                return if !self.levers.running && (self.levers.result.is_none() || self.levers_reload_due()) {
                    self.replay()
                } else {
                    vec![]
                };
            }
            _ => false,
        };
        if missing && !self.waiting { self.query() } else { vec![] }
    }

    /// The calls in memory for the lever lab were read over
    /// `LEVERS_RELOAD_MS` ago (or never).
    fn levers_reload_due(&self) -> bool {
        !self.levers.reading && self.levers.loaded_ms.is_none_or(|t| self.now_ms - t > LEVERS_RELOAD_MS)
    }

    /// Asks for a replay of the current lever setting: the calls in memory
    /// are replayed, unless they are due to be read again.
    fn replay(&mut self) -> Vec<Effect> {
        let reload = self.levers_reload_due();
        let l = &mut self.levers;
        l.reading |= reload;
        l.generation += 1;
        l.running = true;
        l.read = 0;
        l.error = None;
        vec![Effect::Replay(LeverRequest {
            generation: l.generation,
            settings: l.settings.clone(),
            now_ms: self.now_ms,
            reload,
        })]
    }

    /// The Levers tab's keys: the selected lever's setting moved, switched
    /// or its target changed, then replayed.
    fn lever_key(&mut self, action: &Action) -> Option<Vec<Effect>> {
        if self.tab != Tab::Levers {
            return None;
        }
        let l = &mut self.levers;
        match action {
            Action::SliderLeft | Action::SliderBigLeft => l.settings.step(l.row, -1),
            Action::SliderRight | Action::SliderBigRight => l.settings.step(l.row, 1),
            Action::ToggleLever | Action::Enter => l.settings.on[l.row] = !l.settings.on[l.row],
            Action::PrevItem => {
                l.settings.route_to = (l.settings.route_to + ROUTE_TARGETS.len() - 1) % ROUTE_TARGETS.len()
            }
            Action::NextItem => l.settings.route_to = (l.settings.route_to + 1) % ROUTE_TARGETS.len(),
            Action::Up | Action::ScrollUp => {
                l.row = l.row.saturating_sub(1);
                return Some(vec![]);
            }
            Action::Down | Action::ScrollDown => {
                l.row = (l.row + 1).min(3);
                return Some(vec![]);
            }
            Action::Home => {
                l.row = 0;
                return Some(vec![]);
            }
            Action::End => {
                l.row = 3;
                return Some(vec![]);
            }
            _ => return None,
        }
        Some(self.replay())
    }

    /// Moves the selected slider by `delta` (in memory only: the view
    /// recomputes the projection from the loaded drivers).
    fn nudge(&mut self, delta: f64) {
        let s = SLIDERS[self.forecast.slider];
        let v = &mut self.forecast.values[self.forecast.slider];
        *v = (*v + delta).clamp(s.min, s.max);
    }

    /// The forecast's scenario for an item (`None`: all workflows): the
    /// sliders, with the Levers tab's measured factors for the item when
    /// `v` is on (the typed levers then do not apply).
    pub fn forecast_scenario(&self, item: Option<&str>) -> crate::forecast::Scenario {
        let mut s = scenario_of(&self.forecast.values);
        if self.forecast.replayed {
            s.input_reduction_pct = 0.0;
            s.cache_hit_pct = None;
            s.replayed = self.levers.result.as_ref().map(|r| {
                let rep = &r.report.replay;
                item.and_then(|w| rep.workflows.get(w)).unwrap_or(&rep.total).factors()
            });
        }
        s
    }

    /// The forecast item on screen.
    pub fn forecast_item(&self) -> Option<&super::data::ForecastItem> {
        let f = self.snapshot.as_ref()?.forecast.as_ref()?;
        f.items.iter().find(|i| i.key() == self.forecast.item.as_deref()).or_else(|| f.items.first())
    }

    fn save_scenario(&mut self) {
        let Some(item) = self.forecast_item() else { return };
        let d = &item.measured.drivers;
        let p = crate::forecast::project(d, &self.forecast_scenario(item.key()));
        let saved = SavedScenario {
            workflow: item.measured.workflow.clone().unwrap_or_else(|| "all workflows".into()),
            values: self.forecast.values,
            current: d.monthly_cost,
            cost: p.cost,
        };
        if self.forecast.saved.len() == MAX_SAVED {
            self.forecast.saved.remove(0);
        }
        self.forecast.saved.push(saved);
    }

    fn move_forecast_item(&mut self, delta: isize) {
        let keys = self.forecast_keys();
        if keys.is_empty() {
            return;
        }
        let n = keys.len() as isize;
        let i = keys.iter().position(|k| *k == self.forecast.item).unwrap_or(0) as isize;
        self.forecast.item = keys[((i + delta).rem_euclid(n)) as usize].clone();
    }

    /// Moves the selection by `delta` rows (clamped) and returns the
    /// effects: with a drill-down open, it follows the selection.
    fn move_selection(&mut self, delta: isize) -> Vec<Effect> {
        if self.tab == Tab::Forecast {
            let v = (self.forecast.slider as isize + delta).clamp(0, SLIDERS.len() as isize - 1);
            self.forecast.slider = v as usize;
            return vec![];
        }
        let ids = self.list_ids();
        if ids.is_empty() {
            return vec![];
        }
        let i = self.selected_index() as isize;
        let to = (i + delta).clamp(0, ids.len() as isize - 1) as usize;
        self.select(ids[to].clone())
    }

    fn select(&mut self, key: String) -> Vec<Effect> {
        let changed = self.selected_key() != Some(&key);
        self.set_selected(Some(key.clone()));
        if self.tab == Tab::Ledger && self.ledger.drill.is_some() && changed {
            self.ledger.drill = Some(key);
            return self.query();
        }
        vec![]
    }

    fn page(&self) -> isize {
        (self.size.1 as isize - 8).max(1)
    }

    /// Keeps every selection on an item that exists after new data.
    fn reconcile(&mut self) {
        for t in [Tab::Live, Tab::Ledger, Tab::Sources, Tab::Gate, Tab::Raci, Tab::Kpis] {
            let ids = self.list_ids_of(t);
            let keep = self.selected_key_of(t).is_some_and(|k| ids.contains(k));
            if !keep {
                self.set_selected_of(t, ids.first().cloned());
            }
        }
        let keys = self.forecast_keys();
        if !keys.is_empty() && !keys.contains(&self.forecast.item) {
            self.forecast.item = keys[0].clone();
        }
    }

    /// Records the runaways the new snapshot shows: a new one when it
    /// starts, its peak and cost as it goes, its end when it is over.
    fn track_runaways(&mut self) -> Vec<Effect> {
        let Some(s) = &self.snapshot else { return vec![] };
        let now = s.params.now_ms;
        let current: BTreeMap<String, Runaway> =
            s.live.runaways().filter_map(|w| Some((w.workflow.clone(), w.runaway.clone()?))).collect();
        let mut events = Vec::new();
        for (wf, r) in &current {
            if self.runaways.get(wf) != Some(r) {
                events.push(runaway_event(wf, r, None));
            }
        }
        for (wf, r) in &self.runaways {
            if !current.contains_key(wf) {
                events.push(runaway_event(wf, r, Some(now)));
            }
        }
        self.runaways = current;
        if events.is_empty() { vec![] } else { vec![Effect::Record(events)] }
    }

    /// The export of what the current tab shows, in `format`.
    fn export(&mut self, format: &str) -> Vec<Effect> {
        let (window, group) = match self.tab {
            Tab::Ledger => (self.ledger.window, self.ledger.group),
            // The window the tab's replay covers (the 30 days up to the
            // newest call), so the file shows the tab's figures.
            Tab::Levers => match self.levers.result.as_ref().map(|r| r.report.window) {
                Some((Some(since), Some(until))) => (WindowKind::Custom(since, until), GroupBy::WORKFLOW),
                _ => (WindowKind::Days30, GroupBy::WORKFLOW),
            },
            _ => (WindowKind::Today, GroupBy::WORKFLOW),
        };
        self.export_note = Some(format!("exporting the {} as {format}…", export_view(self.tab)));
        vec![Effect::Export(ExportRequest {
            view: export_view(self.tab),
            format: format.to_string(),
            window,
            group,
            now_ms: self.now_ms,
            tz: self.tz.clone(),
            outcome_rules: self.outcome_rules.clone(),
            operate: self.operate.clone(),
            levers: (self.tab == Tab::Levers).then(|| match &self.levers.result {
                Some(r) => r.settings.clone(),
                None => self.levers.settings.clone(),
            }),
            levers_result: self.levers.result.clone().filter(|_| self.tab == Tab::Levers),
        })]
    }

    /// Records budget alerts as they fire and resolve (the rule of
    /// [`crate::reports::alerts::transitions`], shared with `aifin watch`).
    fn track_alerts(&mut self) -> Vec<Effect> {
        let Some(s) = &self.snapshot else { return vec![] };
        if !self.alerts_loaded {
            self.alerts = s.operate.open_alerts.iter().map(|e| (e.subject.clone(), e.clone())).collect();
            self.alerts_loaded = true;
        }
        let b = &s.operate.budgets;
        let budgets: Vec<crate::operate::burn::Budget> = b.budgets.iter().map(|r| r.budget.clone()).collect();
        let open: Vec<Event> = self.alerts.values().cloned().collect();
        let changes = crate::reports::alerts::transitions(&budgets, &b.holding(), &open, s.params.now_ms, &b.people());
        let mut events = Vec::new();
        for (e, _) in changes {
            if e.ended_at.is_some() {
                self.alerts.remove(&e.subject);
            } else {
                self.alerts.insert(e.subject.clone(), e.clone());
            }
            events.push(e);
        }
        if events.is_empty() { vec![] } else { vec![Effect::Record(events)] }
    }

    fn prompt_key(&mut self, action: Action) -> Vec<Effect> {
        let Some(p) = self.prompt.as_mut() else { return vec![] };
        if p.kind == PromptKind::Export {
            return self.export_dialog_key(action);
        }
        match action {
            Action::Input(c) => {
                p.text.push(c);
                p.error = None;
                if p.kind == PromptKind::Filter {
                    self.filter = Some(p.text.clone());
                    self.reconcile();
                }
                vec![]
            }
            Action::Backspace => {
                p.text.pop();
                p.error = None;
                if p.kind == PromptKind::Filter {
                    self.filter = Some(p.text.clone()).filter(|t| !t.is_empty());
                    self.reconcile();
                }
                vec![]
            }
            Action::Back => {
                if p.kind == PromptKind::Filter {
                    self.filter = None;
                }
                self.prompt = None;
                self.reconcile();
                vec![]
            }
            Action::Enter => match p.kind {
                PromptKind::Filter => {
                    self.prompt = None;
                    vec![]
                }
                PromptKind::Export => vec![],
                PromptKind::Range => match WindowKind::parse_range(&p.text, &self.tz, self.now_ms) {
                    Ok(w) => {
                        self.prompt = None;
                        self.ledger.window = w;
                        self.query()
                    }
                    Err(e) => {
                        p.error = Some(e);
                        vec![]
                    }
                },
            },
            Action::Quit => {
                self.quit = true;
                vec![]
            }
            _ => {
                self.dirty = false;
                vec![]
            }
        }
    }

    /// Keys in the `E` dialog: up and down choose a format, Enter writes
    /// it, a format's first letter writes that one, Esc closes.
    fn export_dialog_key(&mut self, action: Action) -> Vec<Effect> {
        let Some(p) = self.prompt.as_mut() else { return vec![] };
        let at = EXPORT_FORMATS.iter().position(|f| *f == p.text).unwrap_or(0);
        let n = EXPORT_FORMATS.len();
        match action {
            Action::Up => p.text = EXPORT_FORMATS[(at + n - 1) % n].to_string(),
            Action::Down => p.text = EXPORT_FORMATS[(at + 1) % n].to_string(),
            Action::Home => p.text = EXPORT_FORMATS[0].to_string(),
            Action::End => p.text = EXPORT_FORMATS[n - 1].to_string(),
            Action::Enter => {
                self.prompt = None;
                return self.export(EXPORT_FORMATS[at]);
            }
            Action::Input(c) => match EXPORT_FORMATS.iter().find(|f| f.starts_with(c.to_ascii_lowercase())) {
                Some(f) => {
                    self.prompt = None;
                    return self.export(f);
                }
                None => p.error = Some(format!("no format starts with '{c}': m, h, j or c")),
            },
            Action::Back => self.prompt = None,
            Action::Quit => self.quit = true,
            _ => self.dirty = false,
        }
        vec![]
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        self.urgent |=
            !matches!(action, Action::Status(_) | Action::Tick(_) | Action::LeversProgress(_) | Action::Committed);
        let dialog = self.prompt.as_ref().is_some_and(|p| p.kind == PromptKind::Export);
        let typing =
            matches!(action, Action::Input(_) | Action::Backspace | Action::Enter | Action::Back | Action::Quit)
                || (dialog && matches!(action, Action::Up | Action::Down | Action::Home | Action::End));
        if self.prompt.is_some() && typing {
            return self.prompt_key(action);
        }
        if let Some(effects) = self.lever_key(&action) {
            return effects;
        }
        match action {
            Action::Quit => {
                self.quit = true;
                vec![]
            }
            Action::Suspend => vec![Effect::Suspend],
            Action::ToggleLever => {
                self.dirty = false;
                vec![]
            }
            Action::LeversProgress(n) => {
                self.levers.read = n;
                vec![]
            }
            Action::LeversReady(generation, r) => {
                let l = &mut self.levers;
                if generation == l.generation {
                    l.running = false;
                }
                match r {
                    Ok(r) => {
                        if r.read {
                            l.loaded_ms = Some(self.now_ms);
                            l.reading = false;
                        }
                        l.result = Some(r);
                    }
                    Err(e) => {
                        // A failed read leaves no calls in memory: the next
                        // request reads them.
                        l.reading = false;
                        if generation == l.generation {
                            l.error = Some(e);
                        }
                    }
                }
                vec![]
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                vec![]
            }
            Action::NextTab => self.go_to(Tab::ALL[(self.tab.index() + 1) % Tab::ALL.len()]),
            Action::PrevTab => self.go_to(Tab::ALL[(self.tab.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]),
            Action::SelectTab(i) => match Tab::ALL.get(i) {
                Some(t) => self.go_to(*t),
                None => vec![],
            },
            Action::SliderLeft => {
                self.nudge(-SLIDERS[self.forecast.slider].step);
                vec![]
            }
            Action::SliderRight => {
                self.nudge(SLIDERS[self.forecast.slider].step);
                vec![]
            }
            Action::SliderBigLeft => {
                self.nudge(-SLIDERS[self.forecast.slider].big_step);
                vec![]
            }
            Action::SliderBigRight => {
                self.nudge(SLIDERS[self.forecast.slider].big_step);
                vec![]
            }
            Action::PrevItem => {
                self.move_forecast_item(-1);
                vec![]
            }
            Action::NextItem => {
                self.move_forecast_item(1);
                vec![]
            }
            Action::ResetSlider => {
                self.forecast.values[self.forecast.slider] = 0.0;
                vec![]
            }
            Action::ResetAll => {
                self.forecast.values = [0.0; 5];
                vec![]
            }
            Action::SaveScenario => {
                self.save_scenario();
                vec![]
            }
            Action::ClearSaved => {
                self.forecast.saved.clear();
                vec![]
            }
            Action::ToggleReplayed => {
                self.forecast.replayed = !self.forecast.replayed;
                if self.forecast.replayed && self.levers.result.is_none() && !self.levers.running {
                    return self.replay();
                }
                vec![]
            }
            Action::Up | Action::ScrollUp => self.move_selection(-1),
            Action::Down | Action::ScrollDown => self.move_selection(1),
            Action::PageUp => {
                let p = self.page();
                self.move_selection(-p)
            }
            Action::PageDown => {
                let p = self.page();
                self.move_selection(p)
            }
            Action::Home => self.move_selection(isize::MIN / 2),
            Action::End => self.move_selection(isize::MAX / 2),
            Action::CycleGroup => {
                let i = LEDGER_GROUPS.iter().position(|g| GroupBy::Dim(*g) == self.ledger.group).map_or(0, |i| i + 1);
                self.ledger.group = GroupBy::Dim(LEDGER_GROUPS[i % LEDGER_GROUPS.len()]);
                self.ledger.selected = None;
                self.ledger.drill = None;
                self.query()
            }
            Action::CycleSort => {
                let i = SORT_CYCLE.iter().position(|c| *c == self.ledger.sort).map_or(0, |i| i + 1);
                self.ledger.sort = SORT_CYCLE[i % SORT_CYCLE.len()];
                self.ledger.descending = self.ledger.sort != "key";
                vec![]
            }
            Action::ReverseSort => {
                self.ledger.descending = !self.ledger.descending;
                vec![]
            }
            Action::CycleWindow => {
                self.ledger.window = self.ledger.window.next();
                self.query()
            }
            Action::PromptRange => {
                self.prompt = Some(Prompt { kind: PromptKind::Range, text: String::new(), error: None });
                vec![]
            }
            Action::Export => self.export("md"),
            Action::PromptExport => {
                self.prompt = Some(Prompt { kind: PromptKind::Export, text: "html".into(), error: None });
                vec![]
            }
            Action::Exported(r) => {
                self.export_note = Some(match r {
                    Ok(path) => format!("exported to {path}"),
                    Err(e) => format!("export failed: {e}"),
                });
                vec![]
            }
            Action::PromptFilter => {
                let text = self.filter.clone().unwrap_or_default();
                self.prompt = Some(Prompt { kind: PromptKind::Filter, text, error: None });
                vec![]
            }
            Action::TogglePause => {
                self.paused = !self.paused;
                if self.paused { vec![] } else { self.query() }
            }
            Action::Input(_) | Action::Backspace => {
                self.dirty = false;
                vec![]
            }
            Action::Enter => match self.tab {
                Tab::Ledger => {
                    let key = self.ledger.selected.clone().or_else(|| self.ledger_ids().first().cloned());
                    if key.is_none() {
                        return vec![];
                    }
                    self.ledger.selected = key.clone();
                    self.ledger.drill = key;
                    self.query()
                }
                Tab::Live => {
                    // Open this workflow in the ledger, today, selected.
                    let Some(key) = self.live_selected.clone().or_else(|| self.list_ids().first().cloned()) else {
                        return vec![];
                    };
                    self.tab = Tab::Ledger;
                    self.filter = None;
                    self.ledger.group = GroupBy::WORKFLOW;
                    self.ledger.window = WindowKind::Today;
                    self.ledger.selected = Some(key.clone());
                    self.ledger.drill = Some(key);
                    self.query()
                }
                Tab::Gate => {
                    self.gate.cases = self.gate.selected.is_some();
                    vec![]
                }
                Tab::Sources | Tab::Forecast | Tab::Raci | Tab::Kpis | Tab::Levers => vec![],
            },
            Action::Back => {
                if self.help {
                    self.help = false;
                    return vec![];
                }
                if self.filter.is_some() {
                    self.filter = None;
                    self.reconcile();
                    return vec![];
                }
                if self.tab == Tab::Ledger && self.ledger.drill.is_some() {
                    self.ledger.drill = None;
                    return self.query();
                }
                if self.tab == Tab::Gate && self.gate.cases {
                    self.gate.cases = false;
                    return vec![];
                }
                vec![]
            }
            Action::Tick(now) => {
                self.now_ms = now;
                let since = now - self.last_query_ms;
                if self.waiting {
                    if since < QUERY_TIMEOUT_MS {
                        return vec![];
                    }
                    self.waiting = false;
                }
                if self.paused {
                    return vec![];
                }
                let due = if self.query_error.is_some() {
                    since >= RETRY_MS
                } else {
                    since >= REFRESH_MS || (self.stale && since >= COMMIT_REFRESH_MS)
                };
                if due { self.query() } else { vec![] }
            }
            Action::Committed => {
                self.stale = true;
                self.dirty = false;
                vec![]
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            Action::Click(x, y) => self.click(x, y),
            Action::DataReady(mut s) => {
                self.waiting = false;
                self.query_error = None;
                if let Some(prev) = &self.snapshot {
                    source_rates(&prev.sources.report, &mut s.sources.report);
                }
                self.snapshot = Some(*s);
                self.reconcile();
                let mut effects = self.track_runaways();
                effects.extend(self.track_alerts());
                effects
            }
            Action::QueryFailed(e) => {
                self.waiting = false;
                self.query_error = Some(e);
                vec![]
            }
            Action::Status(s) => {
                if *s == self.status {
                    self.dirty = false;
                } else {
                    self.status = *s;
                }
                vec![]
            }
        }
    }

    fn click(&mut self, x: u16, y: u16) -> Vec<Effect> {
        let g = layout::Geometry {
            width: self.size.0,
            height: self.size.1,
            notice: self.notice().is_some(),
            tab: self.tab.index(),
            drill: self.ledger.drill.is_some(),
            rows: self.list_ids().len(),
            selected: self.selected_index(),
        };
        match layout::hit(&g, x, y) {
            Hit::Tab(i) => self.update(Action::SelectTab(i)),
            Hit::Row(i) => match self.list_ids().get(i) {
                Some(k) => self.select(k.clone()),
                None => vec![],
            },
            Hit::None => {
                self.dirty = false;
                vec![]
            }
        }
    }

    /// The line above the status bar: a query error, else the last
    /// export, else the notice.
    pub fn notice(&self) -> Option<String> {
        match &self.query_error {
            Some(e) => Some(format!("{e} · retrying")),
            None => self.export_note.clone().or_else(|| self.status.notice.clone()),
        }
    }
}

fn runaway_event(workflow: &str, r: &Runaway, ended: Option<i64>) -> Event {
    Event {
        kind: "runaway".into(),
        subject: workflow.to_string(),
        started_at: r.since_ms,
        ended_at: ended,
        severity: None,
        data: serde_json::json!({
            "peak_per_hour_usd": r.peak_per_hour.to_usd_f64(),
            "peak_per_hour_nanousd": r.peak_per_hour.0,
            "cost_usd": r.cost.to_usd_f64(),
            "cost_nanousd": r.cost.0,
        }),
    }
}
