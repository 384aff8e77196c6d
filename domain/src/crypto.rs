//! The secret envelope: AES-256-GCM-SIV under a master keyring.
//!
//! An envelope is `v1:<key id>:<base64(nonce | ciphertext | tag)>` with a
//! fresh random 96-bit nonce per encryption. The associated data binds it to
//! its purpose, key id and organisation, so a ciphertext copied to another
//! row or organisation does not decrypt. GCM-SIV stays safe even if a nonce
//! ever repeated, which matters for keys that live for years.

use std::{collections::BTreeMap, fmt, io::Write, path::Path};

use aes_gcm_siv::{
    Aes256GcmSiv, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::Mac;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::organisations::OrganisationId;

const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Signs and checks values with a key derived from the master keyring.
pub struct LinkSigner {
    key: Zeroizing<[u8; 32]>,
}

impl LinkSigner {
    /// `<expires>.<base64 mac>`, valid until `expires` (Unix seconds).
    pub fn sign(&self, value: &str, expires: i64) -> String {
        format!("{expires}.{}", STANDARD.encode(self.mac(value, expires)))
    }

    /// Whether `signature` is this signer's for `value` and not expired.
    pub fn verify(&self, value: &str, signature: &str, now: i64) -> bool {
        let Some((expires, mac)) = signature.split_once('.') else {
            return false;
        };
        let (Ok(expires), Ok(mac)) = (expires.parse::<i64>(), STANDARD.decode(mac)) else {
            return false;
        };
        if expires < now {
            return false;
        }
        let mut check =
            <HmacSha256 as Mac>::new_from_slice(self.key.as_slice()).expect("any key length");
        check.update(format!("{expires}\n{value}").as_bytes());
        check.verify_slice(&mac).is_ok()
    }

    fn mac(&self, value: &str, expires: i64) -> Vec<u8> {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(self.key.as_slice()).expect("any key length");
        mac.update(format!("{expires}\n{value}").as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// What a secret is for; part of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    TwilioAuthToken,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::TwilioAuthToken => "twilio-auth-token",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "no master key: set OUTREACH_MASTER_KEY to the base64 of 32 random bytes \
         (for example `openssl rand -base64 32`) or OUTREACH_MASTER_KEY_FILE to a keyring file"
    )]
    Missing,
    #[error("{source_name} is not valid base64")]
    NotBase64 { source_name: String },
    #[error("{source_name} must be exactly 32 bytes once decoded, but it is {len} bytes")]
    WrongLength { source_name: String, len: usize },
    #[error("{source_name} is all zeros: generate a random key")]
    AllZero { source_name: String },
    #[error("the keyring file {path} could not be read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the keyring file {path}, line {line}: {reason}")]
    Malformed {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("the keyring file {path} names active key {id:?}, which it does not contain")]
    ActiveKeyMissing { path: String, id: String },
    #[error(
        "the keyring file {path} can be read by other users (mode {mode:o}): make it private with `chmod 600 {path}`"
    )]
    ReadableByOthers { path: String, mode: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the stored secret is not a v1 envelope")]
    Malformed,
    #[error("the stored secret was encrypted with key {0:?}, which is not in the keyring")]
    UnknownKey(String),
    #[error("the stored secret does not decrypt: wrong key, altered, or moved from another record")]
    Undecryptable,
}

/// The master keys: one active key that encrypts, older ones that still decrypt.
pub struct Keyring {
    active: String,
    keys: BTreeMap<String, Zeroizing<[u8; KEY_LEN]>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// A keyring of one key. Its id is derived from the key so envelopes
    /// keep naming the same key across restarts.
    pub fn from_base64_key(encoded: &str, source_name: &str) -> Result<Self, KeyringError> {
        let key = decode_key(encoded, source_name)?;
        let id = format!("env-{}", &hex(&Sha256::digest(key.as_slice()))[..8]);
        Ok(Self {
            active: id.clone(),
            keys: BTreeMap::from([(id, key)]),
        })
    }

