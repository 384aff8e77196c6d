use base64::{Engine, engine::general_purpose::STANDARD};
use domain::{
    crypto::Keyring,
    sms_settings::integration::{
        Change, CheckOutcome, Health, SaveError, UNDECRYPTABLE_TOKEN, check_integration,
        rewrap_tokens, saved_auth_token,
    },
};

use crate::helpers::{mg, world};

#[tokio::test]
async fn rewrap_moves_every_token_to_the_active_key_so_the_old_one_can_go() {
    let mut w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    w.services.keyring = std::sync::Arc::new(Keyring::create_file(&path).unwrap());
    w.configured().await;
    let rotated = Keyring::rotate_file(&path).unwrap();

    let report = rewrap_tokens(&w.pool, &rotated).await.unwrap();

    assert_eq!(report.rewrapped, 1);
    assert!(report.undecryptable.is_empty());
    // Only the new key is left: the token still decrypts.
    let text = std::fs::read_to_string(&path).unwrap();
    let only_new: String = text
        .lines()
        .filter(|l| !l.starts_with("key k1 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, only_new).unwrap();
    let new_only = Keyring::load_file(&path).unwrap();
    let integration = w.integration().await.unwrap();
    assert_eq!(
        saved_auth_token(&new_only, &integration)
            .unwrap()
            .expose_secret(),
        w.account.auth_token
    );
    assert_eq!(
        rewrap_tokens(&w.pool, &new_only)
            .await
            .unwrap()
            .already_current,
        1
    );
}

#[tokio::test]
async fn a_token_no_key_can_decrypt_shows_as_invalid_and_asks_for_it_again() {
    let w = world().await;
    w.configured().await;
    let stranger = Keyring::from_base64_key(&STANDARD.encode([1u8; 32]), "another key").unwrap();
    // Before any check: the page and the capability rule already see it.
    let shown = w
        .integration()
        .await
        .unwrap()
        .with_effective_health(&stranger);
    assert_eq!(
        shown.health,
        Health::Invalid {
            reason: UNDECRYPTABLE_TOKEN.to_owned()
        }
    );
    let with_own_key = w
        .integration()
        .await
        .unwrap()
        .with_effective_health(&w.services.keyring);
    assert_eq!(with_own_key.health, Health::Valid);

    let with_stranger = domain::services::Services {
        keyring: std::sync::Arc::new(stranger),
        ..w.services.clone()
    };
    let outcome = check_integration(&with_stranger, w.organisation.id, 3_000)
        .await
        .unwrap();
    let section_save = domain::sms_settings::integration::save_integration(
        &with_stranger,
        w.organisation.id,
        "admin@acme.test",
        Change::MessagingServiceSid(Some(mg(&w.service.sid))),
        1,
        3_000,
    )
    .await;

    assert_eq!(
        outcome,
        CheckOutcome::Invalid {
            reason: UNDECRYPTABLE_TOKEN.to_owned()
        }
    );
    assert!(matches!(
        section_save,
        Err(SaveError::SavedTokenUnusable(_))
    ));
}
