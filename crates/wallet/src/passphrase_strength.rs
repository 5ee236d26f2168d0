//! A passphrase strength estimate for the create-wallet screen: a score 0–4 and one hint, from
//! length, character variety, repetition, simple sequences and a short list of common choices.
//! It is advice only; the wallet refuses only passphrases shorter than
//! [`crate::wallet::MIN_PASSPHRASE`].

use serde::Serialize;

use crate::wallet::MIN_PASSPHRASE;

/// What to tell the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// Shorter than the minimum: refused.
    TooShort,
    /// A well-known passphrase.
    Common,
    /// Repeated characters or a simple sequence.
    Repetitive,
    /// Add more words.
    AddWords,
    /// Mix in digits, capitals or symbols, or add words.
    AddVariety,
    /// Good.
    Good,
    /// Strong.
    Strong,
}

/// The estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Strength {
    /// 0 (very weak) to 4 (strong).
    pub score: u8,
    /// What to say.
    pub hint: Hint,
    /// Long enough for the wallet.
    pub acceptable: bool,
}

const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "qwerty123",
    "iloveyou",
    "bangladesh",
    "11111111",
    "00000000",
    "abcdefgh",
    "abc12345",
    "password1",
    "letmein1",
    "welcome1",
    "admin123",
    "dhaka123",
    "sunshine",
    "football",
];

/// Estimates the strength of `passphrase`.
pub fn estimate(passphrase: &str) -> Strength {
    let chars: Vec<char> = passphrase.chars().collect();
    let n = chars.len();
    if n < MIN_PASSPHRASE {
        return Strength {
            score: 0,
            hint: Hint::TooShort,
            acceptable: false,
        };
    }
    let lower = passphrase.to_lowercase();
    if COMMON
        .iter()
        .any(|c| lower == *c || lower.trim_end_matches(['!', '1', '.']) == *c)
    {
        return Strength {
            score: 0,
            hint: Hint::Common,
            acceptable: true,
        };
    }
    let distinct = {
        let mut d = chars.clone();
        d.sort_unstable();
        d.dedup();
        d.len()
    };
    let sequential = chars
        .windows(2)
        .filter(|w| (w[1] as i64 - w[0] as i64).abs() <= 1)
        .count();
    if distinct * 3 <= n || sequential * 4 >= (n - 1) * 3 {
        return Strength {
            score: 1,
            hint: Hint::Repetitive,
            acceptable: true,
        };
    }
    let classes = [
        chars.iter().any(|c| c.is_lowercase()),
        chars.iter().any(|c| c.is_uppercase()),
        chars.iter().any(|c| c.is_numeric()),
        chars
            .iter()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
        chars.iter().any(|c| !c.is_ascii()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let words = passphrase
        .split_whitespace()
        .filter(|w| w.chars().count() >= 3)
        .count();
    // Rough bits: length × log2(alphabet) discounted; words count as ~15 bits each.
    let alphabet: f64 = match classes {
        0 | 1 => 26.0,
        2 => 52.0,
        3 => 62.0,
        _ => 80.0,
    };
    let char_bits = n as f64 * alphabet.log2() * 0.6;
    let word_bits = words as f64 * 15.0;
    let bits = char_bits.max(word_bits);
    let (score, hint) = if bits >= 80.0 {
        (4, Hint::Strong)
    } else if bits >= 60.0 {
        (3, Hint::Good)
    } else if bits >= 40.0 {
        (
            2,
            if words >= 2 {
                Hint::AddWords
            } else {
                Hint::AddVariety
            },
        )
    } else {
        (
            1,
            if classes <= 1 {
                Hint::AddVariety
            } else {
                Hint::AddWords
            },
        )
    };
    Strength {
        score,
        hint,
        acceptable: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_common_sense() {
        assert_eq!(estimate("short").hint, Hint::TooShort);
        assert!(!estimate("short").acceptable);
        assert_eq!(estimate("password").hint, Hint::Common);
        assert_eq!(estimate("aaaaaaaaaaaa").hint, Hint::Repetitive);
        assert_eq!(estimate("abcdefghijk").hint, Hint::Repetitive);
        assert!(estimate("mango river blue kite").score >= 3);
        assert_eq!(estimate("correct horse battery staple Dhaka!").score, 4);
        assert!(estimate("Tk7#pq2!").score <= 2);
    }
}
