//! Make's catalogues with numeric ids: time zones, countries, locales (and the languages they name), and
//! regions. Users and organizations store names and codes (`Europe/Prague`, `CZ`, `en`); Make's clients
//! speak ids (`timezoneId`, `countryId`, `localeId`, `regionId`). This module maps between the two.
//!
//! The data comes from maintained crates (`chrono-tz`'s IANA database, `celes`' ISO 3166-1), but the ids
//! come from the checked-in lists beside this file: an id is a line number, so it never changes when a
//! crate is updated. A zone or country that a new release adds is appended (a test fails until it is);
//! one it drops stays listed, so old ids keep their meaning. Make's own ids are not published; ours are
//! documented in docs/compatibility.md.

use std::str::FromStr;
use std::sync::OnceLock;

use chrono::{DateTime, Offset, Utc};

use crate::error::ValidationError;
use crate::time::Timestamp;

const TIMEZONE_NAMES: &str = include_str!("catalogue/timezones.txt");
const COUNTRY_CODES: &str = include_str!("catalogue/countries.txt");

/// An IANA time zone with its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone {
    pub id: i64,
    /// The IANA name, e.g. `Europe/Prague` (Make's `code`).
    pub code: &'static str,
}

impl Timezone {
    /// The display name Make shows: the IANA name with spaces for underscores.
    pub fn name(&self) -> String {
        self.code.replace('_', " ")
    }

    /// The zone's UTC offset at an instant, as `+01:00` (daylight saving time moves it, so the caller says
    /// when).
    pub fn offset_at(&self, at: Timestamp) -> String {
        let seconds = match (chrono_tz::Tz::from_str(self.code), DateTime::<Utc>::from_timestamp_millis(at.as_millis())) {
            (Ok(zone), Some(instant)) => instant.with_timezone(&zone).offset().fix().local_minus_utc(),
            _ => 0,
        };
        let sign = if seconds < 0 { '-' } else { '+' };
        let minutes = seconds.unsigned_abs() / 60;
        format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
    }
}

/// An ISO 3166-1 country with its stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    pub id: i64,
    /// Two letters, upper case (`CZ`); Make's `code2` is its lower case.
    pub alpha2: &'static str,
    /// Three letters, upper case (`CZE`): Make's `code`.
    pub alpha3: &'static str,
    pub name: &'static str,
}

/// A locale users may pick (Make's `localeId`), and the language it is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locale {
    pub id: i64,
    /// A BCP 47 tag: `en`, `en-GB`, `pt-BR`.
    pub code: &'static str,
    pub name: &'static str,
    /// The ISO 639-1 language (Make's user `language`).
    pub language: &'static str,
}

/// A region an organization is created in (Make's `imtRegions`, `regionId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub id: i64,
    pub name: &'static str,
}

/// Append only: an id is a position in this list.
static LOCALES: &[Locale] = &[
    Locale { id: 1, code: "en", name: "English", language: "en" },
    Locale { id: 2, code: "en-GB", name: "English (United Kingdom)", language: "en" },
    Locale { id: 3, code: "cs", name: "Čeština", language: "cs" },
    Locale { id: 4, code: "de", name: "Deutsch", language: "de" },
    Locale { id: 5, code: "es", name: "Español", language: "es" },
    Locale { id: 6, code: "fr", name: "Français", language: "fr" },
    Locale { id: 7, code: "it", name: "Italiano", language: "it" },
    Locale { id: 8, code: "ja", name: "日本語", language: "ja" },
    Locale { id: 9, code: "ko", name: "한국어", language: "ko" },
    Locale { id: 10, code: "nl", name: "Nederlands", language: "nl" },
    Locale { id: 11, code: "pl", name: "Polski", language: "pl" },
    Locale { id: 12, code: "pt", name: "Português", language: "pt" },
    Locale { id: 13, code: "pt-BR", name: "Português (Brasil)", language: "pt" },
    Locale { id: 14, code: "sk", name: "Slovenčina", language: "sk" },
    Locale { id: 15, code: "zh-CN", name: "中文（简体）", language: "zh" },
    Locale { id: 16, code: "sv", name: "Svenska", language: "sv" },
    Locale { id: 17, code: "da", name: "Dansk", language: "da" },
    Locale { id: 18, code: "fi", name: "Suomi", language: "fi" },
    Locale { id: 19, code: "nb", name: "Norsk bokmål", language: "nb" },
    Locale { id: 20, code: "tr", name: "Türkçe", language: "tr" },
    Locale { id: 21, code: "uk", name: "Українська", language: "uk" },
    Locale { id: 22, code: "hu", name: "Magyar", language: "hu" },
    Locale { id: 23, code: "ro", name: "Română", language: "ro" },
];

