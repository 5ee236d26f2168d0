//! ISO 8601 weeks (Monday to Sunday) in Bangladesh time (UTC+06:00, no daylight saving), and
//! age bands.

use std::fmt;

/// Bangladesh Standard Time, seconds east of UTC.
pub const BST_OFFSET: i64 = 6 * 3600;

/// An ISO week, e.g. `2026-W23`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    /// The ISO week-numbering year (can differ from the calendar year around New Year).
    pub year: i32,
    /// The week, 1..=53.
    pub week: u8,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// ISO weekday, Monday = 1 … Sunday = 7.
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7) + 1
}

impl IsoWeek {
    /// The week holding day number `days`.
    pub fn from_days(days: i64) -> IsoWeek {
        let thursday = days - (weekday(days) - 1) + 3;
        let (year, _, _) = civil_from_days(thursday);
        let ordinal = thursday - days_from_civil(year, 1, 1);
        IsoWeek {
            year: year as i32,
            week: (ordinal / 7 + 1) as u8,
        }
    }

    /// The week (Bangladesh time) holding the POSIX time `seconds`.
    pub fn from_unix(seconds: i64) -> IsoWeek {
        Self::from_days((seconds + BST_OFFSET).div_euclid(86_400))
    }

    /// Day number of the week's Monday.
    pub fn monday(self) -> i64 {
        let jan4 = days_from_civil(i64::from(self.year), 1, 4);
        jan4 - (weekday(jan4) - 1) + (i64::from(self.week) - 1) * 7
    }

    /// POSIX time at which the week ends (next Monday 00:00 Bangladesh time).
    pub fn end_unix(self) -> i64 {
        (self.monday() + 7) * 86_400 - BST_OFFSET
    }

    /// The following week.
    pub fn next(self) -> IsoWeek {
        Self::from_days(self.monday() + 7)
    }

    /// Weeks from `self` to `to` inclusive (0 if `to` is earlier).
    pub fn weeks_until(self, to: IsoWeek) -> i64 {
        ((to.monday() - self.monday()) / 7 + 1).max(0)
    }

    /// A sortable integer, `year * 100 + week` (stored in databases).
    pub fn key(self) -> i64 {
        i64::from(self.year) * 100 + i64::from(self.week)
    }

    /// The inverse of [`IsoWeek::key`], checked.
    pub fn from_key(key: i64) -> Option<IsoWeek> {
        let year = i32::try_from(key.div_euclid(100)).ok()?;
        let week = u8::try_from(key.rem_euclid(100)).ok()?;
        Self::new(year, week)
    }

    /// A checked week (years 1900–9999; week 53 only in years that have one).
    pub fn new(year: i32, week: u8) -> Option<IsoWeek> {
        if !(1900..=9999).contains(&year) || week == 0 || week > 53 {
            return None;
        }
        let w = IsoWeek { year, week };
        (IsoWeek::from_days(w.monday()) == w).then_some(w)
    }

    /// Parses `YYYY-Www` (e.g. `2026-W23`).
    pub fn parse(text: &str) -> Option<IsoWeek> {
        let (y, w) = text.split_once("-W")?;
        if y.len() != 4 || w.len() != 2 || !(y.bytes().chain(w.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Self::new(y.parse().ok()?, w.parse().ok()?)
    }

    /// DHIS2's weekly period id, `2026W23`.
    pub fn dhis2(self) -> String {
        format!("{}W{}", self.year, self.week)
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl serde::Serialize for IsoWeek {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IsoWeek {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IsoWeek::parse(&s).ok_or_else(|| serde::de::Error::custom("not an ISO week YYYY-Www"))
    }
}

/// Age bands (years at diagnosis), in order.
pub const AGE_BANDS: &[&str] = &["0-4", "5-14", "15-24", "25-44", "45-64", "65+", "unknown"];

/// Sex categories published (`other` and `unknown` together: they are rare, and a category of
/// its own would be a small cell everywhere).
pub const SEXES: &[&str] = &["female", "male", "other"];

/// The band of someone born on `birth_date` (`YYYY-MM-DD`) at day number `on`; "unknown" for
/// an unreadable or future date.
pub fn age_band(birth_date: &str, on: i64) -> &'static str {
    let parsed = (|| {
        let mut it = birth_date.split('-');
        let y: i64 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let d: u32 = it.next()?.parse().ok()?;
        ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
    })();
    let Some((y, m, d)) = parsed else {
        return "unknown";
    };
    let (ty, tm, td) = civil_from_days(on);
    let mut age = ty - y;
    if (tm, td) < (m, d) {
        age -= 1;
    }
    match age {
        a if a < 0 => "unknown",
        0..=4 => "0-4",
        5..=14 => "5-14",
        15..=24 => "15-24",
        25..=44 => "25-44",
        45..=64 => "45-64",
        _ => "65+",
    }
}

/// The published sex category of a registered sex.
pub fn sex_category(sex: &str) -> &'static str {
    match sex {
        "female" => "female",
        "male" => "male",
        _ => "other",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks() {
        // 2026-01-01 is a Thursday: week 1 of 2026. 2021-01-03 (Sunday) is 2020-W53.
        assert_eq!(
            IsoWeek::from_days(days_from_civil(2026, 1, 1)),
            IsoWeek::new(2026, 1).unwrap()
        );
        assert_eq!(
            IsoWeek::from_days(days_from_civil(2021, 1, 3)).to_string(),
            "2020-W53"
        );
        assert_eq!(
            IsoWeek::from_days(days_from_civil(2024, 12, 30)).to_string(),
            "2025-W01"
        );
        let w = IsoWeek::parse("2026-W23").unwrap();
        assert_eq!(civil_from_days(w.monday()), (2026, 6, 1));
        assert_eq!(w.dhis2(), "2026W23");
        assert_eq!(IsoWeek::from_key(w.key()), Some(w));
        assert_eq!(w.next().to_string(), "2026-W24");
        assert_eq!(IsoWeek::parse("2025-W53"), None);
        assert!(IsoWeek::parse("2026-W53").is_some());
        assert_eq!(
            IsoWeek::parse("2020-W53").unwrap().next().to_string(),
            "2021-W01"
        );
        assert_eq!(IsoWeek::parse("2026-W1"), None);
        assert_eq!(IsoWeek::parse("2026-w01"), None);
        // Monday 00:00 Dhaka is Sunday 18:00 UTC.
        let monday = w.monday() * 86_400 - BST_OFFSET;
        assert_eq!(IsoWeek::from_unix(monday), w);
        assert_eq!(IsoWeek::from_unix(monday - 1).to_string(), "2026-W22");
        assert_eq!(w.end_unix(), monday + 7 * 86_400);
        assert_eq!(
            IsoWeek::parse("2026-W01")
                .unwrap()
                .weeks_until(IsoWeek::parse("2026-W23").unwrap()),
            23
        );
    }

    #[test]
    fn age_bands() {
        let on = days_from_civil(2026, 6, 1);
        assert_eq!(age_band("2026-01-01", on), "0-4");
        assert_eq!(age_band("2021-06-02", on), "0-4");
        assert_eq!(age_band("2021-06-01", on), "5-14");
        assert_eq!(age_band("1961-06-01", on), "65+");
        assert_eq!(age_band("1990-02-30x", on), "unknown");
        assert_eq!(age_band("2027-01-01", on), "unknown");
    }
}
