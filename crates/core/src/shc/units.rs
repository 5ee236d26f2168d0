//! UCUM units as people read them.
//!
//! Laboratory results carry UCUM codes (`10*3/uL`, `mm[Hg]`, `Cel`): exact for machines,
//! unreadable on paper. Every place that shows a quantity to a person (the wallet app, the
//! `spondon` CLI, the clinic node's page, the exported PDF, the hospital console) prints the
//! symbol and the words from this one table, so a unit reads the same everywhere. Units not in
//! the table are shown as written.

use std::borrow::Cow;

/// A UCUM unit with the ways people write and read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Unit {
    /// The UCUM code (`10*3/uL`).
    pub code: &'static str,
    /// Other spellings labs put in `Quantity.unit` for the same unit (`10^3/µL`, `mg/dl`).
    #[serde(skip)]
    pub aliases: &'static [&'static str],
    /// The printed symbol (`×10³/µL`).
    pub symbol: &'static str,
    /// In English words (`thousand per microlitre`).
    pub en: &'static str,
    /// In Bangla words.
    pub bn: &'static str,
}

const fn u(
    code: &'static str,
    aliases: &'static [&'static str],
    symbol: &'static str,
    en: &'static str,
    bn: &'static str,
) -> Unit {
    Unit {
        code,
        aliases,
        symbol,
        en,
        bn,
    }
}

/// Every unit with a display name, most common first.
pub const UNITS: &[Unit] = &[
    u(
        "g/dL",
        &["g/dl"],
        "g/dL",
        "grams per decilitre",
        "গ্রাম প্রতি ডেসিলিটার",
    ),
    u(
        "10*3/uL",
        &[
            "10^3/µL", "10^3/uL", "x10^3/uL", "x10*3/uL", "10*9/L", "10^9/L",
        ],
        "×10³/µL",
        "thousand per microlitre",
        "হাজার প্রতি মাইক্রোলিটার",
    ),
    u(
        "10*6/uL",
        &[
            "10^6/µL", "10^6/uL", "x10^6/uL", "x10*6/uL", "10*12/L", "10^12/L",
        ],
        "×10⁶/µL",
        "million per microlitre",
        "মিলিয়ন প্রতি মাইক্রোলিটার",
    ),
    u("%", &[], "%", "percent", "শতাংশ"),
    u(
        "mg/dL",
        &["mg/dl"],
        "mg/dL",
        "milligrams per decilitre",
        "মিলিগ্রাম প্রতি ডেসিলিটার",
    ),
    u(
        "mmol/L",
        &["mmol/l"],
        "mmol/L",
        "millimoles per litre",
        "মিলিমোল প্রতি লিটার",
    ),
    u(
        "umol/L",
        &["µmol/L", "umol/l"],
        "µmol/L",
        "micromoles per litre",
        "মাইক্রোমোল প্রতি লিটার",
    ),
    u(
        "mg/L",
        &["mg/l"],
        "mg/L",
        "milligrams per litre",
        "মিলিগ্রাম প্রতি লিটার",
    ),
    u("g/L", &["g/l"], "g/L", "grams per litre", "গ্রাম প্রতি লিটার"),
    u(
        "U/L",
        &["IU/L", "[IU]/L", "u/l"],
        "U/L",
        "units per litre",
        "ইউনিট প্রতি লিটার",
    ),
    u(
        "m[IU]/L",
        &["mIU/L", "mU/L"],
        "mIU/L",
        "milli-international units per litre",
        "মিলি-আন্তর্জাতিক ইউনিট প্রতি লিটার",
    ),
    u(
        "/uL",
        &["/µL", "cells/uL", "{cells}/uL"],
        "/µL",
        "per microlitre",
        "প্রতি মাইক্রোলিটার",
    ),
    u("fL", &["fl"], "fL", "femtolitres", "ফেমটোলিটার"),
    u("pg", &[], "pg", "picograms", "পিকোগ্রাম"),
    u(
        "ng/mL",
        &["ng/ml"],
        "ng/mL",
        "nanograms per millilitre",
        "ন্যানোগ্রাম প্রতি মিলিলিটার",
    ),
    u(
        "pg/mL",
        &["pg/ml"],
        "pg/mL",
        "picograms per millilitre",
        "পিকোগ্রাম প্রতি মিলিলিটার",
    ),
    u(
        "mm[Hg]",
        &["mmHg"],
        "mmHg",
        "millimetres of mercury",
        "মিলিমিটার পারদ",
    ),
    u(
        "mm/h",
        &["mm/hr", "mm/[hr]"],
        "mm/h",
        "millimetres per hour",
        "মিলিমিটার প্রতি ঘণ্টা",
    ),
    u("kg", &[], "kg", "kilograms", "কিলোগ্রাম"),
    u("g", &[], "g", "grams", "গ্রাম"),
    u("mg", &[], "mg", "milligrams", "মিলিগ্রাম"),
    u("ug", &["µg", "mcg"], "µg", "micrograms", "মাইক্রোগ্রাম"),
    u("cm", &[], "cm", "centimetres", "সেন্টিমিটার"),
    u(
        "kg/m2",
        &["kg/m^2"],
        "kg/m²",
        "kilograms per square metre",
        "কিলোগ্রাম প্রতি বর্গমিটার",
    ),
    u(
        "/min",
        &["{beats}/min", "{breaths}/min", "bpm"],
        "/min",
        "per minute",
        "প্রতি মিনিটে",
    ),
    u(
        "Cel",
        &["°C", "degC"],
        "°C",
        "degrees Celsius",
        "ডিগ্রি সেলসিয়াস",
    ),
    u(
        "[degF]",
        &["°F", "degF"],
        "°F",
        "degrees Fahrenheit",
        "ডিগ্রি ফারেনহাইট",
    ),
    u("mL", &["ml"], "mL", "millilitres", "মিলিলিটার"),
    u("L", &["l"], "L", "litres", "লিটার"),
    u("s", &["sec"], "s", "seconds", "সেকেন্ড"),
    u("d", &["days"], "days", "days", "দিন"),
    u(
        "[IU]",
        &["IU"],
        "IU",
        "international units",
        "আন্তর্জাতিক ইউনিট",
    ),
];

