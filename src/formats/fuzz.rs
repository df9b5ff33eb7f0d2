//! Property tests of every parser (proptest, bounded to run in seconds
//! under `cargo test`): arbitrary bytes and mutations of real lines of
//! every format never panic, a line is always either records, a skip or a
//! reject with a reason, and every record passes the shared invariants.

use proptest::prelude::*;

use super::{Detector, Parsed};
use crate::domain::record::{CallRecord, Format};

/// One real line of each format (from the test fixtures).
fn seeds() -> Vec<&'static str> {
    let files = [
        include_str!("../../tests/fixtures/formats/native.jsonl"),
        include_str!("../../tests/fixtures/formats/openai.jsonl"),
        include_str!("../../tests/fixtures/formats/anthropic.jsonl"),
        include_str!("../../tests/fixtures/formats2/litellm.jsonl"),
        include_str!("../../tests/fixtures/formats2/otel.jsonl"),
        include_str!("../../tests/fixtures/formats2/batch.jsonl"),
        include_str!("../../tests/fixtures/claude-code/projects/-Users-dev-shop/s1.jsonl"),
    ];
    files.iter().flat_map(|f| f.lines().filter(|l| !l.trim().is_empty())).collect()
}

/// Parses with detection and with every format forced; checks what came out.
fn check(line: &[u8]) {
    let forced = Format::ALL.map(Some);
    for f in std::iter::once(None).chain(forced) {
        let mut out: Vec<CallRecord> = Vec::new();
        let mut d = Detector::new(f);
        match d.parse_line(line, &mut out) {
            Ok(Parsed::Outcome) => assert!(out.is_empty() && d.take_outcome().is_some()),
            Ok(Parsed::Calls(_, n)) => {
                assert_eq!(out.len(), n);
                for r in &out {
                    assert!(!r.model.is_empty());
                    assert!(r.tokens.reasoning <= r.tokens.output);
                    assert!(r.latency_ms.is_none_or(|l| l <= super::common::MAX_LATENCY_MS));
                    assert!(r.reported_cost.is_none_or(|c| c.0 >= 0));
                }
            }
            Ok(Parsed::Skip(why)) => assert!(out.is_empty() && !why.is_empty()),
            Err(e) => assert!(out.is_empty() && !e.reason.is_empty()),
        }
    }
}

/// A mutation of a line: flip, delete, insert or duplicate bytes, or cut.
fn mutate(line: &[u8], ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut v = line.to_vec();
    for (op, at, byte) in ops {
        if v.is_empty() {
            v.push(*byte);
            continue;
        }
        let i = at % v.len();
        match op % 6 {
            0 => v[i] ^= 1 << (byte % 8),
            1 => {
                v.remove(i);
            }
            2 => v.insert(i, *byte),
            3 => v.truncate(i),
            4 => {
                // A digit run made huge or negative.
                v.splice(i..i, b"-99999999999999999999".iter().copied());
            }
            _ => {
                let chunk: Vec<u8> = v[i..(i + 8).min(v.len())].to_vec();
                v.splice(i..i, chunk);
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(&bytes);
    }

    #[test]
    fn arbitrary_json_objects_never_panic(s in "\\{(\"[a-z_.]{1,12}\":( ?-?[0-9]{1,25}(\\.[0-9]{1,4})?|\"[^\"\\\\]{0,20}\"|null|true|\\[\\]|\\{\\}),?){0,8}\\}") {
        check(s.as_bytes());
    }

    #[test]
    fn mutations_of_real_lines_never_panic(
        which in 0usize..1000,
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let seeds = seeds();
        let line = seeds[which % seeds.len()].as_bytes();
        check(&mutate(line, &ops));
    }
}

#[test]
fn the_seeds_cover_every_format_and_parse() {
    let mut seen = std::collections::BTreeSet::new();
    for l in seeds() {
        let mut out = Vec::new();
        if let Ok(Parsed::Calls(f, _)) = Detector::new(None).parse_line(l.as_bytes(), &mut out) {
            seen.insert(f.as_str());
        }
    }
    for f in ["aifin", "openai", "anthropic", "litellm", "otel", "openai-batch", "claude-code"] {
        assert!(seen.contains(f), "no seed line of {f}: {seen:?}");
    }
}
