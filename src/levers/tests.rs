//! Each lever on hand-built calls, expected costs worked out by hand from
//! the shipped catalog's per-token prices (written next to each case).

use super::*;

fn catalog() -> Arc<Catalog> {
    static C: std::sync::OnceLock<Arc<Catalog>> = std::sync::OnceLock::new();
    Arc::clone(C.get_or_init(|| Arc::new(Catalog::embedded())))
}

fn call(model: &str, uncached: u64, cache_read: u64, output: u64, key: i64) -> Call {
    let tokens = Tokens { uncached_input: uncached, cache_read, output, ..Tokens::default() };
    let mut c = Call {
        ts: 1_790_812_800_000,
        dedupe_key: key,
        model: model.into(),
        workflow: "w".into(),
        team: "t".into(),
        customer: "acme".into(),
        tokens,
        ..Call::default()
    };
    // The stored cost: what the ledger would hold (checked against the
    // hand figures below through the replay with no lever).
    let mut p = Pricer::new(catalog());
    let (_, e) = p.resolve(None, model).expect("a priced model");
    let input = CostInput { tokens, ts_ms: Some(c.ts), ..CostInput::default() };
    c.cost = crate::pricing::cost::compute(&e, &input).map(|c| c.total);
    c
}

fn set(compress: Option<&str>, route: Option<&str>, cap: Option<&str>) -> LeverSet {
    LeverSet {
        compress: compress.map(|s| Compress::parse(s).unwrap()),
        route: route.map(|s| Route::parse(s).unwrap()),
        cap: cap.map(|s| Cap::parse(s).unwrap()),
        cache: None,
    }
}

fn caching(spec: &str) -> LeverSet {
    LeverSet { cache: Some(Cache::parse(spec).unwrap()), ..LeverSet::default() }
}

/// A claude-sonnet-4-5 call at `minute` with a 2,000-token system prompt
/// (the prefix) and a 500-token user turn, 100 output tokens.
fn sonnet(minute: i64, key: i64, prompt: i64) -> Call {
    let mut c = call("claude-sonnet-4-5", 2_500, 0, 100, key);
    c.ts += minute * 60_000;
    c.parts = Some([2_000, 0, 0, 0, 500]);
    c.prefix = Some(7);
    c.prompt = Some(prompt);
    c
}

fn run(calls: &[Call], l: &LeverSet) -> Outcome {
    replay(&CallSet::from_calls(calls), l, catalog(), &|_, _| false).unwrap().total
}

#[test]
fn no_lever_replays_the_stored_cost() {
    // gpt-4o: 1000 x $2.5/M + 2000 x $1.25/M + 500 x $10/M = $0.01.
    let c = call("gpt-4o", 1000, 2000, 500, 1);
    assert_eq!(c.cost, Some(Nanos(10_000_000)));
    let o = run(&[c], &LeverSet::default());
    assert_eq!((o.stored, o.replayed, o.composed), (Nanos(10_000_000), Nanos(10_000_000), Nanos(10_000_000)));
    assert_eq!(o.composed_saving(), Nanos(0));
}

#[test]
fn compression_below_a_long_context_tier_gets_the_lower_rate() {
    // gemini-2.5-pro over 200k prompt tokens: 250,000 x $2.5/M + 1,000 x
    // $15/M = $0.640. Cut 30%: 175,000 x $1.25/M + 1,000 x $10/M = $0.22875.
    let c = call("gemini-2.5-pro", 250_000, 0, 1_000, 1);
    assert_eq!(c.cost, Some(Nanos(640_000_000)));
    let o = run(&[c], &set(Some("input=30%"), None, None));
    assert_eq!(o.single[&Lever::Compression], (Nanos(228_750_000), 1));
    assert_eq!(o.saving(Lever::Compression), Some(Nanos(411_250_000)));
}

#[test]
fn compressing_components_scales_them_to_the_input_and_cuts_cached_system_first() {
    // Composition: system 600, history 400 of a reported 2,000 input
    // (1,000 uncached, 1,000 cache read). system=50% cuts 600 x 2000/1000
    // x 0.5 = 600 tokens, off the cache reads first: 1,000 x $2.5/M + 400 x
    // $1.25/M = $0.003 (was $0.00375).
    let mut c = call("gpt-4o", 1000, 1000, 0, 1);
    c.parts = Some([600, 0, 0, 400, 0]);
    assert_eq!(c.cost, Some(Nanos(3_750_000)));
    let mut no_parts = call("gpt-4o", 1000, 1000, 0, 2);
    no_parts.workflow = "other".into();
    let r = replay(&CallSet::from_calls(&[c, no_parts]), &set(Some("system=50"), None, None), catalog(), &|_, _| false)
        .unwrap();
    assert_eq!(r.workflows["w"].single[&Lever::Compression].0, Nanos(3_000_000));
    // Without a composition (and no input=), the call is not measurable.
    assert_eq!(r.workflows["other"].not_measurable, 1);
    assert_eq!(r.workflows["other"].saving(Lever::Compression), Some(Nanos(0)));
}

