//! Base45 (RFC 9285), strict: only the 45 QR-alphanumeric characters, every triple ≤ 65535,
//! a trailing pair ≤ 255, and no length ≡ 1 (mod 3).

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

fn value(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == c)
        .and_then(|p| u32::try_from(p).ok())
}

/// Encodes bytes as base45 (RFC 9285 §4).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let push = |out: &mut String, v: u32| {
        // v < 45 by construction.
        out.push(char::from(ALPHABET[(v % 45) as usize]));
    };
    for chunk in bytes.chunks(2) {
        match chunk {
            [a, b] => {
                let n = u32::from(*a) * 256 + u32::from(*b);
                push(&mut out, n % 45);
                push(&mut out, (n / 45) % 45);
                push(&mut out, n / 2025);
            }
            [a] => {
                let n = u32::from(*a);
                push(&mut out, n % 45);
                push(&mut out, n / 45);
            }
            _ => {}
        }
    }
    out
}

/// Decodes strict base45 (RFC 9285 §4.2). The error says what is wrong.
pub fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
    let bytes = text.as_bytes();
    if bytes.len() % 3 == 1 {
        return Err("length is 1 more than a multiple of 3 (truncated)");
    }
    let mut out = Vec::with_capacity(bytes.len() / 3 * 2 + 1);
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        let mut factor = 1u32;
        for &c in chunk {
            let v = value(c).ok_or("a character outside the base45 alphabet")?;
            n += v * factor;
            factor *= 45;
        }
        if chunk.len() == 3 {
            let pair = u16::try_from(n).map_err(|_| "a triple encodes a value above 65535")?;
            out.extend_from_slice(&pair.to_be_bytes());
        } else {
            let single = u8::try_from(n).map_err(|_| "the final pair encodes a value above 255")?;
            out.push(single);
        }
    }
    Ok(out)
}

/// True if every character of `text` is in the QR alphanumeric set (`0-9A-Z $%*+-./:`).
pub fn is_qr_alphanumeric(text: &str) -> bool {
    text.bytes().all(|c| ALPHABET.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9285_examples() {
        assert_eq!(encode(b"AB"), "BB8");
        assert_eq!(encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode("QED8WEX0").unwrap(), b"ietf!");
        assert!(decode("GGW").is_err()); // 65536 + … > 65535
        assert!(decode("ZZZ").is_err());
        assert!(decode("A").is_err());
        assert!(decode("abc").is_err());
        assert!(decode(":::").is_err());
        assert!(decode("U8").is_err()); // 30 + 8*45 = 390 > 255
        assert_eq!(decode("").unwrap(), b"");
    }
}
