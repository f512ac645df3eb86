//! JOSE: signing keys, the JWKS, and signing and verifying RFC 9068 access tokens and OIDC ID tokens.
//!
//! ID tokens are RS256 (Make documents only RS256). Access tokens are RS256 by default, which every
//! RFC 9068 resource server must support (§2.1); an operator may choose ES256 for them, which signs many
//! times faster. Keys are generated and used through aws-lc-rs (via `jsonwebtoken`'s `aws_lc_rs`
//! backend), which avoids the pure-Rust `rsa` crate's timing advisory. `exp` is checked here against our [`Clock`]'s time
//! rather than by `jsonwebtoken` against the wall clock, so that tests control expiry.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{FamilyId, Jti, Kid, OrganizationId};
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

/// The JWS algorithms Gatehouse signs with (RFC 7518 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, on RSA-2048 keys.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
}

impl SigningAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    fn jwa(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// A new RSA-2048 key for RS256. Its `kid` is the RFC 7638 thumbprint of its public JWK.
pub fn generate_signing_key(now: Timestamp) -> Result<SigningKeyRecord, JoseError> {
    generate_signing_key_for(SigningAlgorithm::Rs256, now)
}

/// A new key for `algorithm`. Its `kid` is the RFC 7638 thumbprint of its public JWK.
pub fn generate_signing_key_for(algorithm: SigningAlgorithm, now: Timestamp) -> Result<SigningKeyRecord, JoseError> {
    let private_pkcs8 = match algorithm {
        SigningAlgorithm::Rs256 => {
            let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| JoseError::KeyGeneration)?;
            pair.as_der().map_err(|_| JoseError::KeyGeneration)?.as_ref().to_vec()
        }
        SigningAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| JoseError::KeyGeneration)?;
            pair.to_pkcs8v1().map_err(|_| JoseError::KeyGeneration)?.as_ref().to_vec()
        }
    };
    let public = PublicJwk::of_pkcs8(&private_pkcs8)?;
    Ok(SigningKeyRecord { kid: Kid(public.thumbprint()), private_pkcs8, created: now, retire_at: None })
}

/// The public half of a stored key, as JWK members (RFC 7517, RFC 7518 §6).
enum PublicJwk {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
}

impl PublicJwk {
    /// Reads a stored PKCS#8 private key: RSA, or ECDSA P-256.
    fn of_pkcs8(der: &[u8]) -> Result<Self, JoseError> {
        if let Ok(pair) = KeyPair::from_pkcs8(der) {
            let public = pair.public_key();
            return Ok(Self::Rsa {
                n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            });
        }
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| JoseError::BadKey("neither an RSA nor a P-256 PKCS#8 key".into()))?;
        // SEC 1 §2.3.3 uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(JoseError::BadKey("unexpected P-256 public key encoding".into()));
        }
        Ok(Self::Ec { x: URL_SAFE_NO_PAD.encode(&point[1..33]), y: URL_SAFE_NO_PAD.encode(&point[33..65]) })
    }

    fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Rsa { .. } => SigningAlgorithm::Rs256,
            Self::Ec { .. } => SigningAlgorithm::Es256,
        }
    }

    /// RFC 7638 §3.2: SHA-256 over the required members in lexicographic order, without whitespace.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            Self::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    fn decoding_key(&self) -> Result<DecodingKey, JoseError> {
        match self {
            Self::Rsa { n, e } => DecodingKey::from_rsa_components(n, e),
            Self::Ec { x, y } => DecodingKey::from_ec_components(x, y),
        }
        .map_err(|e| JoseError::BadKey(e.to_string()))
    }

    fn encoding_key(&self, der: &[u8]) -> Result<EncodingKey, JoseError> {
        match self {
            // jsonwebtoken's aws-lc backend takes PKCS#1; its PEM reader unwraps PKCS#8 for us.
            Self::Rsa { .. } => EncodingKey::from_rsa_pem(pkcs8_pem(der).as_bytes()).map_err(|e| JoseError::BadKey(e.to_string())),
            Self::Ec { .. } => Ok(EncodingKey::from_ec_der(der)),
        }
    }

    fn to_jwk(&self, kid: &Kid) -> serde_json::Value {
        match self {
            Self::Rsa { n, e } => serde_json::json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e }),
            Self::Ec { x, y } => {
                serde_json::json!({ "kty": "EC", "use": "sig", "alg": "ES256", "kid": kid, "crv": "P-256", "x": x, "y": y })
            }
        }
    }
}

struct LoadedKey {
    kid: Kid,
    public: PublicJwk,
    algorithm: SigningAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    created: Timestamp,
    retire_at: Option<Timestamp>,
}

