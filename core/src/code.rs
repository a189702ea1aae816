//! The verification code: eight digits a person compares between the node's screen and the approver's.

use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"openclaw node pairing verification code v1\0";

/// Derives the code shown as `1234-5678` from a node's raw public key, or, for a request an operator
/// made (no key), from its request id, so every pending request has one.
pub fn verification_code(material: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(material);
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(first) % 100_000_000;
    format!("{:04}-{:04}", n / 10_000, n % 10_000)
}

/// Normalises what a person typed (`1234-5678`, `12345678`, `1234 5678`) to the canonical form.
pub fn parse_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{}-{}", &digits[..4], &digits[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_stable_and_formatted() {
        let c = verification_code(&[1; 32]);
        assert_eq!(c, verification_code(&[1; 32]));
        assert_ne!(c, verification_code(&[2; 32]));
        assert_eq!(c.len(), 9);
        assert_eq!(&c[4..5], "-");
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(parse_code("1234-5678").as_deref(), Some("1234-5678"));
        assert_eq!(parse_code(" 12345678 ").as_deref(), Some("1234-5678"));
        assert_eq!(parse_code("1234 5678").as_deref(), Some("1234-5678"));
        assert_eq!(parse_code("1234-567"), None);
        assert_eq!(parse_code("abcd-efgh"), None);
    }
}
