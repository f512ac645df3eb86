//! Randomness is a parameter, like time: every secret and identifier is drawn from a [`Random`], so that
//! tests can seed it and production reads the operating system's CSPRNG.
//!
//! Signing-key generation is the one exception: aws-lc draws its own key material, which is what a key
//! needs and what no test wants to predict.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

pub trait Random: Send + Sync + 'static {
    /// Fills `bytes` with random bytes.
    fn fill(&self, bytes: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`). The only place in Gatehouse that reads it.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    #[allow(clippy::disallowed_types, reason = "the one place that reads the OS's randomness")]
    fn fill(&self, bytes: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(bytes);
    }
}

/// A deterministic generator for tests: the same seed gives the same secrets, in the same order.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Random for SeededRandom {
    fn fill(&self, bytes: &mut [u8]) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).fill_bytes(bytes);
    }
}

/// `N` random bytes.
pub fn bytes<const N: usize>(random: &dyn Random) -> [u8; N] {
    let mut out = [0u8; N];
    random.fill(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_repeats_its_sequence_and_two_seeds_differ() {
        let (a, b, c) = (SeededRandom::new(7), SeededRandom::new(7), SeededRandom::new(8));
        let first: [u8; 16] = bytes(&a);
        assert_eq!(first, bytes::<16>(&b));
        assert_ne!(first, bytes::<16>(&c));
        assert_ne!(first, bytes::<16>(&a), "the sequence moves on");
    }
}
