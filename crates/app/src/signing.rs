//! Signing keys as use cases: the ring, reloaded from the store so that a key rotated by the CLI or
//! another node is picked up; JWT verification; the JWKS; rotation.

use std::sync::Arc;

use gatehouse_domain::Kid;
use gatehouse_domain::oauth::SigningKeyRecord;
use gatehouse_domain::oauth::jose::{Expiring, JoseError, KeyRing, SigningAlgorithm, generate_signing_key_for};
use gatehouse_domain::secrets::is_sealed;
use serde_json::Value;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::keys::{KEY_RELOAD_MILLIS, KeyProtection, TokenCheck, signing_algorithms};

const NO_SECRETS_KEY: &str = "no secrets key is configured, so the signing keys can be neither read nor written: \
    set GATEHOUSE_SECRETS_KEY or secrets_key_file (or --insecure-dev-keys for development)";

/// What was done to the stored signing keys by [`App::protect_signing_keys`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reencrypted {
    /// Keys that were in clear (written before encryption at rest) and are now sealed.
    pub sealed_from_plaintext: usize,
    /// Keys sealed under an older secrets key and now sealed under the first.
    pub resealed: usize,
}

impl App {
    /// The current key ring, loading it (and generating the first keys on first start) when needed.
    pub async fn key_ring(&self) -> AppResult<Arc<KeyRing>> {
        let now = self.clock.now();
        if let Some((ring, loaded)) = self.keys.ring.read().await.as_ref()
            && now.as_millis() - loaded.as_millis() < KEY_RELOAD_MILLIS
        {
            return Ok(ring.clone());
        }
        self.reload_keys().await
    }

    pub async fn reload_keys(&self) -> AppResult<Arc<KeyRing>> {
        let mut slot = self.keys.ring.write().await;
        let now = self.clock.now();
        let mut ring = KeyRing::load(&self.opened_signing_keys().await?, now)?;
        // First start (or every key of an algorithm retired, or ES256 newly chosen): make the keys that are
        // missing. Two nodes doing this at once each add a key; both are published and both verify.
        let mut added = false;
        for algorithm in signing_algorithms(&self.settings.oauth) {
            if !ring.can_sign(algorithm) {
                let key = generate_signing_key_for(algorithm, now)?;
                self.store.insert_signing_key(&self.sealed(&key)?).await?;
                tracing::info!(kid = %key.kid, algorithm = algorithm.name(), "generated a new signing key");
                let details = gatehouse_domain::AuditDetails::new().target(&key.kid).kids([key.kid.as_str()]);
                let event = self.audit_event(gatehouse_domain::AuditKind::SigningKeyGenerated, gatehouse_domain::AuditActor::System);
                self.record(event.with(details)).await;
                added = true;
            }
        }
        if added {
            ring = KeyRing::load(&self.opened_signing_keys().await?, now)?;
        }
        let ring = Arc::new(ring);
        *slot = Some((ring.clone(), now));
        Ok(ring)
    }

    /// Every stored key with its private half opened, for the ring.
    async fn opened_signing_keys(&self) -> AppResult<Vec<SigningKeyRecord>> {
        self.keys.reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.store.signing_keys().await?.into_iter().map(|record| self.opened(record)).collect()
    }

    /// A key's private half as the store keeps it: sealed under the first secrets key (the `kid` is the
    /// associated data, so a sealed key cannot be moved to another row), or in clear in development.
    fn sealed(&self, key: &SigningKeyRecord) -> AppResult<SigningKeyRecord> {
        let private_pkcs8 = match &self.settings.key_protection {
            KeyProtection::Sealed(secrets) => secrets
                .seal(&key.private_pkcs8, key.kid.as_str().as_bytes(), self.random.as_ref())
                .map_err(|error| AppError::Internal(format!("sealing signing key {}: {error}", key.kid)))?,
            KeyProtection::InsecurePlaintext => key.private_pkcs8.clone(),
            KeyProtection::Missing => return Err(AppError::Internal(NO_SECRETS_KEY.into())),
        };
        Ok(SigningKeyRecord { private_pkcs8, ..key.clone() })
    }

