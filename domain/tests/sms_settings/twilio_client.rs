use std::time::Duration;

use domain::twilio::{AccountStatus, AccountType, TwilioClient, TwilioError};

use crate::helpers::{mg, sid, token, world};

#[tokio::test]
async fn the_sender_pool_is_read_across_pages() {
    let w = world().await;
    let numbers: Vec<String> = (0..120).map(|i| format!("+1500555{i:04}")).collect();
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let service = w.simulator.add_service(&w.account.sid, &refs);

    let listed = w
        .twilio
        .list_phone_numbers(
            &sid(&w.account.sid),
            &token(&w.account.auth_token),
            &mg(&service.sid),
            10,
        )
        .await
        .unwrap();

    assert_eq!(listed, numbers);
    let pages = w
        .simulator
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/PhoneNumbers"))
        .count();
    assert_eq!(pages, 3, "50 per page");
}

#[tokio::test]
async fn the_account_fetch_reads_status_and_type_but_never_keeps_the_token_it_returns() {
    let w = world().await;
    let trial = w.simulator.add_account("Trial");

    let account = w
        .twilio
        .fetch_account(&sid(&trial.sid), &token(&trial.auth_token))
        .await
        .unwrap();

    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.kind, AccountType::Trial);
    assert!(!format!("{account:?}").contains(&trial.auth_token));
}

#[tokio::test]
async fn a_429_from_twilio_is_reported_as_rate_limiting() {
    let w = world().await;
    w.simulator.rate_limit_next(1);

    let result = w
        .twilio
        .fetch_account(&sid(&w.account.sid), &token(&w.account.auth_token))
        .await;

    assert_eq!(result, Err(TwilioError::RateLimited));
}

#[tokio::test]
async fn a_timeout_is_reported_as_unreachable() {
    let w = world().await;
    w.simulator.set_latency(Duration::from_millis(500));
    let impatient =
        TwilioClient::new(&w.twilio_url, &w.twilio_url, Duration::from_millis(100)).unwrap();

    let result = impatient
        .fetch_account(&sid(&w.account.sid), &token(&w.account.auth_token))
        .await;

    assert_eq!(
        result,
        Err(TwilioError::Unreachable("the request timed out".into()))
    );
}
