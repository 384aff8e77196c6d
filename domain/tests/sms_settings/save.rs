use std::time::Duration;

use domain::{
    capability::SmsConfiguration,
    sms_settings::integration::{Change, Health, SaveError, configuration, fetch_audit_events},
};

use crate::helpers::{mg, sid, token, world};

#[tokio::test]
async fn valid_credentials_are_saved_valid_and_audited() {
    let w = world().await;

    let saved = w.configured().await;

    assert_eq!(saved.account_sid.as_str(), w.account.sid);
    assert_eq!(
        saved.messaging_service_sid.as_ref().map(|s| s.as_str()),
        Some(w.service.sid.as_str())
    );
    assert_eq!(saved.health, Health::Valid);
    assert_eq!(saved.version, 1);
    assert_eq!(
        configuration(Some(&saved)),
        SmsConfiguration::ValidWithMessagingService
    );
    let audit = fetch_audit_events(&w.pool, w.organisation.id, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "admin@acme.test");
    assert!(!audit[0].action.contains(&w.account.auth_token));
}

#[tokio::test]
async fn without_a_messaging_service_sid_the_credentials_save_but_cannot_run() {
    let w = world().await;

    let saved = w
        .save(w.everything(&w.account.auth_token.clone(), None), 0)
        .await
        .unwrap();

    assert_eq!(saved.integration.messaging_service_sid, None);
    assert_eq!(
        configuration(Some(&saved.integration)),
        SmsConfiguration::ValidWithoutMessagingService
    );
}

#[tokio::test]
async fn a_trial_account_saves_with_a_warning() {
    let w = world().await;
    let trial = w.simulator.add_account("Trial");
    let change = Change::Everything {
        account_sid: sid(&trial.sid),
        auth_token: token(&trial.auth_token),
        messaging_service_sid: None,
    };

    let saved = w.save(change, 0).await.unwrap();

    assert!(saved.trial);
    assert!(saved.integration.is_trial());
}

#[tokio::test]
async fn a_wrong_or_rotated_token_is_refused_at_the_auth_token_field_and_nothing_is_saved() {
    let w = world().await;
    let old_token = w.account.auth_token.clone();
    w.simulator.rotate_token(&w.account.sid);

    let result = w
        .save(w.everything(&old_token, Some(&w.service.sid)), 0)
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert!(
        problems
            .auth_token
            .unwrap()
            .contains("incorrect or has been rotated")
    );
    assert!(w.integration().await.is_none());
    assert_eq!(w.audit_count().await, 0);
}

#[tokio::test]
async fn an_account_sid_from_another_account_is_refused_and_nothing_is_saved() {
    let w = world().await;
    let other = w.simulator.add_account("Full");
    let change = Change::Everything {
        account_sid: sid(&other.sid),
        auth_token: token(&w.account.auth_token),
        messaging_service_sid: None,
    };

    let result = w.save(change, 0).await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert!(
        problems
            .account_sid
            .unwrap()
            .contains("same Twilio account")
    );
    assert!(w.integration().await.is_none());
}

#[tokio::test]
async fn a_messaging_service_that_does_not_exist_or_is_another_accounts_is_refused() {
    let w = world().await;
    let other = w.simulator.add_account("Full");
    let others_service = w.simulator.add_service(&other.sid, &[]);
    let token_value = w.account.auth_token.clone();

    for service in [
        "MG00000000000000000000000000000000",
        others_service.sid.as_str(),
    ] {
        let result = w.save(w.everything(&token_value, Some(service)), 0).await;

        let Err(SaveError::Rejected(problems)) = result else {
            panic!("expected a rejection")
        };
        let message = problems.messaging_service_sid.unwrap();
        assert!(
            message.contains("no Messaging Service") && message.contains(service),
            "{message}"
        );
        assert_eq!(problems.auth_token, None);
    }
    assert!(w.integration().await.is_none());
}

#[tokio::test]
async fn a_messaging_service_the_account_may_not_use_is_refused() {
    let w = world().await;
    let shared = w
        .simulator
        .add_service(&w.simulator.add_account("Full").sid, &[]);
    w.simulator.forbid_service(&shared.sid, &w.account.sid);

    let result = w
        .save(
            w.everything(&w.account.auth_token.clone(), Some(&shared.sid)),
            0,
        )
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert!(
        problems
            .messaging_service_sid
            .unwrap()
            .contains("does not have permission")
    );
    assert!(w.integration().await.is_none());
}

#[tokio::test]
async fn a_suspended_or_closed_account_is_refused() {
    let w = world().await;
    for status in ["suspended", "closed"] {
        w.simulator.set_account_status(&w.account.sid, status);

        let result = w
            .save(w.everything(&w.account.auth_token.clone(), None), 0)
            .await;

        let Err(SaveError::Rejected(problems)) = result else {
            panic!("expected a rejection")
        };
        assert!(problems.account_sid.unwrap().contains(status), "{status}");
    }
    assert!(w.integration().await.is_none());
}