#[test]
fn routing_to_a_model_without_cache_prices_prices_cache_reads_as_input() {
    // gpt-3.5-turbo has no cache price: 3,000 x $0.5/M + 500 x $1.5/M =
    // $0.00225 (gpt-4o: $0.01).
    let c = call("gpt-4o", 1000, 2000, 500, 1);
    let o = run(std::slice::from_ref(&c), &set(None, Some("to=gpt-3.5-turbo"), None));
    assert_eq!(o.single[&Lever::Routing], (Nanos(2_250_000), 1));
    // A filter the call fails leaves it where it was.
    let o = run(std::slice::from_ref(&c), &set(None, Some("to=gpt-3.5-turbo,if-output-le=400"), None));
    assert_eq!(o.single[&Lever::Routing], (Nanos(10_000_000), 0));
    let o = run(std::slice::from_ref(&c), &set(None, Some("to=gpt-3.5-turbo,customer=glob*"), None));
    assert_eq!(o.single[&Lever::Routing].1, 0);
    // Twice the tokens on the target: 6,000 x $0.5/M + 1,000 x $1.5/M.
    let o = run(&[c], &set(None, Some("to=gpt-3.5-turbo,ratio=2"), None));
    assert_eq!(o.single[&Lever::Routing].0, Nanos(4_500_000));
}

#[test]
fn a_share_of_calls_is_routed_the_same_every_run() {
    let calls: Vec<Call> = (0..1000).map(|k| call("gpt-4o", 100, 0, 10, k)).collect();
    let l = set(None, Some("to=gpt-4o-mini,share=30%"), None);
    let a = run(&calls, &l);
    let b = run(&calls, &l);
    assert_eq!(a, b);
    let routed = a.single[&Lever::Routing].1;
    assert!((250..350).contains(&routed), "{routed} of 1000 at 30%");
    assert_eq!(run(&calls, &set(None, Some("to=gpt-4o-mini,share=0"), None)).single[&Lever::Routing].1, 0);
}

#[test]
fn an_unpriced_target_is_a_clear_error() {
    let c = call("gpt-4o", 1000, 0, 10, 1);
    let e = replay(&CallSet::from_calls(&[c]), &set(None, Some("to=no-such-model-x"), None), catalog(), &|_, _| false)
        .unwrap_err();
    assert!(e.to_string().contains("no-such-model-x") && e.to_string().contains("aifin prices"), "{e}");
}

#[test]
fn caps_clip_input_uncached_first_and_output() {
    // input <= 2500: 500 off uncached: 500 x $2.5/M + 2000 x $1.25/M + 500 x
    // $10/M = $0.00875; with output <= 300: $0.00675.
    let c = call("gpt-4o", 1000, 2000, 500, 1);
    assert_eq!(
        run(std::slice::from_ref(&c), &set(None, None, Some("input=2500"))).single[&Lever::Policy].0,
        Nanos(8_750_000)
    );
    assert_eq!(
        run(std::slice::from_ref(&c), &set(None, None, Some("input=2500,output=300"))).single[&Lever::Policy].0,
        Nanos(6_750_000)
    );
    // A call under the caps is not touched.
    assert_eq!(run(&[c], &set(None, None, Some("input=5000"))).single[&Lever::Policy].1, 0);
}

#[test]
fn percentile_caps_are_the_workflows_nearest_rank() {
    let mut v = vec![400, 100, 300, 200];
    assert_eq!(percentile(&mut v, 50), 200);
    assert_eq!(percentile(&mut v, 95), 400);
    assert_eq!(percentile(&mut v, 1), 100);
    // Inputs 100..=400 (output 0): p50 = 200 clips the two larger calls.
    let calls: Vec<Call> =
        [100, 200, 300, 400].iter().enumerate().map(|(i, n)| call("gpt-4o", *n, 0, 0, i as i64)).collect();
    let o = run(&calls, &set(None, None, Some("input=p50")));
    // 100 + 200 + 200 + 200 tokens x $2.5/M.
    assert_eq!(o.single[&Lever::Policy], (Nanos(1_750_000), 2));
}

