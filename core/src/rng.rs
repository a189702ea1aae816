//! The gateway's only source of randomness: ChaCha20 seeded by the shell.

use crate::secret::{TOKEN_BYTES, Token};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// A deterministic RNG. The host seeds it from the OS; tests and the simulator seed it by hand, so the
/// same seed and inputs give byte-identical outputs.
pub(crate) struct Rng(ChaCha20Rng);

impl Rng {
    /// Creates the RNG from a 32-byte seed.
    pub(crate) fn from_seed(seed: [u8; 32]) -> Self {
        Rng(ChaCha20Rng::from_seed(seed))
    }

    /// A fresh UUID v4 string (request ids, challenge nonces, connection ids).
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.0.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// `N` fresh random bytes (short public ids).
    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut bytes = [0u8; N];
        self.0.fill_bytes(&mut bytes);
        bytes
    }

    /// A fresh 32-byte pairing token.
    pub(crate) fn token(&mut self) -> Token {
        let mut bytes = zeroize::Zeroizing::new([0u8; TOKEN_BYTES]);
        self.0.fill_bytes(bytes.as_mut());
        Token::from_random(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::from_seed([7; 32]);
        let mut b = Rng::from_seed([7; 32]);
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.token().expose(), b.token().expose());
        let u = Rng::from_seed([1; 32]).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