#[tokio::test]
async fn twilio_timing_out_saves_nothing_and_says_to_try_again() {
    let w = world().await;
    w.simulator.set_latency(Duration::from_secs(3));

    let result = w
        .save(w.everything(&w.account.auth_token.clone(), None), 0)
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    let message = problems.form.unwrap();
    assert!(
        message.contains("could not be reached") && message.contains("timed out"),
        "{message}"
    );
    assert!(w.integration().await.is_none());
}

#[tokio::test]
async fn twilio_being_unreachable_saves_nothing() {
    let mut w = world().await;
    w.services.twilio = domain::twilio::TwilioClient::new(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        Duration::from_secs(2),
    )
    .unwrap();

    let result = w
        .save(w.everything(&w.account.auth_token.clone(), None), 0)
        .await;

    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert!(problems.form.unwrap().contains("could not be reached"));
    assert!(w.integration().await.is_none());
}

#[tokio::test]
async fn the_account_and_service_are_checked_concurrently() {
    let w = world().await;
    // Long enough that sequential calls could never overlap.
    w.simulator.set_latency(Duration::from_millis(300));

    w.configured().await;

    // The account, the service and its phone numbers were asked for at
    // once: saving takes as long as the slowest call.
    assert_eq!(w.simulator.max_in_flight(), 3);
    assert_eq!(w.simulator.requests().len(), 3);
}

#[tokio::test]
async fn a_save_from_a_stale_form_is_refused_and_overwrites_nothing() {
    let w = world().await;
    let first = w.configured().await;
    let second_service = w.simulator.add_service(&w.account.sid, &[]);
    // Two admins opened the form at version 1; the first saves.
    w.save(
        Change::MessagingServiceSid(Some(mg(&second_service.sid))),
        first.version,
    )
    .await
    .unwrap();

    let late = w
        .save(Change::MessagingServiceSid(None), first.version)
        .await;

    assert!(matches!(late, Err(SaveError::Stale)));
    let stored = w.integration().await.unwrap();
    assert_eq!(
        stored.messaging_service_sid.as_ref().map(|s| s.as_str()),
        Some(second_service.sid.as_str())
    );
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn two_admins_saving_at_the_same_moment_do_not_both_win() {
    let w = world().await;
    let first = w.configured().await;
    let a = w.simulator.add_service(&w.account.sid, &[]);
    let b = w.simulator.add_service(&w.account.sid, &[]);

    let (ra, rb) = tokio::join!(
        w.save(Change::MessagingServiceSid(Some(mg(&a.sid))), first.version),
        w.save(Change::MessagingServiceSid(Some(mg(&b.sid))), first.version),
    );

    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(), 1);
    assert!(
        [&ra, &rb]
            .iter()
            .any(|r| matches!(r, Err(SaveError::Stale)))
    );
    assert_eq!(w.integration().await.unwrap().version, 2);
}

#[tokio::test]
async fn a_new_auth_token_is_validated_with_the_saved_messaging_service_before_it_applies() {
    let w = world().await;
    let saved = w.configured().await;
    // The service is now somebody else's: the combination no longer validates.
    let other = w.simulator.add_account("Full");
    w.simulator.insert_service(twilio_simulator::SimService {
        account_sid: other.sid.clone(),
        ..w.service.clone()
    });
    let new_token = w.simulator.rotate_token(&w.account.sid);

    let result = w
        .save(
            Change::AccountSidAndAuthToken {
                account_sid: sid(&w.account.sid),
                auth_token: token(&new_token),
            },
            saved.version,
        )
        .await;

    // The Messaging Service SID is not on the form being saved: the reason
    // names the saved value and the way out instead of a field nobody sees.
    let Err(SaveError::Rejected(problems)) = result else {
        panic!("expected a rejection")
    };
    assert_eq!(problems.messaging_service_sid, None);
    let explained = problems.saved_values.unwrap();
    assert!(
        explained.contains(&format!("saved Messaging Service SID {}", w.service.sid)),
        "{explained}"
    );
    assert!(explained.contains("Change Twilio account"), "{explained}");
    assert_eq!(w.integration().await.unwrap().version, saved.version);
}

#[tokio::test]
async fn editing_a_section_before_anything_is_configured_is_refused() {
    let w = world().await;

    let result = w
        .save(Change::MessagingServiceSid(Some(mg(&w.service.sid))), 0)
        .await;

    assert!(matches!(result, Err(SaveError::NotConfigured)));
}

#[tokio::test]
async fn the_auth_token_never_reaches_the_database_file_in_plaintext() {
    let w = world().await;
    let token_value = w.account.auth_token.clone();
    w.configured().await;
    let new_token = w.simulator.rotate_token(&w.account.sid);
    let version = w.integration().await.unwrap().version;
    w.save(
        Change::AccountSidAndAuthToken {
            account_sid: sid(&w.account.sid),
            auth_token: token(&new_token),
        },
        version,
    )
    .await
    .unwrap();

    // Every file of a SQLite database (PostgreSQL's are the server's).
    let files = w.db_path.iter().flat_map(|db_path| {
        ["", "-wal", "-shm"].map(|suffix| format!("{}{suffix}", db_path.display()))
    });
    for path in files {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for secret in [&token_value, &new_token] {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{path} contains a token"
            );
        }
    }
}
