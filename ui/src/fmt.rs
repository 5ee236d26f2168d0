//! Pure formatting: digits, dates, times, durations and byte sizes in English or Bangla.
//! No browser calls here, so the host unit tests cover all of it.

use crate::i18n::Lang;

const BN_DIGITS: [char; 10] = ['০', '১', '২', '৩', '৪', '৫', '৬', '৭', '৮', '৯'];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_BN: [&str; 12] = [
    "জানুয়ারি",
    "ফেব্রুয়ারি",
    "মার্চ",
    "এপ্রিল",
    "মে",
    "জুন",
    "জুলাই",
    "আগস্ট",
    "সেপ্টেম্বর",
    "অক্টোবর",
    "নভেম্বর",
    "ডিসেম্বর",
];

/// Replaces the ASCII digits of `s` with Bangla digits when the language is Bangla.
pub fn digits(lang: Lang, s: &str) -> String {
    match lang {
        Lang::En => s.to_owned(),
        Lang::Bn => s
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => BN_DIGITS[d as usize],
                None => c,
            })
            .collect(),
    }
}

/// A whole number in the language's digits.
pub fn num(lang: Lang, n: impl std::fmt::Display) -> String {
    digits(lang, &n.to_string())
}

/// A civil date (year, month 1–12, day 1–31) from days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Local broken-down time of a UNIX time, given the local offset east of UTC in minutes.
fn local(unix: i64, offset_min: i32) -> (i64, u32, u32, u32, u32) {
    let t = unix + i64::from(offset_min) * 60;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, (secs / 3600) as u32, ((secs % 3600) / 60) as u32)
}

/// The local day number (days since 1970-01-01) of a UNIX time: the timeline's grouping key.
pub fn local_day(unix: i64, offset_min: i32) -> i64 {
    (unix + i64::from(offset_min) * 60).div_euclid(86_400)
}

/// "5 December 2026" / "৫ ডিসেম্বর ২০২৬".
pub fn date(lang: Lang, unix: i64, offset_min: i32) -> String {
    let (y, m, d, _, _) = local(unix, offset_min);
    let idx = (m as usize).saturating_sub(1).min(11);
    match lang {
        Lang::En => format!("{d} {} {y}", MONTHS_EN[idx]),
        Lang::Bn => format!("{} {} {}", num(lang, d), MONTHS_BN[idx], num(lang, y)),
    }
}

/// "14:05" / "১৪:০৫" (24-hour clock, unambiguous in both languages).
pub fn time(lang: Lang, unix: i64, offset_min: i32) -> String {
    let (_, _, _, h, mi) = local(unix, offset_min);
    digits(lang, &format!("{h:02}:{mi:02}"))
}

/// "5 December 2026, 14:05".
pub fn date_time(lang: Lang, unix: i64, offset_min: i32) -> String {
    format!(
        "{}, {}",
        date(lang, unix, offset_min),
        time(lang, unix, offset_min)
    )
}

/// A unit of a duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
    /// Months of 30 days.
    Month,
}

impl Unit {
    /// Seconds in one unit.
    pub fn seconds(self) -> u64 {
        match self {
            Unit::Minute => 60,
            Unit::Hour => 3600,
            Unit::Day => 86_400,
            Unit::Month => 30 * 86_400,
        }
    }

    fn word(self, lang: Lang, n: u64) -> &'static str {
        match (lang, self) {
            (Lang::En, Unit::Minute) if n == 1 => "minute",
            (Lang::En, Unit::Minute) => "minutes",
            (Lang::En, Unit::Hour) if n == 1 => "hour",
            (Lang::En, Unit::Hour) => "hours",
            (Lang::En, Unit::Day) if n == 1 => "day",
            (Lang::En, Unit::Day) => "days",
            (Lang::En, Unit::Month) if n == 1 => "month",
            (Lang::En, Unit::Month) => "months",
            (Lang::Bn, Unit::Minute) => "মিনিট",
            (Lang::Bn, Unit::Hour) => "ঘণ্টা",
            (Lang::Bn, Unit::Day) => "দিন",
            (Lang::Bn, Unit::Month) => "মাস",
        }
    }
}

/// "3 days" / "৩ দিন".
pub fn amount(lang: Lang, n: u64, unit: Unit) -> String {
    format!("{} {}", num(lang, n), unit.word(lang, n))
}

/// A duration in words, in its largest whole unit and the next one: "2 hours 30 minutes",
/// "১ মাস ৫ দিন", "45 minutes". Under a minute: "less than a minute".
pub fn duration(lang: Lang, secs: u64) -> String {
    const UNITS: [Unit; 4] = [Unit::Month, Unit::Day, Unit::Hour, Unit::Minute];
    if secs < 60 {
        return match lang {
            Lang::En => "less than a minute".to_owned(),
            Lang::Bn => "এক মিনিটের কম".to_owned(),
        };
    }
    for (i, unit) in UNITS.iter().enumerate() {
        let n = secs / unit.seconds();
        if n == 0 {
            continue;
        }
        let mut out = amount(lang, n, *unit);
        if let Some(next) = UNITS.get(i + 1) {
            let rest = (secs % unit.seconds()) / next.seconds();
            if rest > 0 {
                out.push(' ');
                out.push_str(&amount(lang, rest, *next));
            }
        }
        return out;
    }
    String::new()
}

