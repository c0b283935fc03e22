//! Encrypted items (`des;b64`, `3des;b64` in an item's Meta Format): the phone's are
//! decrypted with the session's keys, and a datastore whose phone encrypts gets the
//! server's items encrypted the same way. The chain a phone used is kept in its device
//! record, so the server's items are encrypted in a session where the phone sent none.
//! A phone that sends its items in plain base64 (`b64`) gets the server's in base64 the
//! same way.

use super::session_core::SessionCore;
use crate::syncml::codes::StatusCode;
use crate::syncml::item_format::{FormatChain, ItemFormatError};
use crate::syncml::model::{Data, Item};

/// The device-record setting that holds a datastore's chain (by the phone's URI).
fn setting_key(phone_uri: &str) -> String {
    format!("item-format:{phone_uri}")
}

/// The encrypted chain a declared Meta Format names, if any; `Err` for one the bridge
/// cannot read. Chains without a cipher (`b64`, `bin`, `chr`) are read as before.
fn encrypted_chain(declared: Option<&str>) -> Result<Option<FormatChain>, ItemFormatError> {
    let Some(text) = declared else {
        return Ok(None);
    };
    cipher_chain(text)
}

/// The chain `text` spells when it names a cipher (`des;b64`); `None` for one without
/// (`b64`, `bin`, `chr`), which is read as before; `Err` for a cipher chain with a step
/// the bridge does not know.
fn cipher_chain(text: &str) -> Result<Option<FormatChain>, ItemFormatError> {
    let ciphered = text
        .split(';')
        .any(|s| matches!(s.trim().to_ascii_lowercase().as_str(), "des" | "3des"));
    if !ciphered {
        return Ok(None);
    }
    FormatChain::parse(text).map(Some)
}

/// The chain `text` spells when it is plain base64 (`b64`), without a cipher.
fn base64_chain(text: &str) -> Option<FormatChain> {
    FormatChain::parse(text)
        .ok()
        .filter(|c| c.is_base64() && !c.is_encrypted())
}

impl SessionCore {
    /// The item with its data decrypted when its declared Format names a cipher (`None`:
    /// not encrypted); `Err` is the status that refuses it. The chain is remembered for
    /// the server's items to the same datastore.
    pub(super) fn plain_item(
        &mut self,
        slot: usize,
        item: &Item,
        declared_format: Option<&str>,
        luid: &str,
    ) -> Result<Option<Item>, StatusCode> {
        let chain = match encrypted_chain(declared_format) {
            Ok(Some(chain)) => chain,
            Ok(None) => {
                // A phone that sends its items in base64 gets the server's in base64 (a
                // Funambol client reads SIF only so); one that sends them plain, or
                // stopped encrypting, gets them plain again.
                match declared_format.and_then(base64_chain) {
                    Some(chain) => self.note_item_format(slot, &chain),
                    None => self.forget_item_format(slot),
                }
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(device = %self.device, %luid, error = %e, "item in a format the bridge cannot read");
                return Err(StatusCode::UnsupportedMediaType);
            }
        };
        if item.more_data {
            // A chunk is only part of the ciphertext.
            tracing::warn!(device = %self.device, %luid, "encrypted item sent in chunks: not supported");
            return Err(StatusCode::UnsupportedMediaType);
        }
        let plain = self.decrypt_item(item, &chain, luid)?;
        self.note_item_format(slot, &chain);
        Ok(Some(Item {
            data: Some(Data::Binary(plain)),
            // Plain bytes now: no later step may read the chain again.
            meta: item
                .meta
                .clone()
                .map(|m| crate::syncml::model::Meta { format: None, ..m }),
            ..item.clone()
        }))
    }

    /// An encrypted item's plain bytes, or the status that refuses it.
    pub(super) fn decrypt_item(
        &self,
        item: &Item,
        chain: &FormatChain,
        luid: &str,
    ) -> Result<Vec<u8>, StatusCode> {
        let raw: &[u8] = match &item.data {
            Some(Data::Text(t)) => t.as_bytes(),
            Some(Data::Binary(b)) => b,
            _ => &[],
        };
        chain
            .decode(raw, self.item_keys.as_ref())
            .map_err(|e| {
                tracing::warn!(device = %self.device, %luid, format = chain.spelled(), error = %e, "encrypted item refused");
                StatusCode::BadRequest
            })
    }

    /// Remembers that the phone encrypts the items of `slot` with `chain`.
    pub(super) fn note_item_format(&mut self, slot: usize, chain: &FormatChain) {
        let Some(phone_uri) = self.slots.get(slot).map(|s| s.phone_uri.clone()) else {
            return;
        };
        let key = setting_key(&phone_uri);
        if self.record.settings.get(&key).map(String::as_str) == Some(chain.spelled()) {
            return;
        }
        self.record.settings.insert(key, chain.spelled().to_owned());
        if let Err(e) = self.shared.store.put_device(&self.record) {
            tracing::warn!(device = %self.device, error = %e, "cannot store the phone's item format");
        }
    }

    fn forget_item_format(&mut self, slot: usize) {
        let Some(phone_uri) = self.slots.get(slot).map(|s| s.phone_uri.clone()) else {
            return;
        };
        if self
            .record
            .settings
            .remove(&setting_key(&phone_uri))
            .is_none()
        {
            return;
        }
        if let Err(e) = self.shared.store.put_device(&self.record) {
            tracing::warn!(device = %self.device, error = %e, "cannot store the phone's item format");
        }
    }

    /// The chain the server's items for `slot` go out in, when the phone encrypts its
    /// items or sends them in base64.
    pub(super) fn outgoing_chain(&self, slot: usize) -> Option<FormatChain> {
        let phone_uri = &self.slots.get(slot)?.phone_uri;
        let text = self.record.settings.get(&setting_key(phone_uri))?;
        FormatChain::parse(text)
            .ok()
            .filter(|c| c.is_encrypted() || c.is_base64())
    }
}

/// The text an item is sent with through `chain`; `None` when it cannot be encrypted
/// (no key), and then it is not sent in the clear either.
pub(super) fn encrypt_for_phone(
    chain: &FormatChain,
    data: &[u8],
    core: &SessionCore,
) -> Option<Data> {
    match chain.encode(data, core.item_keys.as_ref()) {
        Ok(bytes) => Some(match String::from_utf8(bytes) {
            Ok(t) => Data::Text(t),
            Err(e) => Data::Binary(e.into_bytes()),
        }),
        Err(e) => {
            tracing::warn!(device = %core.device, error = %e, "item not encrypted for the phone, not sent");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chains_that_name_a_cipher_are_read_here() {
        for plain in ["b64", "bin", "chr", "xml", "B64"] {
            assert_eq!(cipher_chain(plain), Ok(None), "{plain}");
        }
        let des = cipher_chain("des;b64").unwrap().unwrap();
        assert!(des.is_encrypted());
        assert!(cipher_chain("3DES;B64").unwrap().unwrap().is_encrypted());
        assert!(base64_chain("B64").is_some());
        assert!(base64_chain("des;b64").is_none() && base64_chain("bin").is_none());
        assert_eq!(
            cipher_chain("aes;des;b64"),
            Err(ItemFormatError::Unknown("aes".into()))
        );
    }
}
