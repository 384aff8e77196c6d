//! Changing Twilio accounts, disconnecting, and saves that fail because of
//! a value that was already saved.

use domain::sms_settings::integration::{
    Change, DisconnectError, PAUSED_DISCONNECTED, PAUSED_WITHOUT_MESSAGING_SERVICE, SaveError,
    disconnect_integration, fetch_audit_events,
};

use crate::helpers::{World, mg, sid, token, world};

/// A running campaign of the world's organisation, with one message sent
/// under the current account.
async fn running_campaign(w: &World) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (organisation_id, name, channel, body, status, created_by, created_at, estimated_segments)
         VALUES ($1, 'Spring appeal', 'sms', 'Hello', 'running', 'carol@acme.test', 1, 1) RETURNING id",
    )
    .bind(w.organisation.id)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbound_messages (campaign_id, phone, body, state, twilio_sid, created_at, updated_at)
         VALUES ($1, '+14155552671', 'Hello', 'delivered', 'SM0123456789abcdef0123456789abcdef', 1, 1)",
    )
    .bind(id)
    .execute(&w.pool)
    .await
    .unwrap();
    id
}

async fn status_and_reason(w: &World, campaign: i64) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, paused_reason FROM campaigns WHERE id = $1")
        .bind(campaign)
        .fetch_one(&w.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_messaging_service_sid_checked_with_a_rotated_saved_token_names_the_saved_token() {
    let w = world().await;
    let saved = w.configured().await;
    w.simulator.rotate_token(&w.account.sid);
    let second = w.simulator.add_service(&w.account.sid, &[]);

    let result = w
        .save(
            Change::MessagingServiceSid(Some(mg(&second.sid))),
            saved.version,
        )
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert_eq!(problems.auth_token, None, "the token is not on this form");
    let explained = problems.saved_values.unwrap();
    assert!(
        explained.contains(&format!("saved Auth Token of account {}", w.account.sid)),
        "{explained}"
    );
    assert!(
        explained.contains("Edit Account SID and Auth Token"),
        "{explained}"
    );
    assert_eq!(w.integration().await.unwrap().version, saved.version);
}

#[tokio::test]
async fn a_new_messaging_service_sid_on_a_suspended_saved_account_names_the_account() {
    let w = world().await;
    let saved = w.configured().await;
    w.simulator.set_account_status(&w.account.sid, "suspended");

    let result = w
        .save(Change::MessagingServiceSid(None), saved.version)
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert_eq!(problems.account_sid, None);
    let explained = problems.saved_values.unwrap();
    assert!(
        explained.contains(&format!(
            "saved Twilio account {} is suspended",
            w.account.sid
        )),
        "{explained}"
    );
    assert_eq!(w.integration().await.unwrap().version, saved.version);
}

#[tokio::test]
async fn changing_accounts_works_when_the_old_token_is_dead_and_the_old_service_is_gone() {
    let w = world().await;
    let saved = w.configured().await;
    let campaign = running_campaign(&w).await;
    // The trap: neither section can be saved on its own any more.
    w.simulator.rotate_token(&w.account.sid);
    w.simulator.remove_service(&w.service.sid);
    let other = w.simulator.add_account("Full");
    let others_service = w.simulator.add_service(&other.sid, &["+15005550008"]);
    let section = w
        .save(
            Change::AccountSidAndAuthToken {
                account_sid: sid(&other.sid),
                auth_token: token(&other.auth_token),
            },
            saved.version,
        )
        .await;
    assert!(matches!(section, Err(SaveError::Rejected(_))));

    let changed = w
        .save(
            Change::NewAccount {
                account_sid: sid(&other.sid),
                auth_token: token(&other.auth_token),
                messaging_service_sid: Some(mg(&others_service.sid)),
            },
            saved.version,
        )
        .await
        .expect("the new account's three values validate together");

    let stored = w.integration().await.unwrap();
    assert_eq!(stored.account_sid.as_str(), other.sid);
    assert_eq!(
        stored.messaging_service_sid.as_ref().map(|s| s.as_str()),
        Some(others_service.sid.as_str())
    );
    assert_eq!(stored.version, saved.version + 1);
    assert_eq!(stored.sender_numbers, Some(vec!["+15005550008".to_owned()]));
    assert_eq!(
        changed.action,
        format!(
            "Changed the Twilio account from {} to {} (Messaging Service SID {})",
            w.account.sid, other.sid, others_service.sid
        )
    );
    let audit = fetch_audit_events(&w.pool, w.organisation.id, 1)
        .await
        .unwrap();
    assert_eq!(audit[0].action, changed.action);
    // Messages sent under the old account keep their history, and the
    // campaign goes on with the new account.
    let kept: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbound_messages WHERE campaign_id = $1 AND twilio_sid IS NOT NULL",
    )
    .bind(campaign)
    .fetch_one(&w.pool)
    .await
    .unwrap();
    assert_eq!(kept, 1);
    assert_eq!(status_and_reason(&w, campaign).await.0, "running");
}