#[test]
fn levers_compose_in_order_and_the_naive_sum_overstates() {
    // Policy first: input 3000 -> 2500 (uncached 500). Compression 20% of
    // 2500 = 500 off uncached (0 left). Routing: 2000 x $0.5/M + 500 x
    // $1.5/M = $0.00175. (Compressing first would leave 2,400 tokens and
    // cost $0.00195.)
    let c = call("gpt-4o", 1000, 2000, 500, 1);
    let o = run(&[c], &set(Some("input=20"), Some("to=gpt-3.5-turbo"), Some("input=2500")));
    assert_eq!(o.composed, Nanos(1_750_000));
    assert_eq!(o.composed_saving(), Nanos(8_250_000));
    // Alone: policy saves $0.00125, compression $0.0015 (600 tokens off
    // uncached), routing $0.00775: $0.0105, more than the whole call.
    assert_eq!(o.saving(Lever::Policy), Some(Nanos(1_250_000)));
    assert_eq!(o.saving(Lever::Compression), Some(Nanos(1_500_000)));
    assert_eq!(o.saving(Lever::Routing), Some(Nanos(7_750_000)));
    assert_eq!(o.naive_sum(), Nanos(10_500_000));
}

#[test]
fn proven_savings_compose_only_the_promoted_levers() {
    let c = call("gpt-4o", 1000, 2000, 500, 1);
    let l = set(Some("input=20"), Some("to=gpt-3.5-turbo"), Some("input=2500"));
    let r = replay(&CallSet::from_calls(&[c]), &l, catalog(), &|lever, _| lever == Lever::Compression).unwrap();
    assert_eq!(r.total.proven_saving(), Nanos(1_500_000));
}

#[test]
fn unpriced_calls_stay_out_of_every_figure() {
    let mut c = call("gpt-4o", 1000, 0, 0, 1);
    c.cost = None;
    let o = run(&[c], &set(Some("input=50"), None, None));
    assert_eq!((o.calls, o.unpriced_calls, o.replayed), (0, 1, Nanos(0)));
}

#[test]
fn flags_parse_with_clear_errors() {
    assert_eq!(spec::parse_pct("--x", "30").unwrap(), 3000);
    assert_eq!(spec::parse_pct("--x", "30%").unwrap(), 3000);
    assert_eq!(spec::parse_pct("--x", "12.5%").unwrap(), 1250);
    assert!(spec::parse_pct("--x", "101").unwrap_err().to_string().contains("over 100%"));
    assert!(spec::parse_pct("--x", "-5").is_err());
    assert!(spec::parse_pct("--x", "1e3").is_err());
    assert!(Compress::parse("prompt=30").unwrap_err().to_string().contains("unknown component 'prompt'"));
    assert!(Route::parse("share=30").unwrap_err().to_string().contains("to=MODEL"));
    assert!(Cap::parse("input=p0").unwrap_err().to_string().contains("p1 to p100"));
    assert!(Cap::parse("output=2k").unwrap_err().to_string().contains("whole number"));
    assert_eq!(Cap::parse("input=p95,output=2000").unwrap().input, Some(Limit::Percentile(95)));
}

#[test]
fn a_prefix_is_written_then_read_within_its_ttl_and_written_again_after() {
    // claude-sonnet-4-5: input $3/M, 5-minute write $3.75/M, 1-hour write
    // $6/M, read $0.30/M, output $15/M. Each call without caching: 2,500 x
    // $3/M + 100 x $15/M = $0.009.
    let calls = [sonnet(0, 1, 1), sonnet(4, 2, 2), sonnet(10, 3, 3)];
    assert_eq!(calls[0].cost, Some(Nanos(9_000_000)));
    // 5 min: write ($0.0015 + 2,000 x $3.75/M + $0.0015 = $0.0105), read 4
    // min later ($0.0015 + 2,000 x $0.30/M + $0.0015 = $0.0036), then 6 min
    // after that the cache is cold: written again ($0.0105).
    let r = replay(&CallSet::from_calls(&calls), &caching("prefix=5m"), catalog(), &|_, _| false).unwrap();
    assert_eq!(r.total.single[&Lever::Caching], (Nanos(24_600_000), 3));
    let s = r.cache.unwrap();
    assert_eq!((s.measurable, s.prefix_writes, s.prefix_hits), (3, 2, 1));
    // 1 hour: one write at $6/M ($0.015), then two reads ($0.0036 each).
    let r = replay(&CallSet::from_calls(&calls), &caching("prefix=1h"), catalog(), &|_, _| false).unwrap();
    assert_eq!(r.total.single[&Lever::Caching].0, Nanos(22_200_000));
}

#[test]
fn an_exact_repeat_within_the_response_ttl_costs_nothing() {
    // The same prompt at 0, 5 and 12 minutes with a 10-minute response
    // cache: the second is free, the third is past the TTL of the first.
    let calls = [sonnet(0, 1, 42), sonnet(5, 2, 42), sonnet(12, 3, 42)];
    let r = replay(&CallSet::from_calls(&calls), &caching("response=10m"), catalog(), &|_, _| false).unwrap();
    assert_eq!(r.total.single[&Lever::Caching], (Nanos(18_000_000), 1));
    assert_eq!(r.cache.unwrap().response_hits, 1);
}