    /// The inverse of [`sealed`](Self::sealed). A key still in clear (written before encryption at rest)
    /// is read as it is: `protect_signing_keys` seals it at start.
    fn opened(&self, record: SigningKeyRecord) -> AppResult<SigningKeyRecord> {
        if !is_sealed(&record.private_pkcs8) {
            return match self.settings.key_protection {
                KeyProtection::Missing => Err(AppError::Internal(NO_SECRETS_KEY.into())),
                _ => Ok(record),
            };
        }
        let KeyProtection::Sealed(secrets) = &self.settings.key_protection else {
            return Err(AppError::Internal(format!(
                "signing key {} is encrypted at rest; give the secrets key that sealed it (GATEHOUSE_SECRETS_KEY or secrets_key_file)",
                record.kid
            )));
        };
        let private_pkcs8 = secrets
            .open(&record.private_pkcs8, record.kid.as_str().as_bytes())
            .map_err(|error| AppError::Internal(format!("opening signing key {}: {error}", record.kid)))?;
        Ok(SigningKeyRecord { private_pkcs8, ..record })
    }

    /// Encrypts the stored signing keys under the first secrets key: those still in clear (a store written
    /// before encryption at rest: `serve` does this at every start), and with `every_key` also those
    /// sealed under an older secrets key (`gatehouse keys reencrypt`, the second step of rotating the
    /// secrets key). Tokens the keys signed keep verifying: the keys themselves do not change.
    pub async fn protect_signing_keys(&self, every_key: bool) -> AppResult<Reencrypted> {
        let KeyProtection::Sealed(secrets) = &self.settings.key_protection else {
            return match self.settings.key_protection {
                KeyProtection::Missing => Err(AppError::Internal(NO_SECRETS_KEY.into())),
                _ => Ok(Reencrypted::default()),
            };
        };
        let mut done = Reencrypted::default();
        for record in self.store.signing_keys().await? {
            let plaintext = !is_sealed(&record.private_pkcs8);
            if !plaintext && (!every_key || secrets.sealed_under_first(&record.private_pkcs8)) {
                continue;
            }
            let resealed = self.sealed(&self.opened(record)?)?;
            self.store.replace_signing_key_material(&resealed.kid, &resealed.private_pkcs8).await?;
            if plaintext {
                done.sealed_from_plaintext += 1;
            } else {
                done.resealed += 1;
            }
        }
        Ok(done)
    }

    /// Verifies a JWT of the given `typ`, reloading the keys if its `kid` is unknown here, at most once per
    /// [`crate::keys::UNKNOWN_KID_RELOAD_MILLIS`].
    pub async fn verify_jwt<T: serde::de::DeserializeOwned + Expiring>(
        &self,
        token: &str,
        typ: &str,
        audience: Option<&str>,
    ) -> Result<T, TokenCheck> {
        let now = self.clock.now();
        let issuer = &self.settings.issuer;
        let ring = self.key_ring().await?;
        match ring.verify::<T>(token, typ, issuer, audience, now) {
            Err(JoseError::Invalid("unknown kid")) if self.keys.may_reload_for_unknown_kid(now) => {
                let ring = self.reload_keys().await?;
                Ok(ring.verify::<T>(token, typ, issuer, audience, now)?)
            }
            other => Ok(other?),
        }
    }

    /// The public keys, for `/oauth/v2/oidc/jwks`.
    pub async fn jwks(&self) -> AppResult<Value> {
        Ok(self.key_ring().await?.jwks())
    }

    /// Rotates the signing keys: new keys (one per algorithm in use) sign from now on; the others stop
    /// signing and stay published until every token they signed has expired. Returns the new keys' ids,
    /// RS256's first.
    pub async fn rotate_keys(&self) -> AppResult<Vec<Kid>> {
        let now = self.clock.now();
        let mut kids = Vec::new();
        for algorithm in signing_algorithms(&self.settings.oauth) {
            let key = generate_signing_key_for(algorithm, now)?;
            self.store.insert_signing_key(&self.sealed(&key)?).await?;
            kids.push(key.kid);
        }
        self.store.retire_signing_keys_except(&kids, now.plus_secs(self.settings.oauth.key_retirement_secs())).await?;
        // This node signs with the new keys at once; other nodes within their reload interval.
        self.reload_keys().await?;
        let details = gatehouse_domain::AuditDetails::new().kids(kids.iter().map(Kid::as_str));
        self.audit(gatehouse_domain::AuditKind::SigningKeyRotated, None, None, details).await;
        Ok(kids)
    }

    /// The stored keys, newest last, for `gatehouse keys list`.
    pub async fn signing_keys(&self) -> AppResult<Vec<gatehouse_domain::oauth::SigningKeyRecord>> {
        Ok(self.store.signing_keys().await?)
    }

    pub(crate) fn access_token_algorithm(&self) -> SigningAlgorithm {
        self.keys.access_token_algorithm
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims};
    use gatehouse_domain::secrets::{SecretsKeys, is_sealed};
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::keys::UNKNOWN_KID_RELOAD_MILLIS;
    use crate::testing::{TEST_SECRETS_KEY, TestApp, test_key_protection};

