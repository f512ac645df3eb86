//! JOSE: RS256 keys, the JWKS, and signing and verifying RFC 9068 access tokens and OIDC ID tokens.
//!
//! RSA keys are generated and used through aws-lc-rs (via `jsonwebtoken`'s `aws_lc_rs` backend), which
//! avoids the pure-Rust `rsa` crate's timing advisory. `exp` is checked here against our [`Clock`]'s time
//! rather than by `jsonwebtoken` against the wall clock, so that tests control expiry.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::time::Timestamp;

use super::grant::SigningKeyRecord;

/// RFC 9068 §2.1: the `typ` of a JWT access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
pub const ID_TOKEN_TYP: &str = "JWT";

#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    #[error("key generation failed")]
    KeyGeneration,
    #[error("stored key is unusable: {0}")]
    BadKey(String),
    #[error("no signing key")]
    NoKey,
    #[error("signing failed: {0}")]
    Signing(String),
    /// The token is not valid. The reason is for logs and tests, never for a response body.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
}

/// A new RSA-2048 key. Its `kid` is the RFC 7638 thumbprint of its public JWK.
pub fn generate_signing_key(now: Timestamp) -> Result<SigningKeyRecord, JoseError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| JoseError::KeyGeneration)?;
    let der = pair.as_der().map_err(|_| JoseError::KeyGeneration)?;
    let (n, e) = public_components(&pair);
    Ok(SigningKeyRecord { kid: thumbprint(&n, &e), private_pkcs8: der.as_ref().to_vec(), created: now, retire_at: None })
}

fn public_components(pair: &KeyPair) -> (String, String) {
    let public = pair.public_key();
    (
        URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
    )
}

/// RFC 7638 §3.2: SHA-256 over the required members in lexicographic order, without whitespace.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

struct LoadedKey {
    kid: String,
    n: String,
    e: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    created: Timestamp,
    retire_at: Option<Timestamp>,
}

/// The keys currently trusted, newest first. The newest unretired key signs.
pub struct KeyRing {
    keys: Vec<LoadedKey>,
}

impl KeyRing {
    /// Loads every key that is still trusted at `now`.
    pub fn load(records: &[SigningKeyRecord], now: Timestamp) -> Result<Self, JoseError> {
        let mut keys = Vec::new();
        for record in records {
            if record.retire_at.is_some_and(|at| at <= now) {
                continue;
            }
            let pair = KeyPair::from_pkcs8(&record.private_pkcs8).map_err(|e| JoseError::BadKey(e.to_string()))?;
            let (n, e) = public_components(&pair);
            // jsonwebtoken's aws-lc backend takes PKCS#1; its PEM reader unwraps PKCS#8 for us.
            let pem = pkcs8_pem(&record.private_pkcs8);
            let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| JoseError::BadKey(e.to_string()))?;
            let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| JoseError::BadKey(e.to_string()))?;
            keys.push(LoadedKey {
                kid: record.kid.clone(),
                n,
                e,
                encoding,
                decoding,
                created: record.created,
                retire_at: record.retire_at,
            });
        }
        keys.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.kid.cmp(&b.kid)));
        Ok(Self { keys })
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    pub fn has_signing_key(&self) -> bool {
        self.signing_key().is_some()
    }

    fn signing_key(&self) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.retire_at.is_none())
    }

    /// The public JWK Set (RFC 7517 §5), every trusted key with its `kid`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .map(|k| serde_json::json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": k.n, "e": k.e }))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, JoseError> {
        let key = self.signing_key().ok_or(JoseError::NoKey)?;
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(typ.to_string());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| JoseError::Signing(e.to_string()))
    }

    /// Verifies signature, algorithm, `typ`, `iss`, and `aud` when given. `exp` is the caller's to check
    /// with its clock (see [`Expiring`]).
    pub fn verify<T: DeserializeOwned + Expiring>(
        &self,
        token: &str,
        expected_typ: &str,
        issuer: &str,
        audience: Option<&str>,
        now: Timestamp,
    ) -> Result<T, JoseError> {
        // `decode_header` refuses `alg: none` and every algorithm name it does not know.
        let header = jsonwebtoken::decode_header(token).map_err(|_| JoseError::Invalid("malformed header"))?;
        if header.alg != Algorithm::RS256 {
            return Err(JoseError::Invalid("algorithm is not RS256"));
        }
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(expected_typ) || typ.eq_ignore_ascii_case(&format!("application/{expected_typ}"))
        });
        if !typ_ok {
            return Err(JoseError::Invalid("wrong typ"));
        }
        let kid = header.kid.ok_or(JoseError::Invalid("no kid"))?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or(JoseError::Invalid("unknown kid"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer]);
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<T>(token, &key.decoding, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::InvalidSignature => JoseError::Invalid("bad signature"),
                ErrorKind::InvalidIssuer => JoseError::Invalid("wrong issuer"),
                ErrorKind::InvalidAudience => JoseError::Invalid("wrong audience"),
                _ => JoseError::Invalid("malformed token"),
            }
        })?;
        if data.claims.exp() <= now.as_secs() {
            return Err(JoseError::Invalid("expired"));
        }
        Ok(data.claims)
    }
}

