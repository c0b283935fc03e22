//! An item's `Meta Format` chain (`b64`, `des;b64`, `3des;b64`): the transformations a
//! sender applied left to right, undone right to left by the receiver.
//!
//! The encrypted forms are those of Funambol-style clients: DES in ECB mode with PKCS#5
//! padding, keyed with the first 8 bytes of MD5(password). For `3des` the 24-byte
//! three-key triple-DES key is derived from the same MD5 the way the Windows CryptoAPI's
//! `CryptDeriveKey` lengthens a hash (MD5 of the hash under the 0x36 and 0x5C pads), of
//! which the DES key is the short case.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use des::cipher::block_padding::Pkcs7;
use des::cipher::{BlockDecryptMut, BlockEncryptMut, KeyInit};
use des::{Des, TdesEde3};
use md5::{Digest, Md5};

/// One step of a Format chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    B64,
    Des,
    TripleDes,
}

/// Why an item's data could not be read through its Format chain.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ItemFormatError {
    #[error("unknown item format step {0:?}")]
    Unknown(String),
    #[error("the item is encrypted but the session has no key")]
    NoKey,
    #[error("the item's base64 is invalid")]
    Base64,
    #[error("the item's ciphertext does not decrypt with the user's key")]
    Decrypt,
}

/// A parsed Format chain, in the order the sender applied it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormatChain {
    steps: Vec<Transform>,
    /// As the device spelled it, echoed on the items it is sent.
    spelled: String,
}

impl FormatChain {
    /// Reads `des;b64`, `b64`, `bin`... (case-insensitive; `bin` and empty steps are no-ops).
    /// `b64;des` is read as `des;b64`: text in XML cannot carry raw ciphertext, so the
    /// base64 is always the outer layer.
    pub fn parse(text: &str) -> Result<FormatChain, ItemFormatError> {
        let mut steps = Vec::new();
        for step in text.split(';').map(str::trim) {
            match step.to_ascii_lowercase().as_str() {
                "" | "bin" => {}
                "b64" => steps.push(Transform::B64),
                "des" => steps.push(Transform::Des),
                "3des" => steps.push(Transform::TripleDes),
                other => return Err(ItemFormatError::Unknown(other.to_owned())),
            }
        }
        if steps.len() == 2 && steps[0] == Transform::B64 && steps[1] != Transform::B64 {
            steps.swap(0, 1);
        }
        Ok(FormatChain {
            steps,
            spelled: text.trim().to_owned(),
        })
    }

    pub fn is_encrypted(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Transform::Des | Transform::TripleDes))
    }

    /// Whether the data travels in base64.
    pub fn is_base64(&self) -> bool {
        self.steps.contains(&Transform::B64)
    }

    /// The chain as the device wrote it.
    pub fn spelled(&self) -> &str {
        &self.spelled
    }

    /// The item's bytes: every step undone, last first.
    pub fn decode(&self, data: &[u8], keys: Option<&ItemKeys>) -> Result<Vec<u8>, ItemFormatError> {
        let mut out = data.to_vec();
        for step in self.steps.iter().rev() {
            out = match step {
                Transform::B64 => {
                    let cleaned: Vec<u8> = out
                        .into_iter()
                        .filter(|b| !b.is_ascii_whitespace())
                        .collect();
                    B64.decode(cleaned).map_err(|_| ItemFormatError::Base64)?
                }
                Transform::Des => {
                    let k = keys.ok_or(ItemFormatError::NoKey)?;
                    ecb::Decryptor::<Des>::new(&k.des.into())
                        .decrypt_padded_vec_mut::<Pkcs7>(&out)
                        .map_err(|_| ItemFormatError::Decrypt)?
                }
                Transform::TripleDes => {
                    let k = keys.ok_or(ItemFormatError::NoKey)?;
                    ecb::Decryptor::<TdesEde3>::new(&k.tdes.into())
                        .decrypt_padded_vec_mut::<Pkcs7>(&out)
                        .map_err(|_| ItemFormatError::Decrypt)?
                }
            };
        }
        Ok(out)
    }

    /// `data` with every step applied, first first.
    pub fn encode(&self, data: &[u8], keys: Option<&ItemKeys>) -> Result<Vec<u8>, ItemFormatError> {
        let mut out = data.to_vec();
        for step in &self.steps {
            out = match step {
                Transform::B64 => B64.encode(&out).into_bytes(),
                Transform::Des => {
                    let k = keys.ok_or(ItemFormatError::NoKey)?;
                    ecb::Encryptor::<Des>::new(&k.des.into()).encrypt_padded_vec_mut::<Pkcs7>(&out)
                }
                Transform::TripleDes => {
                    let k = keys.ok_or(ItemFormatError::NoKey)?;
                    ecb::Encryptor::<TdesEde3>::new(&k.tdes.into())
                        .encrypt_padded_vec_mut::<Pkcs7>(&out)
                }
            };
        }
        Ok(out)
    }
}