    /// Hole 7 (issue 10): a store written before encryption at rest (keys in clear, exactly as the old
    /// code wrote them) is sealed in place when a node starts with a secrets key, and the tokens signed
    /// before the upgrade still verify. Without the key, the copy of the database signs nothing.
    #[tokio::test]
    async fn hole7_upgrading_seals_plaintext_signing_keys_in_place_and_old_tokens_still_verify() {
        let old = TestApp::with_key_protection(KeyProtection::InsecurePlaintext).await;
        let consented = old.consented("user:read").await;
        let before = old.tokens(&consented, "user:read").await;
        let clear = old.store.signing_keys().await.unwrap();
        assert!(!clear.is_empty() && clear.iter().all(|key| !is_sealed(&key.private_pkcs8)), "the old code's rows");

        let upgraded = old.reopened(test_key_protection());
        let done = upgraded.protect_signing_keys(false).await.unwrap();
        assert_eq!(done.sealed_from_plaintext, clear.len());
        let sealed = upgraded.store.signing_keys().await.unwrap();
        for (key, was) in sealed.iter().zip(&clear) {
            assert!(is_sealed(&key.private_pkcs8), "{} sealed in place", key.kid);
            assert!(!key.private_pkcs8.windows(32).any(|window| window == &was.private_pkcs8[..32]), "no clear bytes left");
        }
        assert!(upgraded.verify_access_token(&before.access_token).await.is_ok(), "a token from before the upgrade");
        assert_eq!(upgraded.protect_signing_keys(false).await.unwrap(), Reencrypted::default(), "idempotent");

        let without_key = old.reopened(KeyProtection::InsecurePlaintext);
        assert!(without_key.key_ring().await.is_err(), "a copy of the database without the secrets key signs nothing");
        let missing = old.reopened(KeyProtection::Missing);
        assert!(missing.key_ring().await.is_err());
    }

    /// Rotating the secrets key: the new one first, `keys reencrypt`, then the old one can go.
    #[tokio::test]
    async fn reencrypting_moves_every_key_under_the_first_secrets_key() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let before = app.tokens(&consented, "user:read").await;
        let new_secret = "a-brand-new-secrets-key-for-rotation-0123456789";
        let both = SecretsKeys::from_secrets([new_secret, TEST_SECRETS_KEY]).unwrap();
        let rotating = app.reopened(KeyProtection::Sealed(Arc::new(both)));
        let done = rotating.protect_signing_keys(true).await.unwrap();
        assert!(done.resealed > 0 && done.sealed_from_plaintext == 0, "{done:?}");
        let only_new = SecretsKeys::from_secrets([new_secret]).unwrap();
        let rotated = app.reopened(KeyProtection::Sealed(Arc::new(only_new)));
        assert!(rotated.verify_access_token(&before.access_token).await.is_ok(), "the old secret is no longer needed");
    }

    /// Hole 9 (issue 10): a flood of tokens with unknown `kid`s reloads the ring at most once per interval,
    /// by the injected clock.
    #[tokio::test]
    async fn hole9_a_flood_of_unknown_kids_reloads_the_keys_at_most_once_per_interval() {
        let app = TestApp::new().await;
        let consented = app.consented("user:read").await;
        let tokens = app.tokens(&consented, "user:read").await;
        let (verified, _) = app.verify_access_token(&tokens.access_token).await.unwrap();
        let claims: AccessTokenClaims = verified.claims.clone();
        let token = app.key_ring().await.unwrap().sign(ACCESS_TOKEN_TYP, &claims).unwrap();
        // {"alg":"RS256","typ":"at+jwt","kid":"no-such-kid"}, base64url.
        let unknown_kid = format!("eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Im5vLXN1Y2gta2lkIn0.{}", token.split_once('.').unwrap().1);
        let reloads = || app.keys.reloads.load(Ordering::Relaxed);
        let start = reloads();
        for _ in 0..100 {
            assert!(app.verify_jwt::<AccessTokenClaims>(&unknown_kid, ACCESS_TOKEN_TYP, None).await.is_err());
        }
        assert_eq!(reloads() - start, 1, "one reload for the whole flood");
        app.clock.advance_millis(UNKNOWN_KID_RELOAD_MILLIS);
        for _ in 0..100 {
            assert!(app.verify_jwt::<AccessTokenClaims>(&unknown_kid, ACCESS_TOKEN_TYP, None).await.is_err());
        }
        assert_eq!(reloads() - start, 2, "and one more in the next interval");
    }
}