/// A live countdown: "04:59" under an hour, "2:04:59" under a day, else the duration in words.
pub fn countdown(lang: Lang, secs: u64) -> String {
    if secs < 3600 {
        digits(lang, &format!("{:02}:{:02}", secs / 60, secs % 60))
    } else if secs < 86_400 {
        digits(
            lang,
            &format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60),
        )
    } else {
        duration(lang, secs)
    }
}

/// "1.2 MB", "৩৪০ KB".
pub fn bytes(lang: Lang, n: u64) -> String {
    let s = if n >= 1_000_000 {
        format!("{:.1} MB", n as f64 / 1_000_000.0)
    } else if n >= 1000 {
        format!("{} KB", n / 1000)
    } else {
        format!("{n} B")
    };
    digits(lang, &s)
}

/// A decimal value as the record gives it, in the language's digits ("5.4" → "৫.৪").
pub fn decimal(lang: Lang, v: f64) -> String {
    let s = if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let mut s = format!("{v:.3}");
        while s.ends_with('0') {
            s.pop();
        }
        s
    };
    digits(lang, &s)
}

/// Parses digits typed in either script ("১৫" or "15").
pub fn parse_number(s: &str) -> Option<u64> {
    let ascii: String = s
        .trim()
        .chars()
        .map(|c| match BN_DIGITS.iter().position(|d| *d == c) {
            Some(i) => char::from(b'0' + i as u8),
            None => c,
        })
        .collect();
    ascii.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-05T00:00:00Z
    const DEC5: i64 = 1_796_428_800;

    #[test]
    fn bangla_digits() {
        assert_eq!(digits(Lang::Bn, "2026-12-05"), "২০২৬-১২-০৫");
        assert_eq!(digits(Lang::En, "2026"), "2026");
        assert_eq!(num(Lang::Bn, 1234567890u64), "১২৩৪৫৬৭৮৯০");
    }

    #[test]
    fn dates_in_both_languages() {
        assert_eq!(date(Lang::En, DEC5, 0), "5 December 2026");
        assert_eq!(date(Lang::Bn, DEC5, 0), "৫ ডিসেম্বর ২০২৬");
        // Dhaka is UTC+6: 20:00 UTC on 4 December is already 5 December there.
        assert_eq!(date(Lang::Bn, DEC5 - 4 * 3600, 360), "৫ ডিসেম্বর ২০২৬");
        assert_eq!(date(Lang::En, DEC5 - 4 * 3600, 0), "4 December 2026");
        assert_eq!(time(Lang::Bn, DEC5 + 14 * 3600 + 5 * 60, 0), "১৪:০৫");
        assert_eq!(date(Lang::En, 0, 0), "1 January 1970");
        assert_eq!(date(Lang::En, 951_782_400, 0), "29 February 2000");
    }

    #[test]
    fn day_grouping_follows_local_time() {
        assert_eq!(local_day(DEC5 - 1, 0) + 1, local_day(DEC5, 0));
        assert_eq!(local_day(DEC5 - 1, 360), local_day(DEC5, 360));
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Lang::En, 15 * 60), "15 minutes");
        assert_eq!(duration(Lang::En, 60), "1 minute");
        assert_eq!(duration(Lang::En, 2 * 3600 + 30 * 60), "2 hours 30 minutes");
        assert_eq!(duration(Lang::En, 3 * 86_400), "3 days");
        assert_eq!(duration(Lang::En, 30 * 86_400), "1 month");
        assert_eq!(duration(Lang::Bn, 35 * 86_400), "১ মাস ৫ দিন");
        assert_eq!(duration(Lang::Bn, 90 * 60), "১ ঘণ্টা ৩০ মিনিট");
        assert_eq!(duration(Lang::Bn, 10), "এক মিনিটের কম");
    }

    #[test]
    fn countdowns() {
        assert_eq!(countdown(Lang::En, 299), "04:59");
        assert_eq!(countdown(Lang::Bn, 299), "০৪:৫৯");
        assert_eq!(countdown(Lang::En, 7499), "2:04:59");
        assert_eq!(countdown(Lang::En, 2 * 86_400), "2 days");
    }

    #[test]
    fn numbers_and_sizes() {
        assert_eq!(decimal(Lang::Bn, 5.4), "৫.৪");
        assert_eq!(decimal(Lang::En, 120.0), "120");
        assert_eq!(bytes(Lang::En, 1_234_567), "1.2 MB");
        assert_eq!(parse_number("১৫"), Some(15));
        assert_eq!(parse_number(" 42 "), Some(42));
        assert_eq!(parse_number("x"), None);
    }
}
