//! JWT parsing and verification (domain/oauth/jose.rs): any text as a compact JWS against a ring holding
//! one RS256 and one ES256 key. Invariants: no panic, and nothing verifies unless a ring key signed it;
//! the corpus seeds (fuzz/seeds/jwt) are real tokens, so mutations explore near-valid headers and claims.
#![no_main]

use std::sync::LazyLock;

use gatehouse_domain::Timestamp;
use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims, ID_TOKEN_TYP, IdTokenClaims, KeyRing, SigningAlgorithm, generate_signing_key_for, peek_typ};
use libfuzzer_sys::fuzz_target;

static RING: LazyLock<Option<KeyRing>> = LazyLock::new(|| {
    let now = Timestamp::from_millis(1_700_000_000_000);
    let rs = generate_signing_key_for(SigningAlgorithm::Rs256, now).ok()?;
    let es = generate_signing_key_for(SigningAlgorithm::Es256, now).ok()?;
    KeyRing::load(&[rs, es], now).ok()
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let Some(ring) = RING.as_ref() else { return };
    let now = Timestamp::from_millis(1_700_000_100_000);
    let _ = peek_typ(token);
    // The ring's keys are fresh per process and never leave it: no input can carry their signature.
    assert!(ring.verify::<AccessTokenClaims>(token, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now).is_err());
    assert!(ring.verify::<IdTokenClaims>(token, ID_TOKEN_TYP, "https://issuer", None, now).is_err());
});