/// The keys currently trusted, newest first. For each algorithm, the newest unretired key signs.
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
            let public = PublicJwk::of_pkcs8(&record.private_pkcs8)?;
            keys.push(LoadedKey {
                kid: record.kid.clone(),
                algorithm: public.algorithm(),
                encoding: public.encoding_key(&record.private_pkcs8)?,
                decoding: public.decoding_key()?,
                public,
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

    /// Whether some unretired key signs with `algorithm`.
    pub fn can_sign(&self, algorithm: SigningAlgorithm) -> bool {
        self.signing_key(algorithm).is_some()
    }

    fn signing_key(&self, algorithm: SigningAlgorithm) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.retire_at.is_none() && k.algorithm == algorithm)
    }

    /// The public JWK Set (RFC 7517 §5), every trusted key with its `kid`.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self.keys.iter().map(|k| k.public.to_jwk(&k.kid)).collect();
        serde_json::json!({ "keys": keys })
    }

    /// Signs with RS256, as ID tokens always are.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, JoseError> {
        self.sign_with(SigningAlgorithm::Rs256, typ, claims)
    }

    pub fn sign_with<T: Serialize>(&self, algorithm: SigningAlgorithm, typ: &str, claims: &T) -> Result<String, JoseError> {
        let key = self.signing_key(algorithm).ok_or(JoseError::NoKey)?;
        let mut header = Header::new(algorithm.jwa());
        header.typ = Some(typ.to_string());
        header.kid = Some(key.kid.0.clone());
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
        if header.alg != Algorithm::RS256 && header.alg != Algorithm::ES256 {
            return Err(JoseError::Invalid("algorithm is neither RS256 nor ES256"));
        }
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(expected_typ) || typ.eq_ignore_ascii_case(&format!("application/{expected_typ}"))
        });
        if !typ_ok {
            return Err(JoseError::Invalid("wrong typ"));
        }
        let kid = header.kid.ok_or(JoseError::Invalid("no kid"))?;
        let key = self.keys.iter().find(|k| k.kid.0 == kid).ok_or(JoseError::Invalid("unknown kid"))?;
        // The key decides the algorithm, never the token: a header naming another one is refused (RFC 8725
        // §3.1), so no token can make a key be used with an algorithm it was not made for.
        if header.alg != key.algorithm.jwa() {
            return Err(JoseError::Invalid("algorithm does not match the key"));
        }
        let mut validation = Validation::new(key.algorithm.jwa());
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
    pub jti: Jti,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    /// The organization the user chose at consent; the API limits the token to it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub org_id: Option<OrganizationId>,
    /// The token family; revoking the family makes this token fail at once.
    pub fam: FamilyId,
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

/// The `typ` of a JWT's header, unverified: only to choose which verification applies.
pub fn peek_typ(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok().and_then(|header| header.typ)
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
            org_id: Some(OrganizationId(1)),
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
        assert_eq!(back.org_id, Some(OrganizationId(1)));
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
    fn es256_keys_sign_verify_and_publish_an_ec_jwk() {
        let rsa = generate_signing_key(Timestamp::from_millis(0)).unwrap();
        let ec = generate_signing_key_for(SigningAlgorithm::Es256, Timestamp::from_millis(0)).unwrap();
        let ring = KeyRing::load(&[rsa.clone(), ec.clone()], Timestamp::from_millis(0)).unwrap();
        assert!(ring.can_sign(SigningAlgorithm::Rs256) && ring.can_sign(SigningAlgorithm::Es256));
        let token = ring.sign_with(SigningAlgorithm::Es256, ACCESS_TOKEN_TYP, &claims(100)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some(ec.kid.as_str())));
        let now = Timestamp::from_millis(0);
        let back: AccessTokenClaims = ring.verify(&token, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now).unwrap();
        assert_eq!(back.jti.as_str(), "j");
        let jwks = ring.jwks();
        let ec_jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == ec.kid.as_str()).unwrap();
        assert_eq!((ec_jwk["kty"].as_str(), ec_jwk["crv"].as_str(), ec_jwk["alg"].as_str()), (Some("EC"), Some("P-256"), Some("ES256")));
        assert_eq!(URL_SAFE_NO_PAD.decode(ec_jwk["x"].as_str().unwrap()).unwrap().len(), 32);
        // ID tokens stay RS256 whatever signs access tokens.
        let id = ring.sign(ID_TOKEN_TYP, &claims(100)).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&id).unwrap().alg, Algorithm::RS256);
    }

    /// RFC 8725 §3.1: the key, not the token's header, decides the algorithm.
    #[test]
    fn a_header_naming_another_algorithm_than_its_keys_is_refused() {
        let rsa = generate_signing_key(Timestamp::from_millis(0)).unwrap();
        let ec = generate_signing_key_for(SigningAlgorithm::Es256, Timestamp::from_millis(0)).unwrap();
        let ring = KeyRing::load(&[rsa.clone(), ec], Timestamp::from_millis(0)).unwrap();
        let token = ring.sign_with(SigningAlgorithm::Es256, ACCESS_TOKEN_TYP, &claims(100)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        // The ES256 signature under a header that claims RS256 with the RSA key's kid.
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#, rsa.kid));
        let swapped = format!("{header}.{}.{}", parts[1], parts[2]);
        let now = Timestamp::from_millis(0);
        assert!(ring.verify::<AccessTokenClaims>(&swapped, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now).is_err());
        // And an RS256 header over the EC key's kid.
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#, ring.kids().iter().find(|k| **k != rsa.kid.as_str()).unwrap()));
        let mislabelled = format!("{header}.{}.{}", parts[1], parts[2]);
        let refused = ring.verify::<AccessTokenClaims>(&mislabelled, ACCESS_TOKEN_TYP, "https://issuer", Some("zone"), now);
        assert!(matches!(refused, Err(JoseError::Invalid("algorithm does not match the key"))), "{:?}", refused.err());
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