/// Make's hosting regions. Append only.
static REGIONS: &[Region] = &[Region { id: 1, name: "EU" }, Region { id: 2, name: "US" }];

fn ids_by_line(list: &'static str) -> impl Iterator<Item = (i64, &'static str)> {
    list.lines().map(str::trim).filter(|line| !line.is_empty()).zip(1..).map(|(line, id)| (id, line))
}

/// Where an id sits in a list (ids count from 1); `None` for ids no list can hold.
fn position(id: i64) -> Option<usize> {
    id.checked_sub(1).and_then(|index| usize::try_from(index).ok())
}

/// Every time zone, in id order.
pub fn timezones() -> &'static [Timezone] {
    static ZONES: OnceLock<Vec<Timezone>> = OnceLock::new();
    ZONES.get_or_init(|| ids_by_line(TIMEZONE_NAMES).map(|(id, code)| Timezone { id, code }).collect())
}

/// Every country, in id order.
pub fn countries() -> &'static [Country] {
    static COUNTRIES: OnceLock<Vec<Country>> = OnceLock::new();
    COUNTRIES.get_or_init(|| {
        ids_by_line(COUNTRY_CODES)
            .filter_map(|(id, alpha2)| {
                let country = celes::Country::from_alpha2(alpha2).ok()?;
                let name = country.long_name.strip_prefix("The ").unwrap_or(country.long_name);
                Some(Country { id, alpha2, alpha3: country.alpha3, name })
            })
            .collect()
    })
}

/// Every locale, in id order.
pub fn locales() -> &'static [Locale] {
    LOCALES
}

/// The languages the locales are written in (ISO 639-1), each once, in locale order.
pub fn languages() -> Vec<&'static str> {
    let mut languages: Vec<&'static str> = Vec::new();
    for locale in LOCALES {
        if !languages.contains(&locale.language) {
            languages.push(locale.language);
        }
    }
    languages
}

pub fn regions() -> &'static [Region] {
    REGIONS
}

pub fn timezone_by_id(id: i64) -> Result<Timezone, ValidationError> {
    position(id)
        .and_then(|index| timezones().get(index).copied())
        .ok_or_else(|| ValidationError::new(format!("Unknown timezoneId {id}: see GET /api/v2/enums/timezones.")))
}

/// A stored IANA name's entry; `None` for a name the catalogue does not know.
pub fn timezone_by_code(code: &str) -> Option<Timezone> {
    timezones().iter().find(|zone| zone.code.eq_ignore_ascii_case(code.trim())).copied()
}

/// A time zone named by the API (an IANA name), checked against the catalogue.
pub fn parse_timezone(code: &str) -> Result<Timezone, ValidationError> {
    timezone_by_code(code)
        .ok_or_else(|| ValidationError::new(format!("Unknown time zone {code:?}: use an IANA name such as Europe/Prague.")))
}

pub fn country_by_id(id: i64) -> Result<Country, ValidationError> {
    position(id)
        .and_then(|index| countries().get(index).copied())
        .ok_or_else(|| ValidationError::new(format!("Unknown countryId {id}: see GET /api/v2/enums/countries.")))
}

/// A country by its two or three letters, in any case.
pub fn country_by_code(code: &str) -> Option<Country> {
    let code = code.trim();
    countries().iter().find(|country| country.alpha2.eq_ignore_ascii_case(code) || country.alpha3.eq_ignore_ascii_case(code)).copied()
}

pub fn parse_country(code: &str) -> Result<Country, ValidationError> {
    country_by_code(code)
        .ok_or_else(|| ValidationError::new(format!("Unknown country {code:?}: use an ISO 3166-1 code such as CZ.")))
}

pub fn locale_by_id(id: i64) -> Result<Locale, ValidationError> {
    LOCALES
        .iter()
        .find(|locale| locale.id == id)
        .copied()
        .ok_or_else(|| ValidationError::new(format!("Unknown localeId {id}: see GET /api/v2/enums/locales.")))
}

pub fn locale_by_code(code: &str) -> Option<Locale> {
    LOCALES.iter().find(|locale| locale.code.eq_ignore_ascii_case(code.trim())).copied()
}