    /// A keyring file: `active <id>` and one `key <id> <base64>` line per key.
    pub fn load_file(path: &Path) -> Result<Self, KeyringError> {
        let shown = path.display().to_string();
        // Keys that others on the machine can read are not secret.
        #[cfg(unix)]
        if let Ok(metadata) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyringError::ReadableByOthers { path: shown, mode });
            }
        }
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| KeyringError::Unreadable {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        let malformed = |line: usize, reason: &str| KeyringError::Malformed {
            path: shown.clone(),
            line,
            reason: reason.to_owned(),
        };
        let mut active = None;
        let mut keys = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["active", id] => active = Some((*id).to_owned()),
                ["key", id, encoded] => {
                    if !valid_key_id(id) {
                        return Err(malformed(
                            number,
                            "key ids are 1-32 letters, digits or dashes",
                        ));
                    }
                    let key = decode_key(encoded, &format!("key {id} in {shown}"))?;
                    if keys.insert((*id).to_owned(), key).is_some() {
                        return Err(malformed(number, "this key id appears twice"));
                    }
                }
                _ => {
                    return Err(malformed(
                        number,
                        "expected `active <id>` or `key <id> <base64>`",
                    ));
                }
            }
        }
        let active = active.ok_or_else(|| malformed(0, "no `active <id>` line"))?;
        if !keys.contains_key(&active) {
            return Err(KeyringError::ActiveKeyMissing {
                path: shown,
                id: active,
            });
        }
        Ok(Self { active, keys })
    }

    /// Writes a new keyring file with one random key (mode 0600).
    pub fn create_file(path: &Path) -> anyhow::Result<Self> {
        let keyring = Self {
            active: "k1".to_owned(),
            keys: BTreeMap::from([("k1".to_owned(), random_key())]),
        };
        keyring.write_file(path, true)?;
        Ok(keyring)
    }

    /// Adds a new random key to the file and makes it the active one. Older
    /// keys stay so existing envelopes still decrypt until rewrapped.
    pub fn rotate_file(path: &Path) -> anyhow::Result<Self> {
        let mut keyring = Self::load_file(path)?;
        let next = keyring
            .keys
            .keys()
            .filter_map(|id| id.strip_prefix('k')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let id = format!("k{next}");
        keyring.keys.insert(id.clone(), random_key());
        keyring.active = id;
        keyring.write_file(path, false)?;
        Ok(keyring)
    }

    fn write_file(&self, path: &Path, create_new: bool) -> anyhow::Result<()> {
        use anyhow::Context;

        let mut text = String::from(
            "# Outreach master keyring. Keep it secret and backed up: without it the\n\
             # stored Twilio Auth Tokens cannot be decrypted.\n",
        );
        text.push_str(&format!("active {}\n", self.active));
        for (id, key) in &self.keys {
            text.push_str(&format!("key {id} {}\n", STANDARD.encode(key.as_slice())));
        }
        let text = Zeroizing::new(text);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("could not create {}", dir.display()))?;
        }
        // Write beside the file and rename, so a crash never leaves half a keyring.
        let target = if create_new {
            path.to_path_buf()
        } else {
            path.with_extension("new")
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&target)
            .with_context(|| format!("could not create {}", target.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("could not write {}", target.display()))?;
        if !create_new {
            std::fs::rename(&target, path)
                .with_context(|| format!("could not replace {}", path.display()))?;
        }
        Ok(())
    }

    /// A signer for short-lived values the server hands the browser and
    /// must recognise when they come back (links carrying a form's error).
    /// Derived from the active master key, so every process that shares
    /// the keyring agrees.
    pub fn link_signer(&self) -> LinkSigner {
        let master = &self.keys[&self.active];
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(master.as_slice()).expect("any key length");
        mac.update(b"outreach:link-signer:v1");
        LinkSigner {
            key: Zeroizing::new(mac.finalize().into_bytes().into()),
        }
    }

    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Encrypts under the active key.
    pub fn seal(&self, purpose: Purpose, organisation: OrganisationId, plaintext: &[u8]) -> String {
        let key = &self.keys[&self.active];
        let cipher = Aes256GcmSiv::new(key.as_slice().into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(purpose, &self.active, organisation);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM-SIV encryption of a short secret cannot fail");
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        format!("v1:{}:{}", self.active, STANDARD.encode(blob))
    }

    pub fn open(
        &self,
        purpose: Purpose,
        organisation: OrganisationId,
        envelope: &str,
    ) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let mut parts = envelope.splitn(3, ':');
        let (Some("v1"), Some(key_id), Some(encoded)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Malformed);
        };
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| OpenError::UnknownKey(key_id.to_owned()))?;
        let blob = STANDARD.decode(encoded).map_err(|_| OpenError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let cipher = Aes256GcmSiv::new(key.as_slice().into());
        let aad = associated_data(purpose, key_id, organisation);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Undecryptable)
    }

    /// The key id an envelope names, if it is one.
    pub fn envelope_key_id(envelope: &str) -> Option<&str> {
        let mut parts = envelope.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some("v1"), Some(id)) => Some(id),
            _ => None,
        }
    }
}

