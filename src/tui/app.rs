//! The cockpit's state and its pure `update`: an [`Action`] in, state
//! changed, [`Effect`]s out for the event loop to run. No I/O happens here,
//! so every interaction can be tested without a terminal.

use jiff::tz::TimeZone;

use super::data::{QueryParams, Snapshot, WindowKind};
use super::layout::{self, Hit};
use crate::store::queries::GroupBy;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Live,
    Ledger,
    Sources,
    Forecast,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Live, Tab::Ledger, Tab::Sources, Tab::Forecast];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Live => "Live",
            Tab::Ledger => "Ledger",
            Tab::Sources => "Sources",
            Tab::Forecast => "Forecast",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Ledger columns that can be sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortCol {
    Cost,
    Calls,
    InputTokens,
    AvgInput,
    CostPerCall,
    Unpriced,
    Key,
}

impl SortCol {
    pub const ALL: [SortCol; 7] = [
        SortCol::Cost,
        SortCol::Calls,
        SortCol::InputTokens,
        SortCol::AvgInput,
        SortCol::CostPerCall,
        SortCol::Unpriced,
        SortCol::Key,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortCol::Cost => "cost",
            SortCol::Calls => "calls",
            SortCol::InputTokens => "input tokens",
            SortCol::AvgInput => "avg input",
            SortCol::CostPerCall => "cost/call",
            SortCol::Unpriced => "unpriced",
            SortCol::Key => "name",
        }
    }

    fn next(self) -> SortCol {
        let i = SortCol::ALL.iter().position(|s| *s == self).unwrap_or(0);
        SortCol::ALL[(i + 1) % SortCol::ALL.len()]
    }
}

/// Groupings the ledger tab cycles through with `g`.
pub const LEDGER_GROUPS: [GroupBy; 4] = [GroupBy::Workflow, GroupBy::Team, GroupBy::Customer, GroupBy::Model];

#[derive(Clone, Debug, PartialEq)]
pub struct LedgerState {
    pub group: GroupBy,
    pub sort: SortCol,
    pub descending: bool,
    pub window: WindowKind,
    pub selected: usize,
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
    }
}

/// A scenario kept for comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedScenario {
    pub workflow: String,
    pub values: [f64; 5],
    pub today_nanos: i64,
    pub cost_nanos: i64,
}

