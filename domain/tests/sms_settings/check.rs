use std::time::Duration;

use domain::{
    capability::SmsConfiguration,
    sms_settings::integration::{CheckOutcome, Health, check_integration, configuration},
};

use crate::helpers::world;

#[tokio::test]
async fn a_token_rotated_in_twilio_makes_the_saved_credentials_invalid() {
    let w = world().await;
    w.configured().await;
    w.simulator.rotate_token(&w.account.sid);

    let outcome = check_integration(&w.services, w.organisation.id, 2_000)
        .await
        .unwrap();

    assert!(matches!(outcome, CheckOutcome::Invalid { ref reason } if reason.contains("rotated")));
    let stored = w.integration().await.unwrap();
    assert!(matches!(stored.health, Health::Invalid { .. }));
    assert_eq!(stored.checked_at, 2_000);
    assert_eq!(
        configuration(Some(&stored)),
        SmsConfiguration::InvalidCredentials
    );
}

#[tokio::test]
async fn a_suspended_account_makes_the_saved_credentials_invalid() {
    let w = world().await;
    w.configured().await;
    w.simulator.set_account_status(&w.account.sid, "suspended");

    let outcome = check_integration(&w.services, w.organisation.id, 2_000)
        .await
        .unwrap();

    assert!(
        matches!(outcome, CheckOutcome::Invalid { ref reason } if reason.contains("suspended"))
    );
}

#[tokio::test]
async fn a_network_error_does_not_invalidate_saved_credentials() {
    let w = world().await;
    w.configured().await;
    w.simulator.set_latency(Duration::from_secs(3));

    let outcome = check_integration(&w.services, w.organisation.id, 2_000)
        .await
        .unwrap();

    assert!(matches!(outcome, CheckOutcome::Inconclusive { .. }));
    let stored = w.integration().await.unwrap();
    assert_eq!(stored.health, Health::Valid);
    assert_eq!(stored.checked_at, 1_000);
}

#[tokio::test]
async fn valid_credentials_stay_valid_and_record_when_they_were_checked() {
    let w = world().await;
    w.configured().await;

    let outcome = check_integration(&w.services, w.organisation.id, 5_000)
        .await
        .unwrap();

    assert_eq!(outcome, CheckOutcome::Valid);
    assert_eq!(w.integration().await.unwrap().checked_at, 5_000);
}