fn pkcs8_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// Claims with an `exp`, checked against the server's clock.
pub trait Expiring {
    fn exp(&self) -> i64;
}

/// RFC 9068 §2.2 access token claims, plus the organization chosen at consent and the token family.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user id, or the client id for client credentials (RFC 9068 §2.2).
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    /// Space-delimited (RFC 9068 §2.2.3, RFC 8693 §4.2).
    pub scope: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    /// The organization the user chose at consent; the API limits the token to it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org_id: Option<i64>,
    /// The token family; revoking the family makes this token fail at once.
    pub fam: String,
}

impl Expiring for AccessTokenClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// OIDC Core §2 ID token claims, with the standard profile and email claims when those scopes were granted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub profile: serde_json::Map<String, serde_json::Value>,
}

impl Expiring for IdTokenClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// OIDC Core §3.1.3.6: the left half of SHA-256 of the access token's ASCII, base64url.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://issuer".into(),
            sub: "1".into(),
            aud: "zone".into(),
            client_id: "c".into(),
            scope: "teams:read".into(),
            exp,
            iat: 0,
            jti: "j".into(),
            auth_time: None,
            org_id: Some(1),
            fam: "f".into(),
        }
    }

    #[test]
    fn sign_and_verify_round_trip_with_the_clock_deciding_expiry() {
        let record = generate_signing_key(Timestamp::from_millis(0)).unwrap();
        let ring = KeyRing::load(&[record], Timestamp::from_millis(0)).unwrap();
        let token = ring.sign(ACCESS_TOKEN_TYP, &claims(100)).unwrap();
        let now = Timestamp::from_millis(99_000);
        let back: AccessTokenClaims = ring.verify(&token, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now).unwrap();
        assert_eq!(back.org_id, Some(1));
        assert!(ring.verify::<AccessTokenClaims>(&token, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), Timestamp::from_millis(100_000)).is_err());
        assert!(ring.verify::<AccessTokenClaims>(&token, ACCESS_TOKEN_TYP, "https://other", Some("zone"), now).is_err());
        assert!(ring.verify::<AccessTokenClaims>(&token, ACCESS_TOKEN_TYP, "https://issuer", Some("other"), now).is_err());
        assert!(ring.verify::<AccessTokenClaims>(&token, ID_TOKEN_TYP, "https://issuer", Some("zone"), now).is_err());
        let jwks = ring.jwks();
        assert_eq!(jwks["keys"][0]["kid"], ring.kids()[0]);
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
    }

    #[test]
    fn alg_none_and_tampering_are_refused() {
        let record = generate_signing_key(Timestamp::from_millis(0)).unwrap();
        let ring = KeyRing::load(&[record], Timestamp::from_millis(0)).unwrap();
        let token = ring.sign(ACCESS_TOKEN_TYP, &claims(100)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, ring.kids()[0]));
        let forged = format!("{none_header}.{}.", parts[1]);
        let now = Timestamp::from_millis(0);
        assert!(ring.verify::<AccessTokenClaims>(&forged, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now).is_err());
        let mut payload = claims(100);
        payload.scope = "admin:write".into();
        let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap()), parts[2]);
        assert!(ring.verify::<AccessTokenClaims>(&tampered, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now).is_err());
    }

    #[test]
    fn retired_keys_drop_out_of_the_ring() {
        let mut old = generate_signing_key(Timestamp::from_millis(0)).unwrap();
        let new = generate_signing_key(Timestamp::from_millis(10)).unwrap();
        old.retire_at = Some(Timestamp::from_millis(1000));
        let ring = KeyRing::load(&[old.clone(), new.clone()], Timestamp::from_millis(500)).unwrap();
        assert_eq!(ring.kids(), vec![new.kid.as_str(), old.kid.as_str()]);
        let ring = KeyRing::load(&[old, new.clone()], Timestamp::from_millis(1000)).unwrap();
        assert_eq!(ring.kids(), vec![new.kid.as_str()]);
    }

    #[test]
    fn at_hash_matches_the_oidc_example_shape() {
        assert_eq!(at_hash("x").len(), 22);
    }
}