#[tokio::test]
async fn a_new_account_that_does_not_validate_replaces_nothing() {
    let w = world().await;
    let saved = w.configured().await;
    let other = w.simulator.add_account("Full");
    let audit_before = w.audit_count().await;

    let result = w
        .save(
            Change::NewAccount {
                account_sid: sid(&other.sid),
                auth_token: token(&other.auth_token),
                // The old account's service: not on the new account.
                messaging_service_sid: Some(mg(&w.service.sid)),
            },
            saved.version,
        )
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    // All three were typed: the problem sits under its field.
    assert!(
        problems
            .messaging_service_sid
            .unwrap()
            .contains("no Messaging Service")
    );
    assert_eq!(problems.saved_values, None);
    let stored = w.integration().await.unwrap();
    assert_eq!(stored.account_sid.as_str(), w.account.sid);
    assert_eq!(stored.version, saved.version);
    assert_eq!(w.audit_count().await, audit_before);
}

#[tokio::test]
async fn removing_the_messaging_service_sid_pauses_running_campaigns_saying_why() {
    let w = world().await;
    let saved = w.configured().await;
    let campaign = running_campaign(&w).await;

    let removed = w
        .save(Change::MessagingServiceSid(None), saved.version)
        .await
        .unwrap();

    assert_eq!(removed.paused_campaigns, 1);
    assert_eq!(
        status_and_reason(&w, campaign).await,
        (
            "paused".to_owned(),
            Some(PAUSED_WITHOUT_MESSAGING_SERVICE.to_owned())
        )
    );
    assert_eq!(
        removed.action,
        "Removed the Messaging Service SID; 1 running campaign was paused"
    );
}

#[tokio::test]
async fn disconnecting_deletes_the_credentials_pauses_campaigns_and_is_recorded() {
    let w = world().await;
    let saved = w.configured().await;
    let campaign = running_campaign(&w).await;
    let envelope: String =
        sqlx::query_scalar("SELECT auth_token_envelope FROM twilio_integrations")
            .fetch_one(&w.pool)
            .await
            .unwrap();

    let disconnected = disconnect_integration(
        &w.pool,
        w.organisation.id,
        "admin@acme.test",
        saved.version,
        2_000,
    )
    .await
    .unwrap();

    assert!(w.integration().await.is_none());
    assert_eq!(disconnected.paused_campaigns, 1);
    assert_eq!(
        status_and_reason(&w, campaign).await,
        ("paused".to_owned(), Some(PAUSED_DISCONNECTED.to_owned()))
    );
    let audit = fetch_audit_events(&w.pool, w.organisation.id, 1)
        .await
        .unwrap();
    assert_eq!(audit[0].actor, "admin@acme.test");
    assert!(audit[0].action.starts_with(&format!(
        "Disconnected Twilio (Account SID {})",
        w.account.sid
    )));
    // On SQLite, the ciphertext is gone from the file too, not just from
    // the table.
    let Some(db_path) = &w.db_path else {
        return;
    };
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&w.pool)
        .await
        .unwrap();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db_path.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !bytes
                    .windows(envelope.len())
                    .any(|window| window == envelope.as_bytes()),
                "{path} still holds the encrypted Auth Token"
            );
        }
    }
}

#[tokio::test]
async fn a_disconnect_from_a_stale_page_deletes_nothing() {
    let w = world().await;
    let saved = w.configured().await;
    let second = w.simulator.add_service(&w.account.sid, &[]);
    w.save(
        Change::MessagingServiceSid(Some(mg(&second.sid))),
        saved.version,
    )
    .await
    .unwrap();

    let result = disconnect_integration(
        &w.pool,
        w.organisation.id,
        "admin@acme.test",
        saved.version,
        2_000,
    )
    .await;

    assert!(matches!(result, Err(DisconnectError::Stale)));
    assert!(w.integration().await.is_some());
}

#[tokio::test]
async fn the_sending_numbers_are_kept_and_an_empty_sender_pool_is_known() {
    let w = world().await;
    let saved = w.configured().await;
    assert_eq!(saved.sender_numbers, Some(vec!["+15005550006".to_owned()]));
    let empty = w.simulator.add_service(&w.account.sid, &[]);

    let changed = w
        .save(
            Change::MessagingServiceSid(Some(mg(&empty.sid))),
            saved.version,
        )
        .await
        .unwrap();

    assert_eq!(changed.integration.sender_numbers, Some(Vec::new()));
}