/// The keys a user's items are encrypted with, derived from the SyncML password. Never
/// printed: `Debug` shows nothing of them.
#[derive(Clone)]
pub struct ItemKeys {
    des: [u8; 8],
    tdes: [u8; 24],
}

impl std::fmt::Debug for ItemKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ItemKeys(..)")
    }
}

impl ItemKeys {
    pub fn from_password(password: &str) -> ItemKeys {
        let hash = Md5::digest(password.as_bytes());
        let mut des = [0u8; 8];
        des.copy_from_slice(&hash[..8]);
        let padded = |pad: u8| {
            let mut block = [pad; 64];
            for (b, h) in block.iter_mut().zip(hash.iter()) {
                *b ^= h;
            }
            Md5::digest(block)
        };
        let mut long = Vec::with_capacity(32);
        long.extend_from_slice(&padded(0x36));
        long.extend_from_slice(&padded(0x5c));
        let mut tdes = [0u8; 24];
        tdes.copy_from_slice(&long[..24]);
        ItemKeys { des, tdes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &[u8] = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nEND:VCARD\r\n";

    /// Cross-checked with `openssl enc -des-ecb -K 5ebe2294ecd0e0f0 -nosalt -base64 -A`
    /// (the key is the first 8 bytes of MD5("secret")).
    const DES_B64: &str =
        "jQlvgCSPTbvhcOSGv1jZQM/Rtgc8h6ZgTq1fVxJLYXtkpA4MQLZOLLS0Ao0Yc2Jime0l5kYAvI4=";
    /// Cross-checked with `openssl enc -des-ede3 -K f3c351bb0d145286c627d573dda55606d23b433ea61f9ad2
    /// -nosalt -base64 -A` (the key derived from MD5("secret") as in `ItemKeys`).
    const TDES_B64: &str =
        "zUayLxNTmg/mopQRq4p1vngOcYz7XdMz+BIYnxpSi7TRJUOO6JGaeCNcdZ1RI/CNCXBmqWhj688=";

    #[test]
    fn keys_follow_md5_of_the_password() {
        let k = ItemKeys::from_password("secret");
        assert_eq!(hex(&k.des), "5ebe2294ecd0e0f0");
        assert_eq!(
            hex(&k.tdes),
            "f3c351bb0d145286c627d573dda55606d23b433ea61f9ad2"
        );
        assert_eq!(format!("{k:?}"), "ItemKeys(..)");
    }

    #[test]
    fn des_b64_matches_openssl_both_ways() {
        let keys = ItemKeys::from_password("secret");
        let chain = FormatChain::parse("des;b64").unwrap();
        assert!(chain.is_encrypted());
        let sent = chain.encode(PLAIN, Some(&keys)).unwrap();
        assert_eq!(String::from_utf8(sent).unwrap(), DES_B64);
        assert_eq!(
            chain.decode(DES_B64.as_bytes(), Some(&keys)).unwrap(),
            PLAIN
        );
        let reversed = FormatChain::parse("B64;DES").unwrap();
        assert_eq!(
            reversed.decode(DES_B64.as_bytes(), Some(&keys)).unwrap(),
            PLAIN
        );
        assert_eq!(reversed.spelled(), "B64;DES");
    }

    #[test]
    fn three_des_b64_matches_openssl_both_ways() {
        let keys = ItemKeys::from_password("secret");
        let chain = FormatChain::parse("3des;b64").unwrap();
        let sent = chain.encode(PLAIN, Some(&keys)).unwrap();
        assert_eq!(String::from_utf8(sent).unwrap(), TDES_B64);
        assert_eq!(
            chain.decode(TDES_B64.as_bytes(), Some(&keys)).unwrap(),
            PLAIN
        );
    }

    #[test]
    fn bad_input_is_a_named_error() {
        let keys = ItemKeys::from_password("secret");
        let chain = FormatChain::parse("des;b64").unwrap();
        assert_eq!(
            chain.decode(b"%%%", Some(&keys)),
            Err(ItemFormatError::Base64)
        );
        // Eight bytes that do not end in valid padding under this key.
        let junk = B64.encode([1u8, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            chain.decode(junk.as_bytes(), Some(&keys)),
            Err(ItemFormatError::Decrypt)
        );
        assert_eq!(
            chain.decode(B64.encode([1u8, 2, 3]).as_bytes(), Some(&keys)),
            Err(ItemFormatError::Decrypt)
        );
        assert_eq!(
            chain.decode(DES_B64.as_bytes(), None),
            Err(ItemFormatError::NoKey)
        );
        let wrong = ItemKeys::from_password("other");
        assert_ne!(
            chain
                .decode(DES_B64.as_bytes(), Some(&wrong))
                .ok()
                .as_deref(),
            Some(PLAIN)
        );
        assert_eq!(
            FormatChain::parse("aes;b64"),
            Err(ItemFormatError::Unknown("aes".into()))
        );
        assert!(!FormatChain::parse("bin").unwrap().is_encrypted());
        assert_eq!(
            FormatChain::parse("b64")
                .unwrap()
                .decode(b"QUJD\r\n", None)
                .unwrap(),
            b"ABC"
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