#[test]
fn calls_without_fingerprints_small_prefixes_and_cached_calls_are_left_alone() {
    let mut small = sonnet(1, 2, 2);
    small.parts = Some([500, 0, 0, 0, 2_000]); // a 500-token prefix
    let mut cached = sonnet(2, 3, 3);
    cached.tokens.cache_read = 100;
    let mut blind = sonnet(3, 4, 4);
    blind.prefix = None;
    blind.prompt = None;
    let calls = [sonnet(0, 1, 1), small, cached, blind];
    let r = replay(&CallSet::from_calls(&calls), &caching("prefix=5m"), catalog(), &|_, _| false).unwrap();
    let s = r.cache.unwrap();
    assert_eq!((s.measurable, s.not_measurable, s.already_cached, s.prefix_writes, s.prefix_hits), (3, 1, 1, 1, 0));
    assert_eq!(r.total.single[&Lever::Caching].1, 1, "only the first call changes (its prefix is written)");
    assert!(Cache::parse("prefix=10m").unwrap_err().to_string().contains("5m or 1h"));
    assert!(Cache::parse("response=soon").is_err());
}

#[test]
fn each_model_caches_from_its_own_minimum_prefix() {
    // claude-haiku-4-5 caches prefixes of 4,096 tokens or more: two calls
    // 4 minutes apart with a 2,000-token prefix stay as they are. Each:
    // 2,500 x $1/M + 100 x $5/M = $0.003.
    let haiku = |minute: i64, key: i64| {
        let mut c = call("claude-haiku-4-5", 2_500, 0, 100, key);
        c.ts += minute * 60_000;
        c.parts = Some([2_000, 0, 0, 0, 500]);
        c.prefix = Some(7);
        c.prompt = Some(key);
        c
    };
    let calls = [haiku(0, 1), haiku(4, 2)];
    assert_eq!(calls[0].cost, Some(Nanos(3_000_000)));
    let r = replay(&CallSet::from_calls(&calls), &caching("prefix=5m"), catalog(), &|_, _| false).unwrap();
    assert_eq!(r.total.single[&Lever::Caching], (Nanos(6_000_000), 0));
    assert_eq!(r.cache.unwrap().prefix_writes, 0);
    // `min_cacheable_tokens = 1024` under [pricing.models]: written ($0.0005
    // + 2,000 x $1.25/M + $0.0005 = $0.0035), then read ($0.0005 + 2,000 x
    // $0.10/M + $0.0005 = $0.0012).
    let mut over = serde_json::Map::new();
    over.insert("min_cacheable_tokens".into(), 1024.into());
    let cat = Arc::new(Catalog::embedded().with_config(
        std::collections::HashMap::from([("claude-haiku-4-5".to_string(), over)]),
        std::collections::HashMap::new(),
    ));
    let r = replay(&CallSet::from_calls(&calls), &caching("prefix=5m"), cat, &|_, _| false).unwrap();
    assert_eq!(r.total.single[&Lever::Caching], (Nanos(4_700_000), 2));
    assert_eq!(r.cache.unwrap().prefix_hits, 1);
}

#[test]
fn both_ttls_are_replayed_and_the_break_even_comes_from_the_prices() {
    // The calls of the prefix test (0, 4 and 10 minutes): without caching
    // 3 x $0.009 = $0.027. 5 min: $0.0246 (two writes, one read), saving
    // $0.0024; 1 h: $0.0222 (one write, two reads), saving $0.0048.
    let calls = [sonnet(0, 1, 1), sonnet(4, 2, 2), sonnet(10, 3, 3)];
    let t = compare_ttls(&CallSet::from_calls(&calls), &Cache::parse("prefix=5m").unwrap(), catalog(), None).unwrap();
    assert_eq!(t.five_min, TtlSide { saving: Nanos(2_400_000), writes: 2, hits: 1 });
    assert_eq!(t.one_hour, TtlSide { saving: Nanos(4_800_000), writes: 1, hits: 2 });
    let m = &t.models[0];
    assert_eq!((m.model.as_str(), m.writes_5m, m.writes_1h), ("claude-sonnet-4-5", 2, 1));
    // Writes $3.75/M and $6/M, read $0.30/M over input $3/M: 1.25x, 2x,
    // 0.1x; 1 h pays when it saves 1 - 1.15/1.9 = 39.5% of the 5-minute
    // writes; it saved one of two.
    assert!((m.write_5m_x - 1.25).abs() < 1e-9 && (m.write_1h_x - 2.0).abs() < 1e-9 && (m.read_x - 0.1).abs() < 1e-9);
    assert!((m.break_even().unwrap() - (1.0 - 1.15 / 1.9)).abs() < 1e-9);
    assert_eq!(m.turned(), Some(0.5));
}