/// A language users may pick: one the locales are written in.
pub fn parse_language(code: &str) -> Result<&'static str, ValidationError> {
    let code = code.trim();
    languages().into_iter().find(|language| language.eq_ignore_ascii_case(code)).ok_or_else(|| {
        ValidationError::new(format!("Unknown language {code:?}: use one of {}.", languages().join(", ")))
    })
}

pub fn region_by_id(id: i64) -> Result<Region, ValidationError> {
    REGIONS
        .iter()
        .find(|region| region.id == id)
        .copied()
        .ok_or_else(|| ValidationError::new(format!("Unknown regionId {id}: see GET /api/v2/enums/imt-regions.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids are a promise to every client that stored one: these must never change.
    #[test]
    fn pinned_ids_never_change() {
        assert_eq!(timezone_by_code("Europe/Prague").map(|zone| zone.id), Some(467));
        assert_eq!(timezone_by_code("UTC").map(|zone| zone.id), Some(593));
        assert_eq!(timezone_by_code("America/New_York").map(|zone| zone.id), Some(171));
        assert_eq!(timezone_by_id(1).map(|zone| zone.code), Ok("Africa/Abidjan"));
        assert_eq!(country_by_code("CZ").map(|country| country.id), Some(56));
        assert_eq!(country_by_code("us").map(|country| country.id), Some(233));
        assert_eq!(country_by_id(1).map(|country| country.alpha2), Ok("AD"));
        assert_eq!(locale_by_code("en").map(|locale| locale.id), Some(1));
        assert_eq!(locale_by_code("cs").map(|locale| locale.id), Some(3));
        assert_eq!(region_by_id(1).map(|region| region.name), Ok("EU"));
    }

    #[test]
    fn every_listed_zone_is_a_zone_the_database_knows_and_every_known_zone_is_listed() {
        for zone in timezones() {
            assert!(chrono_tz::Tz::from_str(zone.code).is_ok(), "{} is not in chrono-tz", zone.code);
        }
        for zone in chrono_tz::TZ_VARIANTS {
            assert!(timezone_by_code(zone.name()).is_some(), "append {} to catalogue/timezones.txt", zone.name());
        }
    }

    #[test]
    fn every_listed_country_is_in_iso_3166_and_every_iso_country_is_listed() {
        assert_eq!(countries().len(), ids_by_line(COUNTRY_CODES).count(), "a listed code the crate does not know");
        for country in celes::Country::get_countries() {
            assert!(country_by_code(country.alpha2).is_some(), "append {} to catalogue/countries.txt", country.alpha2);
        }
        let czechia = country_by_code("cze").expect("listed");
        assert_eq!((czechia.alpha2, czechia.alpha3, czechia.name), ("CZ", "CZE", "Czechia"));
    }

    #[test]
    fn ids_are_unique_and_dense() {
        for (index, zone) in timezones().iter().enumerate() {
            assert_eq!(zone.id, index as i64 + 1);
        }
        for (index, locale) in locales().iter().enumerate() {
            assert_eq!(locale.id, index as i64 + 1);
        }
    }

    #[test]
    fn offsets_follow_daylight_saving_time() {
        let prague = timezone_by_code("Europe/Prague").expect("listed");
        let winter = Timestamp::parse_iso("2026-01-15T12:00:00Z").expect("valid");
        let summer = Timestamp::parse_iso("2026-07-15T12:00:00Z").expect("valid");
        assert_eq!(prague.offset_at(winter), "+01:00");
        assert_eq!(prague.offset_at(summer), "+02:00");
        let kolkata = timezone_by_code("Asia/Kolkata").expect("listed");
        assert_eq!(kolkata.offset_at(winter), "+05:30");
        let new_york = timezone_by_code("America/New_York").expect("listed");
        assert_eq!(new_york.offset_at(winter), "-05:00");
    }

    #[test]
    fn unknown_ids_and_names_are_refused_with_the_catalogue_named() {
        assert!(timezone_by_id(0).is_err());
        assert!(timezone_by_id(100_000).is_err());
        assert!(timezone_by_id(i64::MIN).is_err());
        assert!(country_by_id(-1).is_err());
        assert!(parse_timezone("Mars/Olympus").is_err());
        assert!(parse_country("XX").is_err());
        assert_eq!(parse_language("EN"), Ok("en"));
        assert!(parse_language("xx").is_err());
        assert!(locale_by_id(999).unwrap_err().0.contains("/enums/locales"));
    }
}
