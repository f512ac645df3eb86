//! Signing keys as use cases: the ring, reloaded from the store so that a key rotated by the CLI or
//! another node is picked up; JWT verification; the JWKS; rotation.

use std::sync::Arc;

use gatehouse_domain::Kid;
use gatehouse_domain::oauth::jose::{Expiring, JoseError, KeyRing, SigningAlgorithm, generate_signing_key_for};
use serde_json::Value;

use crate::app::App;
use crate::error::AppResult;
use crate::keys::{KEY_RELOAD_MILLIS, TokenCheck, signing_algorithms};

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
        let mut ring = KeyRing::load(&self.store.signing_keys().await?, now)?;
        // First start (or every key of an algorithm retired, or ES256 newly chosen): make the keys that are
        // missing. Two nodes doing this at once each add a key; both are published and both verify.
        let mut added = false;
        for algorithm in signing_algorithms(&self.settings.oauth) {
            if !ring.can_sign(algorithm) {
                let key = generate_signing_key_for(algorithm, now)?;
                self.store.insert_signing_key(&key).await?;
                tracing::info!(kid = %key.kid, algorithm = algorithm.name(), "generated a new signing key");
                added = true;
            }
        }
        if added {
            ring = KeyRing::load(&self.store.signing_keys().await?, now)?;
        }
        let ring = Arc::new(ring);
        *slot = Some((ring.clone(), now));
        Ok(ring)
    }

    /// Verifies a JWT of the given `typ`, reloading the keys once if its `kid` is unknown here.
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
            Err(JoseError::Invalid("unknown kid")) => {
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
            self.store.insert_signing_key(&key).await?;
            kids.push(key.kid);
        }
        self.store.retire_signing_keys_except(&kids, now.plus_secs(self.settings.oauth.key_retirement_secs())).await?;
        // This node signs with the new keys at once; other nodes within their reload interval.
        self.reload_keys().await?;
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
