//! Keyed fingerprints of prompts: what the lever lab needs to see that a
//! prompt (or its stable prefix) repeats, without keeping any text.
//!
//! SipHash-2-4 (the `siphasher` crate) under a 128-bit key drawn at random
//! for each ledger: it is a pseudo-random function, so a fingerprint
//! reveals nothing of its text to someone without the key, and the same
//! text gives unrelated fingerprints in two ledgers unless they share the
//! key. Each component goes in with its length, so that moving text
//! between components changes the fingerprint.

use std::hash::Hasher;

use siphasher::sip::SipHasher24;

use super::record::PromptText;

/// A ledger's fingerprint key (the secret; stored only in its ledger).
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 16]);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FingerprintKey({})", self.id())
    }
}

impl FingerprintKey {
    /// From the 32 hex digits the ledger stores.
    pub fn from_hex(s: &str) -> Option<FingerprintKey> {
        let s = s.trim();
        if s.len() != 32 {
            return None;
        }
        let mut k = [0u8; 16];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(FingerprintKey(k))
    }

    /// A name for the key that does not reveal it (to tell keys apart).
    pub fn id(&self) -> String {
        let mut h = SipHasher24::new_with_key(&self.0);
        h.write(b"aifin fingerprint key id");
        format!("{:016x}", h.finish())
    }

    fn hash(&self, parts: &[&str]) -> i64 {
        let mut h = SipHasher24::new_with_key(&self.0);
        for p in parts {
            h.write(&(p.len() as u64).to_le_bytes());
            h.write(p.as_bytes());
        }
        h.finish() as i64
    }

    /// (the stable prefix: system and tools, when there is one; the whole
    /// prompt: every input component), or `None` for an empty prompt.
    pub fn prompt(&self, t: &PromptText) -> Option<(Option<i64>, i64)> {
        let input = &t.parts[..5];
        if input.iter().all(String::is_empty) {
            return None;
        }
        let prefix = (!t.parts[0].is_empty() || !t.parts[1].is_empty()).then(|| self.hash(&[&t.parts[0], &t.parts[1]]));
        let all: Vec<&str> = input.iter().map(String::as_str).collect();
        Some((prefix, self.hash(&all)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(system: &str, user: &str) -> PromptText {
        let mut t = PromptText::default();
        t.parts[0] = system.into();
        t.parts[4] = user.into();
        t
    }

    #[test]
    fn equal_texts_match_under_one_key_and_not_across_keys() {
        let a = FingerprintKey::from_hex("000102030405060708090a0b0c0d0e0f").unwrap();
        let b = FingerprintKey::from_hex("f0e0d0c0b0a090807060504030201000").unwrap();
        let (p1, w1) = a.prompt(&text("You are terse.", "hi")).unwrap();
        let (p2, w2) = a.prompt(&text("You are terse.", "bye")).unwrap();
        assert_eq!(p1, p2, "the same system prompt is one prefix");
        assert_ne!(w1, w2, "other user text is another prompt");
        let (p3, w3) = b.prompt(&text("You are terse.", "hi")).unwrap();
        assert_ne!((p1, w1), (p3, w3), "another key, unrelated fingerprints");
        assert_ne!(a.id(), b.id());
        // Moving text between components changes the fingerprint.
        let mut moved = PromptText::default();
        moved.parts[1] = "You are terse.".into();
        moved.parts[4] = "hi".into();
        assert_ne!(a.prompt(&moved).unwrap().0, p1);
        assert_eq!(a.prompt(&PromptText::default()), None);
        assert_eq!(a.prompt(&text("", "hi")).unwrap().0, None, "no system or tools: no prefix");
        // SipHash-2-4 of the reference vector (key 00..0f, empty input) is
        // 0x726fdb47dd0e0e31: the hash is the standard one.
        let mut h = SipHasher24::new_with_key(&a.0);
        h.write(&[]);
        assert_eq!(h.finish(), 0x726f_db47_dd0e_0e31);
        assert!(FingerprintKey::from_hex("zz").is_none());
    }
}