/// The unit with this UCUM code, printed symbol (as a `Quantity.unit` often carries it), or a
/// known other spelling of it.
pub fn lookup(unit: &str) -> Option<&'static Unit> {
    let unit = unit.trim();
    UNITS
        .iter()
        .find(|u| u.code == unit)
        .or_else(|| UNITS.iter().find(|u| u.symbol == unit))
        .or_else(|| UNITS.iter().find(|u| u.aliases.contains(&unit)))
}

/// The printed symbol of a unit (`10*3/uL` → `×10³/µL`); an unknown unit as written.
pub fn symbol(unit: &str) -> Cow<'_, str> {
    match lookup(unit) {
        Some(u) => Cow::Borrowed(u.symbol),
        None => Cow::Borrowed(unit.trim()),
    }
}

/// A unit in English words (`10*3/uL` → `thousand per microlitre`), if known.
pub fn words(unit: &str) -> Option<&'static str> {
    lookup(unit).map(|u| u.en)
}

/// A unit in Bangla words, if known.
pub fn words_bn(unit: &str) -> Option<&'static str> {
    lookup(unit).map(|u| u.bn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_aliases_resolve_to_one_unit() {
        assert_eq!(symbol("10*3/uL"), "×10³/µL");
        assert_eq!(symbol("10^3/µL"), "×10³/µL");
        assert_eq!(words("×10³/µL"), Some("thousand per microlitre"));
        assert_eq!(words(" mg/dl "), Some("milligrams per decilitre"));
        assert_eq!(words("Cel"), Some("degrees Celsius"));
        assert_eq!(words_bn("%"), Some("শতাংশ"));
        assert_eq!(symbol("furlongs/fortnight"), "furlongs/fortnight");
        assert_eq!(words("furlongs/fortnight"), None);
    }

    #[test]
    fn every_spelling_names_one_unit() {
        let mut seen = std::collections::HashSet::new();
        for u in UNITS {
            assert!(!u.en.is_empty() && !u.bn.is_empty() && !u.symbol.is_empty());
            for s in std::iter::once(&u.code).chain(u.aliases) {
                assert!(seen.insert(*s), "{s} is listed twice");
            }
        }
    }
}
