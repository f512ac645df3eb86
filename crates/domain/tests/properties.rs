//! Property tests (proptest) of the rules an attacker would try to bend with odd input: scope sets, the
//! masking of listed tokens, and PKCE. Each property states the rule; proptest looks for a counterexample.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_domain::oauth::pkce::{CodeChallenge, is_valid_verifier, s256_challenge};
use gatehouse_domain::{ApiToken, ApiTokenSecret, Scope, ScopeSet, SeededRandom, Timestamp, TokenLabel, UserId};
use proptest::prelude::*;

fn scope_set() -> impl Strategy<Value = ScopeSet> {
    let catalog: Vec<Scope> = ScopeSet::catalog().collect();
    proptest::collection::vec(proptest::sample::select(catalog), 0..20).prop_map(|scopes| {
        let mut set = ScopeSet::EMPTY;
        for scope in scopes {
            set.insert(scope);
        }
        set
    })
}

proptest! {
    /// RFC 6749 §3.3, §6: a request may only narrow what was granted; what exceeds is named exactly.
    #[test]
    fn narrowing_accepts_exactly_the_subsets(requested in scope_set(), granted in scope_set()) {
        match requested.narrowing(granted) {
            Ok(kept) => {
                prop_assert_eq!(kept, requested);
                prop_assert!(requested.iter().all(|scope| granted.contains(scope)));
            }
            Err(excess) => {
                prop_assert!(!excess.is_empty());
                prop_assert!(excess.iter().all(|scope| requested.contains(scope) && !granted.contains(scope)));
                prop_assert_eq!(excess.union(requested.intersection(granted)), requested);
            }
        }
    }

    #[test]
    fn set_algebra_holds(a in scope_set(), b in scope_set()) {
        prop_assert!(a.intersection(b).is_subset_of(a) && a.intersection(b).is_subset_of(b));
        prop_assert!(a.is_subset_of(a.union(b)) && b.is_subset_of(a.union(b)));
        prop_assert!(a.difference(b).intersection(b).is_empty());
        prop_assert_eq!(a.difference(b).union(a.intersection(b)), a);
        prop_assert_eq!(a.union(b).len() + a.intersection(b).len(), a.len() + b.len());
    }

    /// Names round-trip, in the catalog's order, without duplicates, whatever the order and repetition sent.
    #[test]
    fn names_round_trip(set in scope_set(), repeat in 1usize..3) {
        let mut names: Vec<&str> = set.names();
        names.reverse();
        let repeated: Vec<&str> = names.iter().flat_map(|name| std::iter::repeat_n(*name, repeat)).collect();
        let parsed = ScopeSet::parse_names(repeated.iter().copied()).unwrap();
        prop_assert_eq!(parsed, set);
        prop_assert_eq!(parsed.names().len(), set.len());
    }

    /// One unknown name refuses the whole list: a typo never yields a quietly narrower token.
    #[test]
    fn one_unknown_name_refuses_the_list(set in scope_set(), unknown in "[a-z:]{0,20}") {
        prop_assume!(!ScopeSet::catalog().any(|scope| scope.name() == unknown));
        let mut names = set.names();
        names.push(&unknown);
        prop_assert!(ScopeSet::parse_names(names.iter().copied()).is_err());
    }

    /// A listed token shows its first UUID group and nothing more of the secret.
    #[test]
    fn masking_reveals_only_the_prefix(seed in any::<u64>()) {
        let secret = ApiTokenSecret::generate(&SeededRandom::new(seed));
        let revealed = secret.reveal();
        let token = ApiToken {
            user_id: UserId(1),
            created: Timestamp::from_millis(0),
            label: TokenLabel::parse("t").unwrap(),
            scopes: ScopeSet::EMPTY,
            hash: secret.hash(),
            prefix: secret.prefix(),
            zone: "zone".into(),
            expires_at: None,
            last_used: None,
        };
        let masked = token.masked();
        prop_assert_eq!(masked.len(), revealed.len());
        prop_assert!(masked.starts_with(&revealed[..8]));
        for (shown, real) in masked.chars().zip(revealed.chars()).skip(8) {
            prop_assert!(shown == '-' || shown == '*', "masked {} shows {} of {}", masked, shown, real);
        }
    }

    /// RFC 7636 §4.6: a grammatical verifier verifies against its own S256 challenge and no other.
    #[test]
    fn pkce_verifies_only_its_own_verifier(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        other in "[A-Za-z0-9._~-]{43,128}",
    ) {
        let challenge = CodeChallenge::parse(Some(&s256_challenge(&verifier)), Some("S256")).unwrap();
        prop_assert!(challenge.verify(&verifier));
        prop_assert_eq!(challenge.verify(&other), other == verifier);
    }

    /// Outside §4.1's grammar nothing verifies, even a verifier whose hash is the challenge itself.
    #[test]
    fn pkce_refuses_ungrammatical_verifiers(verifier in ".{0,200}") {
        prop_assume!(!is_valid_verifier(&verifier));
        let challenge = CodeChallenge::parse(Some(&s256_challenge(&verifier)), Some("S256"));
        if let Ok(challenge) = challenge {
            prop_assert!(!challenge.verify(&verifier));
        }
    }

    /// RFC 9700 §2.1.1: only S256, whatever else is sent as the method.
    #[test]
    fn pkce_accepts_only_s256(method in ".{0,10}", verifier in "[A-Za-z0-9]{43}") {
        let parsed = CodeChallenge::parse(Some(&s256_challenge(&verifier)), Some(&method));
        prop_assert_eq!(parsed.is_ok(), method == "S256");
    }
}