fn associated_data(purpose: Purpose, key_id: &str, organisation: OrganisationId) -> String {
    format!(
        "outreach:v1:{}:{key_id}:organisation:{organisation}",
        purpose.label()
    )
}

fn decode_key(encoded: &str, source_name: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyringError> {
    let bytes =
        Zeroizing::new(
            STANDARD
                .decode(encoded.trim())
                .map_err(|_| KeyringError::NotBase64 {
                    source_name: source_name.to_owned(),
                })?,
        );
    if bytes.len() != KEY_LEN {
        return Err(KeyringError::WrongLength {
            source_name: source_name.to_owned(),
            len: bytes.len(),
        });
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(KeyringError::AllZero {
            source_name: source_name.to_owned(),
        });
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(&bytes);
    Ok(key)
}

fn random_key() -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    rand::rngs::OsRng.fill_bytes(key.as_mut_slice());
    key
}

fn valid_key_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keyring() -> Keyring {
        Keyring::from_base64_key(&STANDARD.encode([7u8; 32]), "test key").unwrap()
    }

    #[test]
    fn an_envelope_opens_to_what_was_sealed() {
        let keys = keyring();
        let envelope = keys.seal(Purpose::TwilioAuthToken, OrganisationId(1), TOKEN);
        assert!(envelope.starts_with(&format!("v1:{}:", keys.active_key_id())));
        assert!(!envelope.contains("0123456789abcdef"));
        assert_eq!(
            keys.open(Purpose::TwilioAuthToken, OrganisationId(1), &envelope)
                .unwrap()
                .as_slice(),
            TOKEN
        );
    }

    #[test]
    fn every_encryption_uses_a_fresh_nonce() {
        let keys = keyring();
        let a = keys.seal(Purpose::TwilioAuthToken, OrganisationId(1), TOKEN);
        let b = keys.seal(Purpose::TwilioAuthToken, OrganisationId(1), TOKEN);
        assert_ne!(a, b);
    }

    #[test]
    fn flipping_any_byte_of_the_envelope_makes_it_fail() {
        let keys = keyring();
        let envelope = keys.seal(Purpose::TwilioAuthToken, OrganisationId(1), TOKEN);
        let (prefix, encoded) = envelope.rsplit_once(':').unwrap();
        let blob = STANDARD.decode(encoded).unwrap();
        for i in 0..blob.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = blob.clone();
                tampered[i] ^= bit;
                let tampered = format!("{prefix}:{}", STANDARD.encode(&tampered));
                assert_eq!(
                    keys.open(Purpose::TwilioAuthToken, OrganisationId(1), &tampered)
                        .err(),
                    Some(OpenError::Undecryptable),
                    "byte {i} bit {bit:#x}"
                );
            }
        }
    }

    #[test]
    fn an_envelope_moved_to_another_organisation_does_not_open() {
        let keys = keyring();
        let envelope = keys.seal(Purpose::TwilioAuthToken, OrganisationId(1), TOKEN);
        assert_eq!(
            keys.open(Purpose::TwilioAuthToken, OrganisationId(2), &envelope)
                .err(),
            Some(OpenError::Undecryptable)
        );
    }

    #[test]
    fn a_different_key_fails_cleanly() {
        let envelope = keyring().seal(Purpose::TwilioAuthToken, OrganisationId(1), TOKEN);
        let other = Keyring::from_base64_key(&STANDARD.encode([9u8; 32]), "other").unwrap();
        assert!(matches!(
            other.open(Purpose::TwilioAuthToken, OrganisationId(1), &envelope),
            Err(OpenError::UnknownKey(_))
        ));
        // Same key id, different key material: relabel the envelope.
        let relabelled = envelope.replacen(keyring().active_key_id(), other.active_key_id(), 1);
        assert_eq!(
            other
                .open(Purpose::TwilioAuthToken, OrganisationId(1), &relabelled)
                .err(),
            Some(OpenError::Undecryptable)
        );
        assert_eq!(
            other
                .open(Purpose::TwilioAuthToken, OrganisationId(1), "garbage")
                .err(),
            Some(OpenError::Malformed)
        );
    }

    #[test]
    fn short_all_zero_and_non_base64_keys_are_refused() {
        assert!(matches!(
            Keyring::from_base64_key(&STANDARD.encode([1u8; 16]), "k"),
            Err(KeyringError::WrongLength { len: 16, .. })
        ));
        assert!(matches!(
            Keyring::from_base64_key(&STANDARD.encode([0u8; 32]), "k"),
            Err(KeyringError::AllZero { .. })
        ));
        assert!(matches!(
            Keyring::from_base64_key("not base64!", "k"),
            Err(KeyringError::NotBase64 { .. })
        ));
    }

    #[test]
    fn rotation_adds_an_active_key_and_old_envelopes_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = Keyring::create_file(&path).unwrap();
        let old = first.seal(Purpose::TwilioAuthToken, OrganisationId(3), TOKEN);

        let rotated = Keyring::rotate_file(&path).unwrap();
        let reloaded = Keyring::load_file(&path).unwrap();

        assert_eq!(rotated.active_key_id(), "k2");
        assert_eq!(reloaded.active_key_id(), "k2");
        assert_eq!(reloaded.key_ids().collect::<Vec<_>>(), ["k1", "k2"]);
        assert_eq!(
            reloaded
                .open(Purpose::TwilioAuthToken, OrganisationId(3), &old)
                .unwrap()
                .as_slice(),
            TOKEN
        );
        let new = reloaded.seal(Purpose::TwilioAuthToken, OrganisationId(3), TOKEN);
        assert_eq!(Keyring::envelope_key_id(&new), Some("k2"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_keyring_file_naming_a_missing_active_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(
            &path,
            format!("active k9\nkey k1 {}\n", STANDARD.encode([5u8; 32])),
        )
        .unwrap();
        private(&path);
        assert!(matches!(
            Keyring::load_file(&path),
            Err(KeyringError::ActiveKeyMissing { .. })
        ));
    }

    fn private(path: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_keyring_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        Keyring::create_file(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

        let refused = Keyring::load_file(&path).unwrap_err();

        assert!(matches!(
            refused,
            KeyringError::ReadableByOthers { mode: 0o640, .. }
        ));
        assert!(refused.to_string().contains("chmod 600"));
    }

    #[test]
    fn a_signed_link_value_verifies_until_it_expires_and_never_altered() {
        let signer = Keyring::from_base64_key(&STANDARD.encode([9u8; 32]), "k")
            .unwrap()
            .link_signer();
        let other = Keyring::from_base64_key(&STANDARD.encode([8u8; 32]), "k")
            .unwrap()
            .link_signer();
        let signature = signer.sign("an error", 1_000);

        assert!(signer.verify("an error", &signature, 999));
        assert!(!signer.verify("an error", &signature, 1_001));
        assert!(!signer.verify("another error", &signature, 999));
        assert!(!other.verify("an error", &signature, 999));
        assert!(!signer.verify("an error", "2000.AAAA", 999));
        assert!(!signer.verify("an error", "garbage", 999));
    }
}