/// Scenarios kept at most (the oldest is dropped).
pub const MAX_SAVED: usize = 6;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastState {
    /// Index into the forecast items (0: all workflows).
    pub item: usize,
    /// The slider that arrows move.
    pub slider: usize,
    pub values: [f64; 5],
    pub saved: Vec<SavedScenario>,
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
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Quit,
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
    /// Left / right arrows: previous / next tab, or move a slider.
    Left,
    Right,
    /// Shift + arrows: a big slider step.
    BigLeft,
    BigRight,
    /// `[` / `]`: previous / next workflow in the forecast.
    PrevItem,
    NextItem,
    ResetSlider,
    ResetAll,
    SaveScenario,
    ClearSaved,
    Enter,
    Back,
    ToggleHelp,
    /// Time passes (epoch ms).
    Tick(i64),
    Resize(u16, u16),
    Click(u16, u16),
    ScrollUp,
    ScrollDown,
    /// New rows were committed to the ledger.
    Committed,
    DataReady(Box<Snapshot>),
    Status(Box<Status>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Read a new snapshot with these parameters.
    Query(QueryParams),
}

pub struct App {
    pub tab: Tab,
    pub live_selected: usize,
    pub ledger: LedgerState,
    pub sources_selected: usize,
    pub forecast: ForecastState,
    pub help: bool,
    pub quit: bool,
    pub now_ms: i64,
    pub tz: TimeZone,
    pub size: (u16, u16),
    pub snapshot: Option<Snapshot>,
    /// Lines per second per source, from the last two snapshots.
    pub source_rates: Vec<f64>,
    pub status: Status,
    /// New data was committed since the last snapshot was asked for.
    pub stale: bool,
    /// When the last snapshot was asked for.
    pub last_query_ms: i64,
    pub waiting: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
}

/// How often the views refresh without new data (time moves the windows).
pub const REFRESH_MS: i64 = 5_000;
/// How often at most new commits trigger a refresh.
pub const COMMIT_REFRESH_MS: i64 = 500;

impl App {
    pub fn new(now_ms: i64, tz: TimeZone, status: Status) -> App {
        App {
            tab: Tab::Live,
            live_selected: 0,
            ledger: LedgerState {
                group: GroupBy::Workflow,
                sort: SortCol::Cost,
                descending: true,
                window: WindowKind::Today,
                selected: 0,
                drill: None,
            },
            sources_selected: 0,
            forecast: ForecastState::default(),
            help: false,
            quit: false,
            now_ms,
            tz,
            size: (80, 24),
            snapshot: None,
            source_rates: Vec::new(),
            status,
            stale: true,
            last_query_ms: i64::MIN / 2,
            waiting: false,
            dirty: true,
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
        }
    }

    fn query(&mut self) -> Vec<Effect> {
        self.stale = false;
        self.waiting = true;
        self.last_query_ms = self.now_ms;
        vec![Effect::Query(self.params())]
    }

    /// Rows in the ledger table (for selection bounds).
    pub fn ledger_rows(&self) -> usize {
        self.snapshot.as_ref().map(|s| s.ledger.rows.len()).unwrap_or(0)
    }

    fn rows_in_tab(&self) -> usize {
        match self.tab {
            Tab::Live => self.snapshot.as_ref().map(|s| s.live.workflows.len()).unwrap_or(0),
            Tab::Ledger => self.ledger_rows(),
            Tab::Sources => self.snapshot.as_ref().map(|s| s.sources.sources.len()).unwrap_or(0),
            Tab::Forecast => SLIDERS.len(),
        }
    }

    /// Items of the forecast tab (all workflows, then each).
    pub fn forecast_items(&self) -> usize {
        self.snapshot.as_ref().and_then(|s| s.forecast.as_ref()).map(|f| f.items.len()).unwrap_or(0)
    }

    /// Switches tab; the forecast tab asks for its data when it has none.
    fn go_to(&mut self, t: Tab) -> Vec<Effect> {
        self.tab = t;
        let missing = self.snapshot.as_ref().is_none_or(|s| s.forecast.is_none());
        if t == Tab::Forecast && missing && !self.waiting { self.query() } else { vec![] }
    }

    /// Moves the selected slider by `delta` (in memory only: the view
    /// recomputes the projection from the loaded drivers).
    fn nudge(&mut self, delta: f64) {
        let s = SLIDERS[self.forecast.slider];
        let v = &mut self.forecast.values[self.forecast.slider];
        *v = (*v + delta).clamp(s.min, s.max);
    }

    fn save_scenario(&mut self) {
        let Some(item) =
            self.snapshot.as_ref().and_then(|s| s.forecast.as_ref()).and_then(|f| f.items.get(self.forecast.item))
        else {
            return;
        };
        let d = &item.measured.drivers;
        let p = crate::forecast::project(d, &scenario_of(&self.forecast.values));
        let saved = SavedScenario {
            workflow: item.measured.workflow.clone().unwrap_or_else(|| "all workflows".into()),
            values: self.forecast.values,
            today_nanos: d.monthly_cost_nanos,
            cost_nanos: p.projected_monthly_cost_nanousd,
        };
        if self.forecast.saved.len() == MAX_SAVED {
            self.forecast.saved.remove(0);
        }
        self.forecast.saved.push(saved);
    }

    fn selected_mut(&mut self) -> &mut usize {
        match self.tab {
            Tab::Live => &mut self.live_selected,
            Tab::Ledger => &mut self.ledger.selected,
            Tab::Sources => &mut self.sources_selected,
            Tab::Forecast => &mut self.forecast.slider,
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let n = self.rows_in_tab();
        let sel = self.selected_mut();
        if n == 0 {
            *sel = 0;
            return;
        }
        let v = (*sel as isize + delta).clamp(0, n as isize - 1);
        *sel = v as usize;
    }

    fn page(&self) -> isize {
        (self.size.1 as isize - 8).max(1)
    }

    /// The ledger key of the selected row, in the displayed order.
    pub fn selected_ledger_key(&self) -> Option<String> {
        let s = self.snapshot.as_ref()?;
        let order = super::view::ledger_order(&s.ledger, self.ledger.sort, self.ledger.descending);
        order.get(self.ledger.selected).map(|i| s.ledger.rows[*i].key.clone())
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        match action {
            Action::Quit => {
                self.quit = true;
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
            Action::Left | Action::Right | Action::BigLeft | Action::BigRight if self.tab == Tab::Forecast => {
                let s = SLIDERS[self.forecast.slider];
                let d = match action {
                    Action::Left => -s.step,
                    Action::Right => s.step,
                    Action::BigLeft => -s.big_step,
                    _ => s.big_step,
                };
                self.nudge(d);
                vec![]
            }
            Action::Left => self.update(Action::PrevTab),
            Action::Right => self.update(Action::NextTab),
            Action::BigLeft | Action::BigRight => vec![],
            Action::PrevItem | Action::NextItem if self.tab == Tab::Forecast => {
                let n = self.forecast_items();
                if n > 0 {
                    let i = self.forecast.item;
                    self.forecast.item = if action == Action::NextItem { (i + 1) % n } else { (i + n - 1) % n };
                }
                vec![]
            }
            Action::ResetSlider if self.tab == Tab::Forecast => {
                self.forecast.values[self.forecast.slider] = 0.0;
                vec![]
            }
            Action::ResetAll if self.tab == Tab::Forecast => {
                self.forecast.values = [0.0; 5];
                vec![]
            }
            Action::SaveScenario if self.tab == Tab::Forecast => {
                self.save_scenario();
                vec![]
            }
            Action::ClearSaved if self.tab == Tab::Forecast => {
                self.forecast.saved.clear();
                vec![]
            }
            Action::PrevItem
            | Action::NextItem
            | Action::ResetSlider
            | Action::ResetAll
            | Action::SaveScenario
            | Action::ClearSaved => {
                self.dirty = false;
                vec![]
            }
            Action::Up => {
                self.move_selection(-1);
                vec![]
            }
            Action::Down => {
                self.move_selection(1);
                vec![]
            }
            Action::PageUp => {
                let p = self.page();
                self.move_selection(-p);
                vec![]
            }
            Action::PageDown => {
                let p = self.page();
                self.move_selection(p);
                vec![]
            }
            Action::Home => {
                *self.selected_mut() = 0;
                vec![]
            }
            Action::End => {
                let n = self.rows_in_tab();
                *self.selected_mut() = n.saturating_sub(1);
                vec![]
            }
            Action::ScrollUp => self.update(Action::Up),
            Action::ScrollDown => self.update(Action::Down),
            Action::CycleGroup if self.tab == Tab::Ledger => {
                let i = LEDGER_GROUPS.iter().position(|g| *g == self.ledger.group).unwrap_or(0);
                self.ledger.group = LEDGER_GROUPS[(i + 1) % LEDGER_GROUPS.len()];
                self.ledger.selected = 0;
                self.ledger.drill = None;
                self.query()
            }
            Action::CycleSort if self.tab == Tab::Ledger => {
                self.ledger.sort = self.ledger.sort.next();
                self.ledger.descending = self.ledger.sort != SortCol::Key;
                vec![]
            }
            Action::ReverseSort if self.tab == Tab::Ledger => {
                self.ledger.descending = !self.ledger.descending;
                vec![]
            }
            Action::CycleWindow if self.tab == Tab::Ledger => {
                self.ledger.window = self.ledger.window.next();
                self.query()
            }
            Action::CycleGroup | Action::CycleSort | Action::ReverseSort | Action::CycleWindow => vec![],
            Action::Enter => match self.tab {
                Tab::Ledger => {
                    self.ledger.drill = self.selected_ledger_key();
                    self.query()
                }
                Tab::Live => {
                    // Open this workflow in the ledger, today.
                    let key = self
                        .snapshot
                        .as_ref()
                        .and_then(|s| s.live.workflows.get(self.live_selected))
                        .map(|w| w.workflow.clone());
                    if key.is_none() {
                        return vec![];
                    }
                    self.tab = Tab::Ledger;
                    self.ledger.group = GroupBy::Workflow;
                    self.ledger.window = WindowKind::Today;
                    self.ledger.drill = key;
                    self.query()
                }
                Tab::Sources | Tab::Forecast => vec![],
            },
            Action::Back => {
                if self.help {
                    self.help = false;
                    return vec![];
                }
                if self.tab == Tab::Ledger && self.ledger.drill.is_some() {
                    self.ledger.drill = None;
                    return self.query();
                }
                vec![]
            }
            Action::Tick(now) => {
                self.now_ms = now;
                let due = now - self.last_query_ms >= REFRESH_MS
                    || (self.stale && now - self.last_query_ms >= COMMIT_REFRESH_MS);
                if due && !self.waiting { self.query() } else { vec![] }
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
            Action::Click(x, y) => match layout::hit(self, x, y) {
                Hit::Tab(i) => self.update(Action::SelectTab(i)),
                Hit::Row(i) => {
                    let n = self.rows_in_tab();
                    if i < n {
                        *self.selected_mut() = i;
                    }
                    vec![]
                }
                Hit::None => {
                    self.dirty = false;
                    vec![]
                }
            },
            Action::DataReady(s) => {
                self.waiting = false;
                if let Some(prev) = &self.snapshot {
                    self.source_rates =
                        super::view::source_rates(&prev.sources, &s.sources, s.params.now_ms - prev.params.now_ms);
                }
                self.snapshot = Some(*s);
                let n = self.rows_in_tab();
                let sel = self.selected_mut();
                if *sel >= n {
                    *sel = n.saturating_sub(1);
                }
                let items = self.forecast_items();
                if self.forecast.item >= items {
                    self.forecast.item = 0;
                }
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
}
